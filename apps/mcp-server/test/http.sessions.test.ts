/**
 * The `--http` transport's session bookkeeping, in process over real
 * loopback HTTP, with the sessions' clock injected: idle sessions are
 * reclaimed (404 afterwards) without waiting in real time, a session with
 * an open stream is not idle, and the number of sessions is capped: at the
 * cap, a new session takes the place of the one quiet the longest.
 *
 * The clock is a plain `now` function rather than Effect's TestClock: the
 * transport is Node callback code that runs outside any Effect fiber.
 */
import type { Server } from "node:http"
import { type AddressInfo, createConnection, type Socket } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { serveHttp } from "../src/http.js"
import * as Runtime from "../src/runtime.js"
import { rawHttp } from "./support/raw.js"

const idleMillis = 60_000
const quietMillis = 10_000
let now = 0
let runtime: Runtime.Runtime
let server: Server
let port = 0

beforeEach(async () => {
  now = 1_000_000
  runtime = Runtime.make({ HYPERAUTH_STORE: "memory" })
  server = await serveHttp(runtime, {
    port: 0,
    token: undefined,
    sessions: { idleMillis, quietMillis, max: 3, now: () => now },
  })
  port = (server.address() as AddressInfo).port
})

afterEach(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await runtime.dispose()
})

const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" }

const post = async (body: unknown, session?: string) => {
  const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: "POST",
    headers:
      session === undefined ? headers : { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
    body: JSON.stringify(body),
  })
  await response.text()
  return { status: response.status, session: response.headers.get("mcp-session-id") ?? "" }
}

const open = () =>
  post({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  })

const ping = (session: string) => post({ jsonrpc: "2.0", id: 2, method: "ping" }, session)

