/**
 * Streamable HTTP on 127.0.0.1, endpoint `/mcp`: Host and Origin must be
 * loopback (DNS-rebinding protection), and with `HYPERAUTH_HTTP_TOKEN` set
 * every request must carry it as a Bearer token.
 *
 * The SDK's transport serves each request of a session and ends its
 * session on DELETE; a POST's body is read here first (capped, 413 past the
 * cap; JSON-RPC -32700 for a body that is not JSON), so that a batch where
 * the session has none, or a request reusing the id of one in flight, is
 * refused before the transport sees it. This module routes requests to
 * sessions: an unknown or ended `Mcp-Session-Id` is 404, so the client
 * starts a new session (MCP Streamable HTTP, "Session Management"), idle
 * sessions are reclaimed and their number is capped (at the cap, a new
 * session takes the place of the one quiet the longest: `HttpSessions`).
 * A request that would start a session is read before it takes a
 * session's place. `HttpConnections` bounds the connections.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto"
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { requestBodyTooLargeMessage } from "@modelcontextprotocol/sdk/server/requestBody.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isJsonContentType } from "@modelcontextprotocol/sdk/shared/mediaType.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { CancelledNotificationSchema, ErrorCode, type RequestId } from "@modelcontextprotocol/sdk/types.js"
import * as HttpConnections from "./HttpConnections.js"
import * as HttpSessions from "./HttpSessions.js"
import { batchRefusal, hasBatches } from "./lifecycle.js"
import * as RequestBody from "./RequestBody.js"
import type { Runtime } from "./runtime.js"
import { connect, createServer } from "./server.js"

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"])

/**
 * The authority a request names (RFC 9112, 3.2): an absolute-form target's
 * own, which comes before the Host line, else the one Host line; `null`
 * when there are several Host lines, which the RFC answers 400 (Node keeps
 * the first, so `Host: 127.0.0.1` then `Host: evil.example` passed as
 * loopback to a check of the first alone).
 */
const authorityOf = (req: IncomingMessage): string | undefined | null => {
  if ((req.headersDistinct.host?.length ?? 0) > 1) return null
  const target = req.url ?? "/"
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && URL.canParse(target)) return new URL(target).host
  return req.headers.host
}

const hostOk = (host: string | undefined, port: number): boolean => {
  if (host === undefined) return false
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host)
  // Host names are case-insensitive (RFC 3986 §3.2.2).
  return (
    match !== null &&
    loopbackHosts.has((match[1] ?? "").toLowerCase()) &&
    (match[2] === undefined || Number(match[2]) === port)
  )
}

/**
 * A page on a loopback host: an `http:` or `https:` origin, in the form a
 * browser sends it (scheme, host, port; nothing else). The host alone is
 * not enough: `chrome-extension://localhost` or `file://localhost` is no
 * local page, and `null` (sandboxed iframes, `file:` pages) is no URL.
 */
const originOk = (origin: string | undefined): boolean => {
  if (origin === undefined) return true // not a browser
  if (!URL.canParse(origin)) return false
  const url = new URL(origin)
  return (
    (url.protocol === "http:" || url.protocol === "https:") && url.origin === origin && loopbackHosts.has(url.hostname)
  )
}

const sameToken = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

/** The most a request body may hold; past it the answer is 413. */
export const maxRequestBytes = 4 * 1024 * 1024

/**
 * The request's body, read whole (at most `maxRequestBytes`) and parsed as
 * JSON, in the SDK's words when it is not: 413 past the limit, 400 (-32700)
 * when it is no JSON, answered here, and then none.
 */
const jsonBody = async (
  req: IncomingMessage,
  res: ServerResponse,
): Promise<{ readonly message: unknown } | undefined> => {
  const body = await RequestBody.read(req, maxRequestBytes)
  if (body === undefined) {
    answer(res, 413, -32000, requestBodyTooLargeMessage(maxRequestBytes))
    return undefined
  }
  try {
    return { message: JSON.parse(body.toString("utf8")) }
  } catch {
    answer(res, 400, -32700, "Parse error: Invalid JSON")
    return undefined
  }
}

/**
 * A refusal. One given before the request's body has all arrived leaves the
 * connection only as long as `HttpConnections` drains it: not closed at once,
 * so that a client still sending (a 413 comes in the middle of a body) reads
 * the answer rather than a reset.
 */
const answer = (res: ServerResponse, status: number, code: number, message: string): void => {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }))
}

/**
 * A request the client cancels gets no answer (MCP, "Cancellation"), and
 * the SDK's transport ends a POST's SSE stream only once every request of
 * it is answered: the stream of a cancelled request stayed open until the
 * session ended, holding the client's connection and keeping the session
 * busy, never idle. Each request is kept with the POST that brought it
 * (the SDK hands every message of one POST the same `requestInfo`), and a
 * POST with a cancelled request has its stream ended once none of its
 * requests is still open: at the cancel, or after the others' answers (a
 * 2025-03-26 batch).
 */
