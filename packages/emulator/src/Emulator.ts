/**
 * Starting and stopping the emulator: one loopback listener per provider
 * origin, the routes of every provider, a fault switchboard and a log of
 * what clients sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import { Faults } from "./Faults.js"
import { type EmulatorRequest, type EmulatorResponse, json, oauthError, type Route, resolveRoute } from "./Http.js"
import { environment, type OriginName, type Origins, originNames } from "./Origins.js"
import { type HyperControl, type HyperOptions, hyper } from "./providers/hyper.js"
import { type HyperIdControl, type HyperIdOptions, hyperid } from "./providers/hyperid.js"
import { type HyperlineControl, type HyperlineOptions, hyperline } from "./providers/hyperline.js"
import { type HyperproofControl, type HyperproofOptions, hyperproof } from "./providers/hyperproof.js"
import { RequestLog } from "./RequestLog.js"
import { Clock, Tokens } from "./State.js"

/**
 * How to start the emulator: its first port, and each provider's options.
 *
 * @example
 * ```ts
 * import { type StartOptions, start } from "@hyperauth/emulator"
 *
 * const options: StartOptions = { hyper: { interval: 0.05 }, hyperid: { rotateRefreshTokens: true } }
 * const emulator = await start(options)
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  /**
   * First port: origins listen on `port`, `port + 1`, ... in the order of
   * `originNames`. 0 (the default) lets the system pick free ports.
   */
  readonly port?: number | undefined
  readonly hyper?: HyperOptions | undefined
  readonly hyperid?: HyperIdOptions | undefined
  readonly hyperline?: HyperlineOptions | undefined
  readonly hyperproof?: HyperproofOptions | undefined
}

/**
 * A request the emulator received, as `Emulator.requests` lists it.
 *
 * @example
 * ```ts
 * import { type LoggedRequest, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * // ... a device login polls ...
 * const slowDowns = emulator.requests.filter((request: LoggedRequest) => request.error === "slow_down").length
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRequest {
  readonly origin: OriginName
  readonly method: string
  readonly path: string
  /** The status answered; absent while in flight, or when the connection was dropped. */
  readonly status?: number | undefined
  /** The answer's OAuth `error` (RFC 6749 §5.2), e.g. "slow_down". */
  readonly error?: string | undefined
}

const oauthErrorOf = (body: EmulatorResponse["body"]): string | undefined =>
  typeof body === "object" && "error" in body && typeof body.error === "string" ? body.error : undefined

/**
 * A running emulator: its origins, the environment that points hyperauth at
 * it, its fault switchboard and clock, the tokens it issued, and a control
 * per provider to act in the user's place.
 *
 * @example
 * ```ts
 * import { type Emulator, start } from "@hyperauth/emulator"
 *
 * const emulator: Emulator = await start()
 * emulator.count({ origin: "hyper", path: "/oauth/token" }) // 0: no client has asked yet
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Emulator {
  readonly origins: Origins
  /**
   * Everything hyperauth needs to use this emulator: `HYPER_BASE_URL` and
   * friends, and the credentials of the clients registered with it.
   */
  readonly env: Readonly<Record<string, string>>
  readonly faults: Faults
  /** The emulator's time; `advance` it to expire codes and tokens. */
  readonly clock: Clock
  /** Every token issued; `expire` or `revoke` them. */
  readonly tokens: Tokens
  /** Approve or deny hyper device logins in the user's place. */
  readonly hyper: HyperControl
  /** Act as the user on hyperid's authorization page. */
  readonly hyperid: HyperIdControl
  /** Act as the user on hyperline's authorization page; its companies. */
  readonly hyperline: HyperlineControl
  /** Serve more hyperproof controls. */
  readonly hyperproof: HyperproofControl
  /**
   * The latest requests received, oldest first: the last 1 000 at least,
   * older ones dropped a batch at a time. `count` counts them all.
   */
  readonly requests: ReadonlyArray<LoggedRequest>
  /**
   * How many requests, of all received, matched. Exact for any filter on a
   * route's own path or on no path; a client may send ever new paths, so of
   * other paths only the first 1 000 kinds of request are counted by path.
   */
  readonly count: (filter: Partial<LoggedRequest>) => number
  readonly close: () => Promise<void>
}

/** What each running emulator holds, by store; kept off the public handle. */
const retainedBy = new WeakMap<Emulator, () => Readonly<Record<string, number>>>()

/**
 * How many entries each of the emulator's stores holds (tokens, codes,
 * logs): internal, for tests that check memory stays bounded under long use.
 */
export const retained = (emulator: Emulator): Readonly<Record<string, number>> => retainedBy.get(emulator)?.() ?? {}

const healthRoutes: ReadonlyArray<Route> = originNames.map((origin) => ({
  origin,
  method: "GET",
  path: "/health",
  handler: () => json(200, { ok: true, origin }),
}))

/**
 * The largest request body the emulator reads, as a provider's front end
 * limits them: past it the answer is 413 and the rest is not kept.
 *
 * @example
 * ```ts
 * import { maxBodyBytes } from "@hyperauth/emulator"
 *
 * maxBodyBytes // 1048576
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const maxBodyBytes = 1024 * 1024

/** The body as text, or undefined once it is larger than `maxBodyBytes` (the rest is left to Node to discard). */
const readBody = (message: IncomingMessage): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    if (Number(message.headers["content-length"] ?? 0) > maxBodyBytes) return resolve(undefined)
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBodyBytes) return chunks.push(chunk)
      message.off("data", onData)
      resolve(undefined)
    }
    message.on("data", onData)
    message.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    message.on("error", reject)
  })

