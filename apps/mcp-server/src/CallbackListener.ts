/**
 * The loopback HTTP listener that receives authorization redirects at
 * each provider's callback path (`Settings.callbackPath`): a scoped resource, held
 * while logins wait for it and closed with its scope. Each request runs an
 * Effect handler in a fiber the listener owns, and gets the page it returns.
 * It listens on 127.0.0.1 and, on the same port, on ::1, where a browser
 * may send a redirect to `localhost`; a request is taken as addressed to
 * the loopback name its `Host` gives, and one naming any other host (a
 * page whose name was rebound to loopback by DNS) is refused.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { Provider, Settings } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Pages from "./CallbackPages.js"
import type { ConnectionLimits } from "./HttpConnections.js"

export interface Callback {
  readonly provider: string
  /** The whole URL the browser was sent to. */
  readonly url: URL
}

export type Handler = (callback: Callback) => Effect.Effect<Pages.Page>

export interface Listener {
  /** The port it holds on 127.0.0.1: the one asked for, or a free one. */
  readonly port: number
  /**
   * Whether `localhost` on that port reaches this listener only: it holds
   * ::1 there too, or this machine has no IPv6 loopback. Browsers may try
   * ::1 first (Chromium does), so a redirect URI on localhost is received
   * here only then; otherwise another program receives it.
   */
  readonly localhost: boolean
}

/**
 * How many connections the listener holds on each of its two addresses. A
 * browser opens one or two for a callback, and a page is served on a
 * connection that then closes; without a bound, a local program could hold
 * every file descriptor of the process, which its calls to the providers
 * and its token store need too.
 */
export const maxConnections = 64

/**
 * The `--http` transport's bounds (`HttpConnections`), tighter: past
 * `maxConnections` the connection idle the longest makes room, so a flood
 * of half-sent requests cannot keep the browser's callback out. A browser
 * sends a callback's head at once and reads its page at once, and never
 * pipelines on a connection the page closes.
 */
const limits: ConnectionLimits = {
  max: maxConnections,
  headersMillis: 10_000,
  requestMillis: 10_000,
  writeMillis: 10_000,
  checkMillis: 1_000,
  drainMillis: 500,
  maxInFlight: 2,
}

/** How long a closing listener lets a page in flight finish before it cuts the connection. */
const closeGrace = "2 seconds"

/**
 * Pages must not be cached, framed or leak their URL (which carries the
 * code) through `Referer`; they load nothing.
 */
const pageHeaders = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  // One request per connection: nothing lingers once the login is done.
  connection: "close",
}

/** The provider whose callback path (`Settings.callbackPath`) the request asks for, with or without a final slash. */
const providerAt = (pathname: string): Provider.ProviderId | undefined =>
  Provider.providerIds.find((id) => {
    const path = Settings.callbackPath(id)
    return pathname === path || pathname === `${path}/`
  })

/** The names a loopback redirect URI may give its host (RFC 8252 §7.3, §8.3). */
const loopbackNames = new Set(["127.0.0.1", "localhost", "[::1]"])

/**
 * The origin a request was sent to: its `Host`, when that is a loopback
 * name with the port it came in on; none for any other (DNS rebinding).
 * The name is compared as it was written: URL parsing would also make
 * `127.1` or `2130706433` into 127.0.0.1, names no redirect URI gives.
 */
const originOf = (host: string | undefined, port: number): string | undefined => {
  if (host === undefined || !URL.canParse(`http://${host}`)) return undefined
  const url = new URL(`http://${host}`)
  const named = url.port === "" ? 80 : Number(url.port)
  const written = host.toLowerCase().replace(/:\d*$/, "")
  const bare =
    url.username === "" && url.password === "" && url.pathname === "/" && url.search === "" && url.hash === ""
  return bare && loopbackNames.has(written) && loopbackNames.has(url.hostname) && named === port
    ? url.origin
    : undefined
}

/** Errors of listening on ::1 that mean this machine has none: then no other program can hold it either. */
const noIpv6 = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT"])

const send = (res: ServerResponse, page: Pages.Page) =>
  Effect.sync(() => {
    if (!res.headersSent) res.writeHead(page.status, pageHeaders).end(Pages.render(page))
  })

const bind = (server: Server, port: number, host = "127.0.0.1"): Effect.Effect<number, NodeJS.ErrnoException> =>
  Effect.async<number, NodeJS.ErrnoException>((resume) => {
    const onError = (error: NodeJS.ErrnoException) => resume(Effect.fail(error))
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      const address = server.address()
      resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : port))
    })
  })

const close = (server: Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    server.closeIdleConnections()
  }).pipe(
    Effect.timeoutTo({ duration: closeGrace, onSuccess: () => Effect.void, onTimeout: () => Effect.void }),
    Effect.flatten,
    Effect.ensuring(Effect.sync(() => server.closeAllConnections())),
  )

/**
 * Listens on `port`, or, when that port is taken and `fallback` is set, on
 * a free loopback port (RFC 8252 §7.3: the server accepts any port for a
 * loopback redirect URI). Fails when it cannot listen where it may.
 */
export const listen = (
  port: number,
  handler: Handler,
  options: { readonly fallback: boolean },
): Effect.Effect<Listener, NodeJS.ErrnoException, Scope.Scope> =>
  Effect.gen(function* () {
    // Made first, so closed last: the server's close lets pages in flight finish first.
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const respond = (req: IncomingMessage, res: ServerResponse) => {
      // Several Host lines are 400 (RFC 9112 §3.2): Node keeps the first, which may not be the one meant.
      if ((req.headersDistinct.host?.length ?? 0) > 1) return send(res, Pages.badRequest)
      // The address the browser landed on, port included: the login checks it is its redirect URI.
      const base = originOf(req.headers.host, req.socket.localPort ?? 0)
      if (base === undefined) return send(res, Pages.misdirected)
      // A raw client can send any request target; one that is no URL must not throw out of the server.
      if (!URL.canParse(req.url ?? "/", base)) return send(res, Pages.badRequest)
      const url = new URL(req.url ?? "/", base)
      const provider = providerAt(url.pathname)
      if (req.method !== "GET" || provider === undefined) return send(res, Pages.notFound)
      return handler({ provider, url }).pipe(
        Effect.flatMap((page) => send(res, page)),
        Effect.catchAllCause(() => send(res, Pages.internalError)),
      )
    }
    // Loaded with the first login that waits for a redirect: most runs never listen.
    const { createServer } = yield* Effect.promise(() => import("./HttpConnections.js"))
    const serve = () =>
      createServer(limits, (req, res) => {
        run(respond(req, res))
      })
    const server = serve()
    const bound = yield* Effect.acquireRelease(
      bind(server, port).pipe(
        Effect.catchAll((error) => (options.fallback && port !== 0 ? bind(server, 0) : Effect.fail(error))),
      ),
      () => close(server),
    )
    const six = serve()
    const onSix = yield* Effect.acquireRelease(Effect.either(bind(six, bound, "::1")), (held) =>
      Either.isRight(held) ? close(six) : Effect.void,
    )
    return { port: bound, localhost: Either.isRight(onSix) || noIpv6.has(onSix.left.code ?? "") }
  })