const endingCancelledStreams = (transport: StreamableHTTPServerTransport): StreamableHTTPServerTransport => {
  /** Every request not answered yet, with the POST that brought it. */
  const open = new Map<RequestId, object>()
  /** A cancelled request of each POST whose stream is still to be ended. */
  const cancelled = new Map<object, RequestId>()
  const settle = (post: object) => {
    const request = cancelled.get(post)
    if (request === undefined) return
    for (const other of open.values()) if (other === post) return
    cancelled.delete(post)
    transport.closeSSEStream(request)
  }
  const send = transport.send.bind(transport)
  transport.send = async (message, options) => {
    try {
      await send(message, options)
    } finally {
      // Also when the client's connection is gone (the SDK throws): the request is over either way.
      if (("result" in message || "error" in message) && message.id !== undefined) {
        const post = open.get(message.id)
        if (post !== undefined) {
          open.delete(message.id)
          settle(post)
        }
      }
    }
  }
  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      if ("method" in message && "id" in message) open.set(message.id, extra?.requestInfo ?? message)
      dispatch?.(message, extra)
      if ("method" in message && message.method === "notifications/cancelled") {
        const request = message.params?.requestId
        if (typeof request !== "string" && typeof request !== "number") return
        const post = open.get(request)
        if (post === undefined) return
        open.delete(request)
        cancelled.set(post, request)
        settle(post)
      }
    }
    return start()
  }
  return transport
}

/**
 * A session whose client has still to answer a request of the server's (a
 * URL-mode elicitation) is held by it (`hold`) though no request of the
 * client's may be open: the elicitation goes on the `login` call's stream
 * and outlives it. It was reclaimed as idle, or could lose its place to a
 * new session, with the answer still to come. The hold lasts until the
 * answer comes, the server gives up (the SDK then sends
 * `notifications/cancelled`: after a minute by default), or the request
 * cannot be sent.
 */
const holdingWhileAwaited = (
  transport: StreamableHTTPServerTransport,
  hold: () => () => void,
): StreamableHTTPServerTransport => {
  const awaited = new Map<RequestId, () => void>()
  const settle = (request: unknown) => {
    if (typeof request !== "string" && typeof request !== "number") return
    awaited.get(request)?.()
    awaited.delete(request)
  }
  const send = transport.send.bind(transport)
  transport.send = async (message, options) => {
    const request = "method" in message && "id" in message ? message.id : undefined
    if (request !== undefined && !awaited.has(request)) awaited.set(request, hold())
    if ("method" in message && message.method === "notifications/cancelled") settle(message.params?.requestId)
    try {
      await send(message, options)
    } catch (error) {
      settle(request)
      throw error
    }
  }
  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      if (!("method" in message) && "id" in message) settle(message.id)
      dispatch?.(message, extra)
    }
    return start()
  }
  return transport
}

/**
 * The body of every POST the SDK's transport would read (one it does not
 * refuse first for its Accept or Content-Type) is read here, whole and
 * within the SDK's bound, and handed on parsed, so that the wrappers below
 * see its messages before the transport does; the transport takes it as
 * read.
 */
const readingBodies = (transport: StreamableHTTPServerTransport): StreamableHTTPServerTransport => {
  const handleRequest = transport.handleRequest.bind(transport)
  transport.handleRequest = async (req, res, parsedBody) => {
    // What the SDK's transport answers before it reads the body (406, 415) is left to it, decided alike.
    const accept = req.headers.accept ?? ""
    const read =
      req.method === "POST" &&
      accept.includes("application/json") &&
      accept.includes("text/event-stream") &&
      isJsonContentType(req.headers["content-type"])
    if (!read || parsedBody !== undefined) return handleRequest(req, res, parsedBody)
    const body = await jsonBody(req, res)
    if (body !== undefined) await handleRequest(req, res, body.message)
  }
  return transport
}

/**
 * A POST holding a JSON-RPC batch is 400 (-32600) unless the session
 * negotiated a revision that has batches (`hasBatches`): the SDK's
 * transport serves them whatever was negotiated, and 2025-06-18 removed
 * them ("the body of the POST request MUST be a single JSON-RPC request,
 * notification, or response"). The `initialize` that starts a session
 * comes before any revision is negotiated, so it is refused in one, as
 * 2025-03-26 says too. Under `readingBodies`, which hands the body on.
 */
