/**
 * The connections of the `--http` transport and of the login callback
 * listener, bounded against local clients that open many of them, send
 * slowly or never finish a request, or do not read their answers.
 *
 * Node bounds the rest itself, measured so: a kept-alive connection idle
 * for 5 s is closed (`keepAliveTimeout`); a request's head holds at most
 * 16 KiB of header names and values (431 past it); and pipelined requests
 * are read no further once their answers back up behind one still being
 * sent (of 50,000 pings sent behind an open stream, 243 were taken in: one
 * 64 KiB read), which holds as long as every answer's head goes out at once.
 *
 * At the cap, a new connection takes the place of one doing nothing
 * (`makingRoom`). Nothing bounded how long answers may wait for a client
 * that does not read them: one pipelining tools/list (13 KB an answer) and
 * reading nothing had some 4 MB taken by the kernel's buffers, then Node
 * held the answers of one 64 KiB read of requests (2.3 MB) and the
 * connection, with its session's requests in flight, for ever.
 * `writeMillis` does. Nor did anything bound how many answers were made
 * and held for such a client meanwhile: some 170 a connection (2.2 MB;
 * with the requests, 3.6 MB of heap and buffers, measured), so some 900 MB
 * for 256 connections. A connection with more than `maxInFlight` requests
 * in flight is closed at once. Answering the rest 503, unhandled, held
 * still some 1 MB a connection: the refusals queued behind the answers the
 * client did not read (measured over 64 connections: 65 MB, against 2 MB
 * with them closed).
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from "node:http"
import type { Socket } from "node:net"

export interface ConnectionLimits {
  /**
   * How many may be open at once. One more makes room by closing the one
   * idle the longest (no request in flight); when every one is in a
   * request, it is closed as soon as it is accepted, unanswered.
   */
  readonly max: number
  /** How long a request's head may take to arrive (a new connection's first one too), else 408; at most `requestMillis`. */
  readonly headersMillis: number
  /** How long a whole request, head and body, may take to arrive, however often it sends; else 408. */
  readonly requestMillis: number
  /**
   * How long a connection's output may wait with the client taking none of
   * it (in whole writes: an answer's head, a chunk of its body, an event)
   * before the connection is closed: a client that does not read its
   * answers. A GET stream with nothing to send waits for nothing.
   */
  readonly writeMillis: number
  /** How often the timeouts are looked for (Node's, of requests; ours, of writes), so how late one may be noticed. */
  readonly checkMillis: number
  /**
   * How long a connection may stay after an answer given before its
   * request's body had all arrived, for the rest of the body to come.
   */
  readonly drainMillis: number
  /**
   * How many requests may be in flight on one connection at once (sent
   * without waiting for the answers before them: HTTP/1.1 pipelining, where
   * each answer waits for those before it to be sent). One more closes the
   * connection at once, unhandled, and the answers of those in flight with
   * it.
   */
  readonly maxInFlight: number
}

/**
 * 256 connections: what the 64 sessions `HttpSessions` allows need with a
 * GET stream and three requests in flight each, which no client comes near
 * (one session on a connection or two is usual), and a small share of the
 * process's file descriptors, which its calls to the providers, the login
 * callback listener and the token store need too: without a cap, any local
 * process could take them all.
 *
 * 10 s for a request's head and 30 s for the whole of it, checked every
 * second: a loopback client sends either in milliseconds (a body is at most
 * 4 MiB, one JSON-RPC message or batch, never streamed as it is made), and
 * Node's own 60 s and 5 minutes, checked every 30 s, let a client that sends
 * a byte now and then hold its connection for minutes. 30 s for a client
 * to take some of its answers, which one that reads does at once (a body
 * is sent in chunks the kernel's buffers take, some MB on loopback). Half
 * a second to drain.
 *
 * 16 requests in flight on a connection: a client that waits for each
 * answer before it sends the next request on the connection (undici,
 * browsers, the SDK: none pipelines) has one at a time; 16 leave room for
 * one that pipelines a few.
 */
export const defaultLimits: ConnectionLimits = {
  max: 256,
  headersMillis: 10_000,
  requestMillis: 30_000,
  writeMillis: 30_000,
  checkMillis: 1_000,
  drainMillis: 500,
  maxInFlight: 16,
}

/**
 * An answer given before the request's body has all arrived (a refusal,
 * ours or the SDK's: 406, 415, 413; an answer to a GET or a preflight,
 * whose body nobody reads): the rest of the body is read on and dropped,
 * to keep the connection alive, for as long as the client takes to send
 * it, up to `requestMillis` (the SDK's Node adapter stops after 500 ms,
 * but only for the POSTs and DELETEs it answers). The connection may stay
 * `millis` longer; then, if the body has still not ended, it is closed.
 * Not at once: a client still sending could see its connection reset
 * before it read the answer (RFC 9112, 9.6; measured: one oversized body
 * streamed in about 240 got EPIPE, not its 413).
 */
