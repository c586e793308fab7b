/**
 * Requests of one `--http` session that reuse the id of one in flight, in
 * process over real loopback HTTP against the emulator. The SDK's transport
 * keys each request's stream by the client's id, so a second request under
 * the same id took the first one's stream for its own: the first one's
 * answer, or its cancellation, went to the second's, and the first's stream
 * stayed open until the session ended, holding its connection and keeping
 * the session busy. As over stdio, such a request is refused (-32600), and
 * here before the SDK's transport sees it: 400 with no id, as the SDK
 * refuses a second initialize (under the id, the error would read as the
 * first request's answer).
 */
import { createConnection } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { afterEach, describe, expect, it } from "vitest"
import { mcpHeaders as baseHeaders, initialize, messagesOf, readFor, useHttpServer } from "./support/httpServer.js"

const served = useHttpServer({ emulator: true })

const openSession = async (protocolVersion = "2025-06-18") => {
  const init = await fetch(served.url, { method: "POST", headers: baseHeaders, body: initialize({}, protocolVersion) })
  await init.text()
  const session = init.headers.get("mcp-session-id") ?? ""
  const headers = { ...baseHeaders, "mcp-session-id": session, "mcp-protocol-version": protocolVersion }
  const post = (body: unknown) => fetch(served.url, { method: "POST", headers, body: JSON.stringify(body) })
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text()
  return { session, post }
}

/** A device login of hyper still waiting for the user: its id. */
const pendingLogin = async (post: (body: unknown) => Promise<Response>): Promise<string> => {
  const answer = await post({
    jsonrpc: "2.0",
    id: "login",
    method: "tools/call",
    params: { name: "login", arguments: { provider: "hyper" } },
  })
  const [message] = messagesOf(await answer.text())
  const result = message?.result as { structuredContent: { login_id: string } }
  return result.structuredContent.login_id
}

/** A request that stays in flight for `waitSeconds`: a `complete_login` waiting for the user. */
const waitCall = (id: number | string, loginId: string, waitSeconds = 30) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "complete_login", arguments: { login_id: loginId, wait_seconds: waitSeconds } },
})

const cancel = (requestId: number | string) => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId },
})

const list = (id: number | string) => ({ jsonrpc: "2.0", id, method: "tools/list" })

/** The refusal of a POST whose requests reuse an id in flight. */
const refusal = {
  jsonrpc: "2.0",
  id: null,
  error: { code: -32600, message: expect.stringMatching(/not answered yet/) },
}