const refusingBatches = (transport: StreamableHTTPServerTransport): StreamableHTTPServerTransport => {
  let negotiated: string | undefined
  // Set by the lifecycle (lifecycle.ts) when initialize is answered.
  const asTransport: Transport = transport
  asTransport.setProtocolVersion = (version) => {
    negotiated = version
  }
  const handleRequest = transport.handleRequest.bind(transport)
  transport.handleRequest = async (req, res, parsedBody) => {
    if (Array.isArray(parsedBody) && !hasBatches(negotiated))
      return answer(res, 400, ErrorCode.InvalidRequest, batchRefusal(negotiated))
    await handleRequest(req, res, parsedBody)
  }
  return transport
}

/** The ids of the requests in a POST's body (a message or a batch), as the SDK's transport would key them. */
const requestIdsIn = (body: unknown): Array<RequestId> => {
  const ids: Array<RequestId> = []
  for (const message of Array.isArray(body) ? body : [body]) {
    if (typeof message !== "object" || message === null || !("method" in message) || !("id" in message)) continue
    const { id } = message
    if (typeof message.method === "string" && (typeof id === "string" || typeof id === "number")) ids.push(id)
  }
  return ids
}

/**
 * A POST whose request has the id of one of its session not answered yet
 * is 400 (-32600) before the SDK's transport sees it, and a batch repeating
 * an id, or naming one in flight, is refused whole, as over stdio. The
 * transport keys each request's stream by the client's id: a second
 * request under the same id took the first one's stream for its own (the
 * first's answer or cancellation went there), and the first's stream
 * stayed open until the session ended, holding its connection and keeping
 * the session busy. 400 with a JSON-RPC error of no id, as the SDK's
 * transport refuses a request it cannot accept (a second `initialize`, a
 * batch too long): an error under the id would be, to the client, the
 * first request's answer. An id is in flight from when its POST is handed
 * to the transport until its answer is sent or it is cancelled; when the
 * transport refuses the POST before it delivers the request (a bad
 * `Mcp-Protocol-Version`), until that refusal. Under `readingBodies`.
 */
const refusingRepeatedIds = (transport: StreamableHTTPServerTransport): StreamableHTTPServerTransport => {
  /** Each id in flight: the request of the POST that brought it, until the transport delivers it. */
  const inFlight = new Map<RequestId, IncomingMessage | "delivered">()
  const handleRequest = transport.handleRequest.bind(transport)
  transport.handleRequest = async (req, res, parsedBody) => {
    const ids = requestIdsIn(parsedBody)
    if (new Set(ids).size < ids.length || ids.some((id) => inFlight.has(id)))
      return answer(res, 400, ErrorCode.InvalidRequest, "Invalid Request: the id is that of a request not answered yet")
    for (const id of ids) inFlight.set(id, req)
    try {
      await handleRequest(req, res, parsedBody)
    } finally {
      // Still this POST's: the transport refused it, delivering none of its requests.
      for (const id of ids) if (inFlight.get(id) === req) inFlight.delete(id)
    }
  }
  const send = transport.send.bind(transport)
  transport.send = async (message, options) => {
    try {
      await send(message, options)
    } finally {
      // Also when the client's connection is gone (the SDK throws): the request is over either way.
      if (("result" in message || "error" in message) && message.id !== undefined) inFlight.delete(message.id)
    }
  }
  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      if ("method" in message && "id" in message) inFlight.set(message.id, "delivered")
      else if ("method" in message && message.method === "notifications/cancelled") {
        // Only a cancellation the SDK acts on: one its schema refuses leaves the request running, to be answered.
        const cancelled = CancelledNotificationSchema.safeParse(message)
        const id = cancelled.success ? cancelled.data.params.requestId : undefined
        if (id !== undefined) inFlight.delete(id)
      }
      dispatch?.(message, extra)
    }
    return start()
  }
  return transport
}

export interface HttpOptions {
  readonly port: number
  /** `HYPERAUTH_HTTP_TOKEN`: required as `Authorization: Bearer` when set. */
  readonly token: string | undefined
  /** Idle timeout, quiet floor, cap and clock of the sessions; `HttpSessions.defaultLimits` when absent. */
  readonly sessions?: HttpSessions.SessionLimits | undefined
  /** Bounds of the connections, each `HttpConnections.defaultLimits` when absent. */
  readonly connections?: Partial<HttpConnections.ConnectionLimits> | undefined
}

