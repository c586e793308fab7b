/**
 * The `--http` transport's bounds on its connections, in process over raw
 * loopback sockets, with the limits made small: how many may be open at
 * once, how long a request may take to arrive, how long its answers may
 * wait for a client that does not read them, and how many requests may be
 * in flight on one (HTTP/1.1 pipelining).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { type AddressInfo, createConnection, type Socket } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { afterEach, describe, expect, it } from "vitest"
import { type HttpOptions, serveHttp } from "../src/http.js"
import * as Runtime from "../src/runtime.js"
import { rawHttp } from "./support/raw.js"

const started: Array<{ readonly server: Server; readonly runtime: Runtime.Runtime }> = []
const sockets: Array<Socket> = []

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  for (const { server, runtime } of started.splice(0)) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await runtime.dispose()
  }
})

const serve = async (connections: HttpOptions["connections"]) => {
  const runtime = Runtime.make({ HYPERAUTH_STORE: "memory" })
  const server = await serveHttp(runtime, { port: 0, token: undefined, connections })
  started.push({ server, runtime })
  return { server, port: (server.address() as AddressInfo).port }
}

/** A raw connection to `port`: what came back on it so far, and its close. */
const connect = (port: number) => {
  const socket = createConnection({ host: "127.0.0.1", port })
  sockets.push(socket)
  let received = ""
  socket.setEncoding("utf8")
  socket.on("data", (chunk: string) => {
    received += chunk
  })
  socket.on("error", () => undefined)
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
  return { socket, received: () => received, closed }
}

/** Whether `promise` settles within `ms`. */
const within = (ms: number, promise: Promise<unknown>) =>
  Promise.race([promise.then(() => true), sleep(ms).then(() => false)])

const openConnections = (server: Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  )

/** Waits until the server has `count` connections open (the test's timeout bounds it). */
const untilOpen = async (server: Server, count: number) => {
  while ((await openConnections(server)) !== count) await sleep(5)
}

const get = (port: number) => `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`

describe("the number of connections", () => {
  it("is capped: at the cap, a new connection closes the one idle the longest (kept alive, or silent) and is served", async () => {
    const { server, port } = await serve({ max: 4 })
    /** A connection kept alive after its answer: idle since then. */
    const keptAlive = async () => {
      const kept = connect(port)
      kept.socket.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
      while (!/\r\n\r\n/.test(kept.received())) await sleep(5)
      return kept
    }
    const first = await keptAlive()
    const silent = []
    for (let i = 1; i <= 3; i++) {
      silent.push(connect(port))
      await untilOpen(server, i + 1)
    }
    const newcomer = await keptAlive()
    expect(newcomer.received()).toMatch(/^HTTP\/1\.1 400 /)
    expect(await within(2_000, first.closed)).toBe(true)
    // Silent since before the newcomer's answer, so idle the longest now.
    expect(await rawHttp(port, get(port))).toMatch(/^HTTP\/1\.1 400 /)
    expect(await within(2_000, silent[0]?.closed ?? Promise.resolve())).toBe(true)
    const rest = [...silent.slice(1), newcomer]
    expect(await within(100, Promise.race(rest.map((held) => held.closed)))).toBe(false)
  })

  it("closes none in a request: with all of them in one, a new connection is closed unanswered, until one ends", async () => {
    const { server, port } = await serve({ max: 4 })
    // Initialize requests whose bodies are still arriving: each is in a request.
    const busy = [0, 1, 2, 3].map(() => {
      const held = connect(port)
      held.socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{"jsonrpc":`,
      )
      return held
    })
    let requests = 0
    server.on("request", () => {
      requests += 1
    })
    while (requests < 4) await sleep(5)
    expect(await rawHttp(port, get(port))).toBe("")
    expect(await within(100, Promise.race(busy.map((held) => held.closed)))).toBe(false)
    busy[0]?.socket.destroy()
    await untilOpen(server, 3)
    expect(await rawHttp(port, get(port))).toMatch(/^HTTP\/1\.1 400 /)
  })
})

describe("how long a request may take to arrive", () => {
  // Checked every 10 ms here, so that a timeout fires at most that late.
  const limits = { headersMillis: 100, requestMillis: 200, checkMillis: 10 }

  it("a connection that sends nothing, or its head slowly, is closed with 408 once the headers timeout passes", async () => {
    const { port } = await serve(limits)
    const silent = connect(port)
    const slowHead = connect(port)
    slowHead.socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
    const trickle = setInterval(() => slowHead.socket.write("X-Slow: 1\r\n"), 20)
    try {
      expect(await within(2_000, silent.closed)).toBe(true)
      expect(await within(2_000, slowHead.closed)).toBe(true)
    } finally {
      clearInterval(trickle)
    }
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(slowHead.received()).toMatch(/^HTTP\/1\.1 408 /)
  })

  it("a request whose body trickles is closed with 408 once the request timeout passes, however often it sends", async () => {
    const { port } = await serve(limits)
    const slowBody = connect(port)
    slowBody.socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":`,
    )
    const trickle = setInterval(() => slowBody.socket.write(" "), 20)
    try {
      expect(await within(2_000, slowBody.closed)).toBe(true)
    } finally {
      clearInterval(trickle)
    }
    expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408 /)
  })
})

/** A session started over `fetch`: its id. */
const openSession = async (port: number) => {
  const answer = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  })
  await answer.text()
  return answer.headers.get("mcp-session-id") ?? ""
}