/** Opens the GET stream of `session`. */
const listen = (session: string) =>
  fetch(`http://127.0.0.1:${port}/mcp`, {
    headers: { accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
  })

/** Whether the body of `response` ends within 2 s. */
const ended = async (response: Response | undefined): Promise<boolean> => {
  const reader = response?.body?.getReader()
  if (reader === undefined) return false
  const deadline = sleep(2_000).then(() => "late" as const)
  for (;;) {
    const next = await Promise.race([reader.read(), deadline])
    if (next === "late") {
      await reader.cancel()
      return false
    }
    if (next.done) return true
  }
}

describe("request targets", () => {
  it("one that is no URL is answered 400, and the server goes on", async () => {
    for (const target of ["http://[", "http://", "//[::1"]) {
      const answer = await rawHttp(
        port,
        `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      )
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /)
    }
    expect((await open()).status).toBe(200)
  })
})

describe("HTTP sessions", () => {
  it("reclaims a session idle past the timeout, and only then", async () => {
    const first = await open()
    expect(first.status).toBe(200)
    now += idleMillis - 1
    expect((await ping(first.session)).status).toBe(200)
    now += idleMillis - 1
    expect((await ping(first.session)).status).toBe(200) // the ping above kept it alive
    now += idleMillis + 1
    const other = await open() // any request notices the idle ones
    expect(other.status).toBe(200)
    expect((await ping(first.session)).status).toBe(404)
    expect((await ping(other.session)).status).toBe(200)
  })

  it("does not reclaim a session whose stream is open", async () => {
    const listening = await open()
    const stream = await listen(listening.session)
    expect(stream.status).toBe(200)
    now += 10 * idleMillis
    expect((await open()).status).toBe(200)
    expect((await ping(listening.session)).status).toBe(200)
    await stream.body?.cancel()
  })

  it("at the cap, an initialize takes the place of the session quiet the longest, even with its GET stream open", async () => {
    const sessions = [await open(), await open(), await open()]
    const streams = await Promise.all(sessions.map(({ session }) => listen(session)))
    expect(streams.map((stream) => stream.status)).toEqual([200, 200, 200])
    now += quietMillis - 1
    expect((await open()).status).toBe(503) // none quiet long enough yet
    expect((await ping(sessions[1]?.session ?? "")).status).toBe(200)
    expect((await ping(sessions[2]?.session ?? "")).status).toBe(200)
    now += 1
    const newcomer = await open()
    expect(newcomer.status).toBe(200)
    // The first is the quietest: its stream ends and it is gone (404, so its client starts anew).
    expect(await ended(streams[0])).toBe(true)
    expect((await ping(sessions[0]?.session ?? "")).status).toBe(404)
    expect((await ping(sessions[1]?.session ?? "")).status).toBe(200)
    expect((await ping(sessions[2]?.session ?? "")).status).toBe(200)
    expect((await ping(newcomer.session)).status).toBe(200)
    expect((await open()).status).toBe(503) // the others were in use just now
    now += quietMillis // and now the second is the quietest
    expect((await open()).status).toBe(200)
    expect(await ended(streams[1])).toBe(true)
    expect((await ping(sessions[2]?.session ?? "")).status).toBe(200)
    await streams[2]?.body?.cancel()
  })

  it("a request queued behind another on its connection holds its session no longer than the connection lasts", async () => {
    const listening = await open()
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve))
    let requests = 0
    server.on("request", () => {
      requests += 1
    })
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.on("error", () => undefined)
    const session = `Mcp-Session-Id: ${listening.session}\r\nMcp-Protocol-Version: 2025-06-18\r\n`
    const body = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" })
    // HTTP/1.1 pipelining: the ping's answer waits behind the GET stream's, which never ends.
    socket.write(
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n${session}\r\n` +
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${headers["content-type"]}\r\n` +
        `Accept: ${headers.accept}\r\n${session}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
    const serverSide = await accepted
    while (requests < 2) await sleep(5)
    const closed = new Promise((resolve) => serverSide.once("close", resolve))
    socket.destroy()
    await closed
    now += idleMillis + 1
    expect((await open()).status).toBe(200) // any request notices the idle ones
    expect((await ping(listening.session)).status).toBe(404)
  })

  it("caps the number of sessions: 503 past it, room again after a DELETE or once one is reclaimed", async () => {
    const sessions = [await open(), await open(), await open()]
    expect(sessions.map((s) => s.status)).toEqual([200, 200, 200])
    const refused = await open()
    expect(refused.status).toBe(503)
    const ended = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "DELETE",
      headers: { "mcp-session-id": sessions[0]?.session ?? "", "mcp-protocol-version": "2025-06-18" },
    })
    expect(ended.status).toBe(200)
    expect((await open()).status).toBe(200)
    expect((await open()).status).toBe(503)
    now += idleMillis + 1
    expect((await open()).status).toBe(200)
  })

  it("an initialize whose body is still arriving holds no place; it takes one once read, if there is one", async () => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "slow", version: "1" } },
    })
    let requests = 0
    server.on("request", () => {
      requests += 1
    })
    const slow = [0, 1, 2].map(() => {
      const socket = createConnection({ host: "127.0.0.1", port })
      let answer = ""
      socket.setEncoding("utf8")
      socket.on("data", (chunk: string) => {
        answer += chunk
      })
      socket.on("error", () => undefined)
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${headers["content-type"]}\r\n` +
          `Accept: ${headers.accept}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      )
      return { socket, answer: () => answer }
    })
    try {
      while (requests < 3) await sleep(5) // each is being read
      expect([(await open()).status, (await open()).status, (await open()).status]).toEqual([200, 200, 200])
      const [first] = slow
      first?.socket.write(body.slice(10))
      while (first !== undefined && !/\r\n\r\n/.test(first.answer())) await sleep(5)
      expect(first?.answer()).toMatch(/^HTTP\/1\.1 503 /)
    } finally {
      for (const { socket } of slow) socket.destroy()
    }
  })

  it("a request that starts no session holds no place", async () => {
    for (let i = 0; i < 10; i++) {
      expect((await post({ jsonrpc: "2.0", id: 2, method: "tools/list" })).status).toBe(400)
    }
    expect([(await open()).status, (await open()).status, (await open()).status]).toEqual([200, 200, 200])
  })
})