export const serveHttp = (runtime: Runtime, options: HttpOptions): Promise<HttpServer> => {
  const limits = options.sessions ?? HttpSessions.defaultLimits
  const sessions = HttpSessions.make(limits)

  const startSession = async (
    req: Parameters<StreamableHTTPServerTransport["handleRequest"]>[0],
    res: ServerResponse,
  ) => {
    // Read whole before a place is taken: a client sending its body slowly holds none while it does.
    const body = await jsonBody(req, res)
    if (body === undefined) return
    const message = body.message
    if (!sessions.reserve()) {
      res.setHeader("retry-after", "60")
      return answer(
        res,
        503,
        -32000,
        `Too many open sessions (at most ${limits.max}), and none quiet for ${Math.ceil(limits.quietMillis / 1000)} s to make room. End one with DELETE, or retry later.`,
      )
    }
    let started = false
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: maxRequestBytes,
      // Before the answer goes out, so the client's next request finds the session.
      onsessioninitialized: (id) => {
        started = true
        sessions.add(id, transport)
      },
    })
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.remove(transport.sessionId)
    }
    const server = createServer(Promise.resolve(runtime))
    try {
      const hold = () => sessions.begin(transport.sessionId ?? "", "request")
      const wrapped = endingCancelledStreams(holdingWhileAwaited(transport, hold))
      await connect(server, readingBodies(refusingBatches(refusingRepeatedIds(wrapped))))
      // The SDK checks Accept and Content-Type (406, 415) and answers anything but an initialize request (400).
      await transport.handleRequest(req, res, message)
    } finally {
      if (!started) {
        sessions.release()
        await server.close()
      }
    }
  }

  const connections = { ...HttpConnections.defaultLimits, ...options.connections }
  const httpServer = HttpConnections.createServer(connections, (req, res) => {
    const port = (httpServer.address() as AddressInfo).port
    const authority = authorityOf(req)
    if (authority === null) return answer(res, 400, -32000, "A request carries one Host line")
    if (!hostOk(authority, port)) return answer(res, 403, -32000, "Host must be a loopback address")
    if (!originOk(req.headers.origin)) return answer(res, 403, -32000, "Origin must be a loopback address")
    // A page on a loopback origin (a browser client) may call and read the answers, CORS says, only
    // when a bearer token is required: else any page a local server serves (a dev server showing a
    // cloned repository, a notebook) could drive the tools with the user's logins.
    const origin = options.token === undefined ? undefined : req.headers.origin
    const cors = origin !== undefined
    if (cors) {
      res.setHeader("access-control-allow-origin", origin)
      res.setHeader("vary", "Origin")
      res.setHeader("access-control-expose-headers", "mcp-session-id, mcp-protocol-version, www-authenticate")
    }
    // A raw client can send any request target; one that is no URL must not throw out of the server.
    if (!URL.canParse(req.url ?? "/", "http://127.0.0.1"))
      return answer(res, 400, -32000, "The request target is not a URL")
    if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== "/mcp")
      return answer(res, 404, -32000, "The MCP endpoint is /mcp")
    if (req.method === "OPTIONS" && !cors)
      return answer(
        res,
        403,
        -32000,
        options.token === undefined
          ? "Browser pages may call this server only when it requires a bearer token: set HYPERAUTH_HTTP_TOKEN"
          : "A CORS preflight carries an Origin",
      )
    // The preflight carries no credentials (the browser sends the bearer token only after it).
    if (req.method === "OPTIONS")
      return res
        .writeHead(204, {
          "access-control-allow-methods": "GET, POST, DELETE",
          "access-control-allow-headers":
            "content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id",
          "access-control-max-age": "600",
        })
        .end()
    if (options.token !== undefined) {
      const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]
      if (given === undefined || !sameToken(given, options.token)) {
        res.setHeader("www-authenticate", 'Bearer realm="hyperauth-mcp"')
        return answer(res, 401, -32000, "A valid bearer token (HYPERAUTH_HTTP_TOKEN) is required")
      }
    }

    const handle = async () => {
      await sessions.reclaim()
      const sessionId = req.headers["mcp-session-id"]
      if (sessionId === undefined) {
        if (req.method !== "POST")
          return answer(
            res,
            400,
            -32000,
            "Mcp-Session-Id is required: start a session with an initialize request (POST)",
          )
        return startSession(req, res)
      }
      const transport = typeof sessionId === "string" ? sessions.get(sessionId) : undefined
      if (transport === undefined || typeof sessionId !== "string")
        return answer(
          res,
          404,
          -32001,
          "Session not found: it ended or the server restarted. Start a new session with an initialize request.",
        )
      HttpConnections.whenOver(req, res, sessions.begin(sessionId, req.method === "GET" ? "stream" : "request"))
      return transport.handleRequest(req, res)
    }
    handle().catch(() => {
      if (!res.headersSent) answer(res, 500, -32603, "Internal error")
      else res.end()
    })
  })

  // Sessions nobody uses any more are closed even when no request comes to notice them.
  const sweep = setInterval(() => void sessions.reclaim(), Math.min(limits.idleMillis, 60_000))
  sweep.unref()
  httpServer.once("close", () => {
    clearInterval(sweep)
    void sessions.closeAll()
  })

  return new Promise((resolve, reject) => {
    httpServer.once("error", reject)
    httpServer.listen(options.port, "127.0.0.1", () => resolve(httpServer))
  })
}
