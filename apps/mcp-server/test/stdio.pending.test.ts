/**
 * The stdio transport's count of unanswered requests against the SDK's own
 * `Server`, in process on real streams: the count must agree with what the
 * SDK will still answer, or a client either gets past `maxPendingRequests`
 * (the memory bound) or the server stops reading what would let it go on.
 */
import { PassThrough, Writable } from "node:stream"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { CallToolRequestSchema, EmptyResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "vitest"
import { withOwnRequestIds } from "../src/requestIds.js"
import { maxPendingRequests, StdioTransport } from "../src/stdio.js"

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms))

/** A server whose tool calls wait `release` (or their cancellation); `running` counts the calls under way. */
const slowServer = async () => {
  const input = new PassThrough()
  const written: Array<Record<string, unknown>> = []
  const output = new Writable({
    write: (chunk, _encoding, done) => {
      for (const line of String(chunk).split("\n")) if (line !== "") written.push(JSON.parse(line))
      done()
    },
  })
  const transport = new StdioTransport(input, output, () => undefined)
  const server = new Server({ name: "t", version: "0" }, { capabilities: { tools: {} } })
  const state = { running: 0, aborted: 0, releases: [] as Array<() => void> }
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    state.running++
    try {
      if (request.params.name === "ping_client") {
        await extra.sendRequest({ method: "ping" }, EmptyResultSchema)
        return { content: [] }
      }
      await new Promise<void>((resolve) => {
        state.releases.push(resolve)
        if (extra.signal.aborted) {
          state.aborted++
          resolve()
        }
        extra.signal.addEventListener("abort", () => {
          state.aborted++
          resolve()
        })
      })
      return { content: [] }
    } finally {
      state.running--
    }
  })
  server.onerror = () => undefined
  // As every transport of the server is connected (server.ts): the SDK alone cancels the wrong requests.
  await server.connect(withOwnRequestIds(transport))
  const send = (messages: Array<unknown>) => input.write(`${messages.map((m) => JSON.stringify(m)).join("\n")}\n`)
  return { input, written, transport, server, state, send }
}

const call = (id: number | string, name = "wait") => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {} },
})
const cancel = (requestId: unknown, extra: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId, ...extra },
})

describe("stdio pending requests, with the SDK's server", () => {
  it.each([0, ""])(
    "a cancellation of request id %j (the SDK alone ignores it) ends the call and frees its place",
    async (id) => {
      const { send, written, state, server } = await slowServer()
      send(Array.from({ length: 300 }, () => [call(id), cancel(id)]).flat())
      await tick(50)
      expect(state.running).toBe(0)
      expect(state.aborted).toBe(300)
      // None is answered, and the id is free again.
      expect(written).toEqual([])
      send([{ jsonrpc: "2.0", id, method: "ping" }])
      await tick()
      expect(written).toEqual([{ jsonrpc: "2.0", id, result: {} }])
      await server.close()
    },
  )

  it("a request reusing the id of one just cancelled is run and answered; the cancelled one is not", async () => {
    const { send, written, state, server } = await slowServer()
    // Read in one turn, as a client's writes arrive together: the SDK acts on a cancellation a
    // microtask later, by id, and took the newer request for the one cancelled.
    send(Array.from({ length: 300 }, () => [call(5), cancel(5)]).flat())
    await tick(50)
    expect(state.aborted).toBe(300)
    expect(state.running).toBe(0)
    send([call(5, "ping_client")])
    await tick()
    const ping = written.find((m) => m.method === "ping")
    send([{ jsonrpc: "2.0", id: ping?.id, result: {} }])
    await tick()
    expect(written.filter((m) => m.id === 5)).toEqual([{ jsonrpc: "2.0", id: 5, result: { content: [] } }])
    await server.close()
  })

  it("a cancellation the SDK cannot parse (a reason that is not a string) does not count as one", async () => {
    const { send, state, server } = await slowServer()
    send(Array.from({ length: 300 }, (_, i) => [call(i + 1), cancel(i + 1, { reason: 7 })]).flat())
    await tick(50)
    expect(state.running).toBeLessThanOrEqual(maxPendingRequests)
    await server.close()
  })

  it("a request repeating a pending id, cancelled twice, does not let more than maxPendingRequests run", async () => {
    const { send, state, server } = await slowServer()
    // The SDK aborts only the last request of an id; the transport counted two cancellations.
    send(Array.from({ length: 300 }, (_, i) => [call(i + 1), call(i + 1), cancel(i + 1), cancel(i + 1)]).flat())
    await tick(50)
    expect(state.running).toBeLessThanOrEqual(maxPendingRequests)
    await server.close()
  })

  it("a request or invalid message repeating a pending id is refused under no id: the pending request's answer stays its own", async () => {
    const { send, written, state, server } = await slowServer()
    send([call(7), { jsonrpc: "2.0", id: 7, method: "ping" }, { jsonrpc: "2.0", id: 7 }])
    await tick()
    // As over --http: an error under id 7 would be, to the client, the answer to its tools/call. The
    // message without a method is no request at all: its refusal names no id, as JSON-RPC's null.
    expect(written.map((m) => m.id)).toEqual([null, undefined])
    for (const release of state.releases) release()
    await tick()
    expect(written.filter((m) => m.id === 7)).toEqual([{ jsonrpc: "2.0", id: 7, result: { content: [] } }])
    await server.close()
  })

  it("an invalid message with a pending request's id does not count that request as answered", async () => {
    const { send, state, server } = await slowServer()
    // Each invalid one is answered -32600 with its id: that was counted as the answer to the pending call.
    send(Array.from({ length: 300 }, (_, i) => [call(i + 1), { jsonrpc: "2.0", id: i + 1 }]).flat())
    await tick(50)
    expect(state.running).toBeLessThanOrEqual(maxPendingRequests)
    await server.close()
  })

  it("reads a cancellation while maxPendingRequests calls wait", async () => {
    const { send, state, server } = await slowServer()
    send(Array.from({ length: maxPendingRequests }, (_, i) => call(i + 1)))
    await tick()
    expect(state.running).toBe(maxPendingRequests)
    // The client gives up on one (as the SDK's client does when its request times out).
    send([cancel(1)])
    await tick()
    expect(state.aborted).toBe(1)
    await server.close()
  })

  it("reads the client's answers to the server's requests while maxPendingRequests calls wait for them", async () => {
    const { send, written, state, server } = await slowServer()
    send(Array.from({ length: maxPendingRequests }, (_, i) => call(i + 1, "ping_client")))
    await tick()
    const pings = written.filter((m) => m.method === "ping")
    expect(pings.length).toBe(maxPendingRequests)
    send(pings.map((ping) => ({ jsonrpc: "2.0", id: ping.id, result: {} })))
    await tick()
    expect(state.running).toBe(0)
    expect(written.filter((m) => "result" in m && typeof m.id === "number" && m.id >= 1).length).toBe(
      maxPendingRequests,
    )
    await server.close()
  })

  it("still serves requests past maxPendingRequests once earlier ones are answered, in order", async () => {
    const { send, written, state, server } = await slowServer()
    send(Array.from({ length: 3 * maxPendingRequests }, (_, i) => call(i + 1)))
    for (let i = 0; i < 50 && written.length < 3 * maxPendingRequests; i++) {
      for (const release of state.releases.splice(0)) release()
      await tick(5)
    }
    expect(written.map((m) => m.id)).toEqual(Array.from({ length: 3 * maxPendingRequests }, (_, i) => i + 1))
    await server.close()
  })
})