describe("a request reusing the id of one in flight in its session", () => {
  // The review's repro. First in the file: it needs the first request still in flight when the second comes,
  // as it is while the tools load (once per process); after that a tools/list is answered in the same turn.
  it("two tools/list with id 7 sent at once: both POSTs end, and each is answered or refused", async () => {
    const { post } = await openSession()
    for (let round = 0; round < 10; round++) {
      const both = await Promise.all([post(list(7)), post(list(7))])
      for (const response of both) {
        const { text, ended } = await readFor(response, 3_000)
        expect(ended).toBe(true)
        if (response.status === 200) expect(messagesOf(text)).toMatchObject([{ id: 7, result: {} }])
        else expect([response.status, JSON.parse(text)]).toEqual([400, refusal])
      }
    }
  })

  it("is 400 (-32600) and runs nothing; the first keeps its stream, which ends at its cancel; then the id is free", async () => {
    const { post } = await openSession()
    const loginId = await pendingLogin(post)
    const waiting = await post(waitCall(7, loginId))
    expect(waiting.status).toBe(200)
    const again = await post(list(7))
    expect(again.status).toBe(400)
    expect(await again.json()).toEqual(refusal)
    // The first request's stream is still its own: its cancel ends it.
    expect((await post(cancel(7))).status).toBe(202)
    expect((await readFor(waiting, 3_000)).ended).toBe(true)
    const reused = await post(list(7))
    expect(reused.status).toBe(200)
    expect(messagesOf(await reused.text())).toMatchObject([{ id: 7, result: { tools: expect.any(Array) } }])
  })

  it("is free again once its request is answered", async () => {
    const { post } = await openSession()
    for (let i = 0; i < 3; i++) {
      const answer = await post(list(7))
      expect(answer.status).toBe(200)
      expect(messagesOf(await answer.text())).toMatchObject([{ id: 7 }])
    }
  })

  it("in another session is no reuse", async () => {
    const first = await openSession()
    const second = await openSession()
    const waiting = await first.post(waitCall(7, await pendingLogin(first.post)))
    const other = await second.post(list(7))
    expect(other.status).toBe(200)
    expect(messagesOf(await other.text())).toMatchObject([{ id: 7 }])
    await (await first.post(cancel(7))).text()
    await readFor(waiting, 3_000)
  })

  describe("on one connection, pipelined", () => {
    const sockets: Array<ReturnType<typeof createConnection>> = []
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.destroy()
    })

    it("the second is refused, and both answers come once the first request's stream ends", async () => {
      const { session, post } = await openSession()
      const loginId = await pendingLogin(post)
      const { port } = new URL(served.url)
      const request = (body: unknown) => {
        const text = JSON.stringify(body)
        return (
          `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\nMcp-Session-Id: ${session}\r\n` +
          `Mcp-Protocol-Version: 2025-06-18\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
        )
      }
      const socket = createConnection({ host: "127.0.0.1", port: Number(port) })
      sockets.push(socket)
      let received = ""
      socket.setEncoding("utf8")
      socket.on("data", (chunk: string) => {
        received += chunk
      })
      socket.write(request(waitCall(7, loginId)) + request(list(7)))
      while (!received.includes("HTTP/1.1 200")) await sleep(5)
      await sleep(200)
      expect((await post(cancel(7))).status).toBe(202)
      const deadline = Date.now() + 3_000
      while (!/HTTP\/1\.1 400 [\s\S]*\r\n\r\n\{[\s\S]*\}/.test(received) && Date.now() < deadline) await sleep(10)
      const [first, second] = received.split(/(?=HTTP\/1\.1 )/)
      expect(first).toMatch(/^HTTP\/1\.1 200 /)
      expect(second).toMatch(/^HTTP\/1\.1 400 /)
      // Queued behind a stream, it is sent chunked: its one chunk is the JSON.
      expect(JSON.parse(/\{.*\}/.exec(second ?? "")?.[0] ?? "")).toEqual(refusal)
    })
  })
})

describe("a batch (2025-03-26)", () => {
  it("repeating an id is 400 (-32600), and nothing in it runs", async () => {
    const { post } = await openSession("2025-03-26")
    const loginId = await pendingLogin(post)
    const batch = await post([waitCall(5, loginId), { jsonrpc: "2.0", id: 5, method: "ping" }])
    expect(batch.status).toBe(400)
    expect(await batch.json()).toEqual(refusal)
    // Had the wait run, 5 would be in flight for 30 s.
    const ping = await post({ jsonrpc: "2.0", id: 5, method: "ping" })
    expect(ping.status).toBe(200)
    expect(messagesOf(await ping.text())).toMatchObject([{ id: 5, result: {} }])
  })

  it("naming an id in flight is 400 (-32600) whole: its other requests do not run", async () => {
    const { post } = await openSession("2025-03-26")
    const loginId = await pendingLogin(post)
    const waiting = await post(waitCall(7, loginId))
    const batch = await post([waitCall(6, loginId), list(7)])
    expect(batch.status).toBe(400)
    expect(await batch.json()).toEqual(refusal)
    const six = await post({ jsonrpc: "2.0", id: 6, method: "ping" })
    expect(messagesOf(await six.text())).toMatchObject([{ id: 6, result: {} }])
    await (await post(cancel(7))).text()
    expect((await readFor(waiting, 3_000)).ended).toBe(true)
  })
})