const drainingFor = (millis: number, req: IncomingMessage, res: ServerResponse) =>
  res.once("finish", () => {
    if (req.complete) return
    setTimeout(() => {
      if (!req.complete) req.socket.destroy()
    }, millis).unref()
  })

/** What is to be called when each connection closes, for the exchanges on it not over yet. */
const overAtClose = new WeakMap<Socket, Set<() => void>>()

/**
 * Calls `over` once, when the exchange of `req` and `res` is over: at the
 * response's close, or its connection's if that comes first. Node emits
 * close only on the response being sent: one queued behind it (HTTP/1.1
 * pipelining) never closes when the connection does (of 100 pipelined
 * requests whose connection was destroyed, all 100 requests closed and
 * one response).
 */
export const whenOver = (req: IncomingMessage, res: ServerResponse, over: () => void): void => {
  const socket = req.socket
  if (socket.closed) {
    over()
    return
  }
  let waiting = overAtClose.get(socket)
  if (waiting === undefined) {
    const all = new Set<() => void>()
    overAtClose.set(socket, all)
    socket.once("close", () => {
      for (const done of all) done()
    })
    waiting = all
  }
  const done = () => {
    waiting.delete(done)
    res.off("close", done)
    over()
  }
  waiting.add(done)
  res.once("close", done)
}

/**
 * Closes every connection whose output has waited `millis` with none of it
 * taken: its socket has bytes to send (`writableLength`), and the count of
 * bytes it has sent has not moved since they were first seen waiting.
 * Node has no such timeout (its socket timeout counts what the client
 * sends too, and would close a quiet GET stream).
 */
const closingUnread = (server: HttpServer, millis: number, checkMillis: number) => {
  const waiting = new Map<Socket, { readonly since: number; readonly sent: number } | undefined>()
  server.on("connection", (socket: Socket) => {
    waiting.set(socket, undefined)
    socket.once("close", () => waiting.delete(socket))
  })
  const check = setInterval(() => {
    const now = performance.now()
    for (const [socket, since] of waiting) {
      const sent = socket.bytesWritten - socket.writableLength
      if (socket.writableLength === 0) waiting.set(socket, undefined)
      else if (since === undefined || since.sent !== sent) waiting.set(socket, { since: now, sent })
      else if (now - since.since >= millis) socket.destroy()
    }
  }, checkMillis)
  check.unref()
  server.once("close", () => clearInterval(check))
}

/**
 * At most `max` connections open: one more first makes room by closing the
 * connection idle the longest, one with no request in flight (it has sent
 * nothing yet, or part of a head only, or is kept alive between requests),
 * and only when every one is in a request is it closed itself. Node closes
 * each of those soon anyway (headersTimeout, keepAliveTimeout), and a
 * client about to send on a kept-alive one finds it closed as it would
 * then. `server.maxConnections` refused the new one alone: a flood of
 * sockets doing nothing, renewed as Node closed them, kept every other
 * client out. The one idle the longest goes first, so that a new client
 * sending its request at once is not closed before it can: that takes as
 * many newer connections as the cap.
 *
 * Returns what counts a request in flight on its connection, and tells
 * how many are, this one included.
 */
const makingRoom = (server: HttpServer, max: number) => {
  /** Each open connection: its requests in flight, and since when it has had none. */
  const open = new Map<Socket, { requests: number; idleSince: number }>()
  server.on("connection", (socket: Socket) => {
    open.set(socket, { requests: 0, idleSince: performance.now() })
    socket.once("close", () => open.delete(socket))
    if (open.size <= max) return
    let idlest = socket
    let since = Number.POSITIVE_INFINITY
    for (const [other, connection] of open)
      if (other !== socket && connection.requests === 0 && connection.idleSince < since) {
        idlest = other
        since = connection.idleSince
      }
    open.delete(idlest)
    idlest.destroy()
  })
  return (req: IncomingMessage, res: ServerResponse): number => {
    const connection = open.get(req.socket)
    if (connection === undefined) return 1
    connection.requests += 1
    // Enough here: the answers queued behind one never close, but then the connection has closed.
    res.once("close", () => {
      connection.requests -= 1
      connection.idleSince = performance.now()
    })
    return connection.requests
  }
}

/** An HTTP server for `listener`, its connections within `limits`. */
export const createServer = (limits: ConnectionLimits, listener: RequestListener): HttpServer => {
  const options = {
    headersTimeout: limits.headersMillis,
    requestTimeout: limits.requestMillis,
    connectionsCheckingInterval: limits.checkMillis,
  }
  const server = createHttpServer(options, (req, res) => {
    const inFlight = inRequest(req, res)
    drainingFor(limits.drainMillis, req, res)
    // Pipelined past the bound: the connection goes, with what is queued on it.
    if (inFlight > limits.maxInFlight) req.socket.destroy()
    else listener(req, res)
  })
  const inRequest = makingRoom(server, limits.max)
  closingUnread(server, limits.writeMillis, limits.checkMillis)
  return server
}