/** A request of `session` as raw HTTP, kept alive. */
const sessionRequest = (port: number, session: string, method: string, body: unknown) => {
  const text = body === undefined ? "" : JSON.stringify(body)
  return (
    `${method} /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nMcp-Session-Id: ${session}\r\n` +
    `Mcp-Protocol-Version: 2025-06-18\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
  )
}

describe("a client that does not read its answers", () => {
  // Checked every 10 ms here, so that the timeout fires at most that late; pipelining allowed as deep as
  // the tests go, so that a client's answers can back up.
  const limits = { writeMillis: 200, checkMillis: 10, maxInFlight: 1_000 }

  it("has its connection closed once its answers have waited the write timeout with none of them taken", async () => {
    const { server, port } = await serve(limits)
    const session = await openSession(port)
    // The client, reading nothing, does not see the close: the server's end of the connection does.
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve))
    const deaf = connect(port)
    deaf.socket.pause()
    // Each answer is about 13 KB: the kernel's buffers fill (some MB), then Node's.
    const list = (id: number) => sessionRequest(port, session, "POST", { jsonrpc: "2.0", id, method: "tools/list" })
    deaf.socket.write(Array.from({ length: 1_000 }, (_, id) => list(id)).join(""))
    const serverSide = await accepted
    expect(await within(10_000, new Promise((resolve) => serverSide.once("close", resolve)))).toBe(true)
    expect(serverSide.bytesWritten).toBeGreaterThan(1_000_000) // closed once the buffers had filled, not before
  })

  it("that reads them keeps its connection, and a GET stream stays open for as long as it listens", async () => {
    const { port } = await serve(limits)
    const session = await openSession(port)
    const listening = connect(port)
    listening.socket.write(sessionRequest(port, session, "GET", undefined))
    const reading = connect(port)
    for (let id = 0; id < 20; id++) {
      const before = reading.received().length
      reading.socket.write(sessionRequest(port, session, "POST", { jsonrpc: "2.0", id, method: "tools/list" }))
      while (!reading.received().slice(before).includes('"tools"')) await sleep(5)
      await sleep(20)
    }
    expect(await within(300, Promise.race([listening.closed, reading.closed]))).toBe(false)
    expect(listening.received()).toMatch(/^HTTP\/1\.1 200 /)
  })
})

describe("a client pipelining requests on one connection", () => {
  /** The status lines of every answer in `received`, in order. */
  const statuses = (received: string) => [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]))

  // A connection carries one request at a time for every client that waits for its answers (undici, browsers, the SDK).
  const limits = { maxInFlight: 4 }

  it("with more requests in flight than allowed has its connection closed at once, having had that many answers waiting at most", async () => {
    const { server, port } = await serve(limits)
    const session = await openSession(port)
    // After the server's own listener: a request it refused has its connection closed already.
    const handled: Array<ServerResponse> = []
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (!req.socket.destroyed) handled.push(res)
    })
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve))
    const deaf = connect(port)
    deaf.socket.pause()
    // Each tools/list answer is about 13 KB: the kernel's buffers take some 300, then the answers wait in the server.
    const list = (id: number) => sessionRequest(port, session, "POST", { jsonrpc: "2.0", id, method: "tools/list" })
    deaf.socket.write(Array.from({ length: 1_000 }, (_, id) => list(id)).join(""))
    const serverSide = await accepted
    // Not by the headers or write timeout (10 s, 30 s), which closed it before, with some 170 answers (2.2 MB) waiting.
    expect(await within(2_000, new Promise((resolve) => serverSide.once("close", resolve)))).toBe(true)
    expect(handled.length).toBeGreaterThan(0)
    expect(handled.filter((res) => !res.writableFinished).length).toBeLessThanOrEqual(4)
  })

  it("that waits for its answers before sending more is served in full, on the same connection", async () => {
    const { port } = await serve(limits)
    const session = await openSession(port)
    const reading = connect(port)
    for (let round = 0; round < 3; round++) {
      const list = (id: number) =>
        sessionRequest(port, session, "POST", { jsonrpc: "2.0", id: round * 10 + id, method: "tools/list" })
      reading.socket.write([0, 1, 2, 3].map(list).join(""))
      while (!reading.received().includes(`"id":${round * 10 + 3}}`)) await sleep(5)
    }
    expect(statuses(reading.received())).toEqual(Array.from({ length: 12 }, () => 200))
  })
})