/** Waits `ms`, or less if the client hangs up first, so no timer outlives its request. */
const delay = (ms: number, req: IncomingMessage): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      req.socket.off("close", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    req.socket.once("close", done)
  })

const send = (res: ServerResponse, response: EmulatorResponse, gzip = false): void => {
  const isText = typeof response.body === "string" || response.body instanceof Uint8Array
  const body =
    response.body === undefined
      ? ""
      : typeof response.body === "string" || response.body instanceof Uint8Array
        ? response.body
        : JSON.stringify(response.body)
  const headers: Record<string, string> = {
    // RFC 6749 §5.1 asks for both; HTTP/1.0 caches know only Pragma.
    "cache-control": "no-store",
    pragma: "no-cache",
    ...(response.body !== undefined && !isText ? { "content-type": "application/json" } : {}),
    ...(gzip ? { "content-encoding": "gzip" } : {}),
    ...response.headers,
  }
  res.writeHead(response.status, headers).end(gzip ? gzipSync(body) : body)
}

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

/**
 * Starts the emulator on loopback: one listener per origin, on free ports
 * unless `port` says where. `close` stops it.
 *
 * @example
 * ```ts
 * import { start } from "@hyperauth/emulator"
 *
 * const emulator = await start({ hyper: { interval: 1 } })
 * // Point hyperauth at it: HYPER_BASE_URL, HYPER_CLIENT_ID, HYPERID_CLIENT_SECRET, ...
 * Object.assign(process.env, emulator.env)
 * // ... log in, then approve in the user's place: emulator.hyper.approve(userCode)
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: StartOptions = {}): Promise<Emulator> => {
  const faults = new Faults()
  const clock = new Clock()
  const tokens = new Tokens(clock)
  const hyperProvider = hyper(clock, tokens, options.hyper)
  const hyperidProvider = hyperid(clock, tokens, options.hyperid)
  const hyperlineProvider = hyperline(clock, tokens, options.hyperline)
  const hyperproofProvider = hyperproof(tokens, options.hyperproof)
  const routes: ReadonlyArray<Route> = [
    ...healthRoutes,
    ...hyperProvider.routes,
    ...hyperidProvider.routes,
    ...hyperlineProvider.routes,
    ...hyperproofProvider.routes,
  ]
  const log = new RequestLog(routes.map((route) => route.path).filter((path) => !/[:*]/.test(path)))

  const handle = async (origin: OriginName, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const method = (req.method ?? "GET").toUpperCase()
    const body = await readBody(req)
    const answered = log.arrived(origin, method, url.pathname)
    const answer = (response: EmulatorResponse, gzip = false) => {
      answered(response.status, oauthErrorOf(response.body))
      send(res, response, gzip)
    }
    if (body === undefined) {
      // Node reads the rest and drops it, then closes the connection.
      res.shouldKeepAlive = false
      answer(oauthError(413, "invalid_request", `The request body is larger than ${maxBodyBytes} bytes`))
      return
    }

    const fault = faults.take(origin, method, url.pathname)
    if (fault?.latencyMs !== undefined) await delay(fault.latencyMs, req)
    if (req.socket.destroyed) return
    if (fault?.reset === true) {
      req.socket.resetAndDestroy()
      return
    }
    if (fault?.drop === true) {
      req.socket.destroy()
      return
    }
    if (fault?.malformed === true) {
      answer({ status: 200, headers: { "content-type": "application/json" }, body: '{"access_token": "trunc' })
      return
    }
    if (fault?.status !== undefined) {
      answer({ status: fault.status, headers: fault.headers, body: fault.body }, fault.gzip === true)
      return
    }

    const found = resolveRoute(routes, origin, method, url.pathname)
    if (found === undefined) {
      answer(json(404, { message: `No route for ${method} ${url.pathname}` }))
      return
    }
    if ("allow" in found) {
      answer(json(405, { message: `${url.pathname} takes ${found.allow}, not ${method}` }, { allow: found.allow }))
      return
    }
    const request: EmulatorRequest = {
      origin,
      method,
      path: url.pathname,
      params: found.params,
      query: url.searchParams,
      headers: req.headers,
      contentType: (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "",
      body,
    }
    const response = await found.handler(request)
    if (fault?.answerLatencyMs !== undefined) {
      await delay(fault.answerLatencyMs, req)
      if (req.socket.destroyed) return
    }
    answer(response)
  }

  const servers = originNames.map((origin) =>
    createServer((req, res) => {
      handle(origin, req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, json(500, { message: String(error) }))
      })
    }),
  )
  const base = options.port ?? 0
  const ports = await Promise.all(servers.map((server, i) => listen(server, base === 0 ? 0 : base + i)))
  const origins = Object.fromEntries(originNames.map((name, i) => [name, `http://127.0.0.1:${ports[i]}`])) as Origins

  const emulator: Emulator = {
    origins,
    env: {
      ...environment(origins),
      ...hyperProvider.env,
      ...hyperidProvider.env,
      ...hyperlineProvider.env,
      ...hyperproofProvider.env,
    },
    faults,
    clock,
    tokens,
    hyper: hyperProvider.control,
    hyperid: hyperidProvider.control,
    hyperline: hyperlineProvider.control,
    hyperproof: hyperproofProvider.control,
    requests: log.requests,
    count: (filter) => log.count(filter),
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve())
              server.closeAllConnections()
            }),
        ),
      )
    },
  }
  retainedBy.set(emulator, () => ({
    requests: log.requests.length,
    requestCounts: log.kinds,
    tokens: tokens.size,
    refreshLog: tokens.refreshLog.length,
    ...hyperProvider.retained?.(),
    ...hyperidProvider.retained?.(),
    ...hyperlineProvider.retained?.(),
    ...hyperproofProvider.retained?.(),
  }))
  return emulator
}
