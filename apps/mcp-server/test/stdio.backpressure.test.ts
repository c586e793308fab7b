/**
 * The stdio transport's flow control, in process on real streams: while
 * the client does not read the answers (stdout is full), the server reads
 * no more requests, so a client that floods it without reading cannot make
 * it hold every answer in memory.
 */
import { PassThrough, Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { maxPendingRequests, StdioTransport } from "../src/stdio.js"

/** A transport on real streams whose client reads every answer at once (kept in `written`). */
const readingClient = () => {
  const input = new PassThrough()
  const written: Array<string> = []
  const output = new Writable({
    write: (chunk, _encoding, done) => {
      written.push(String(chunk))
      done()
    },
  })
  return { input, written, transport: new StdioTransport(input, output, () => undefined) }
}

describe("stdio flow control", () => {
  it("stops reading stdin while stdout is full, and reads again once it drains", async () => {
    const input = new PassThrough()
    let release: (() => void) | undefined
    // A client that does not read: every write waits until `release`.
    const output = new Writable({
      highWaterMark: 1024,
      write: (_chunk, _encoding, done) => {
        release = done
      },
    })
    const transport = new StdioTransport(input, output, () => undefined)
    const received: Array<unknown> = []
    transport.onmessage = (message) => {
      received.push(message)
      void transport.send({ jsonrpc: "2.0", id: received.length, result: { filler: "x".repeat(4096) } })
    }
    await transport.start()
    for (let id = 1; id <= 50; id++) input.write(`${JSON.stringify({ jsonrpc: "2.0", id, method: "ping" })}\n`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(received.length).toBeLessThan(50)
    expect(input.isPaused()).toBe(true)
    // The client reads again: the rest is read and answered.
    for (let i = 0; i < 200 && received.length < 50; i++) {
      release?.()
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(received.length).toBe(50)
    await transport.close()
  })

  it("is done sending an answer once its line is queued, though stdout is full: the answer's objects are let go", async () => {
    // The SDK holds an answer (a call_api result: the parsed body and its text copy) until
    // `send` is done; waiting for the drain kept every queued answer's objects besides its line.
    const input = new PassThrough()
    const output = new Writable({ highWaterMark: 1024, write: () => undefined })
    const transport = new StdioTransport(input, output, () => undefined)
    await transport.start()
    const sent = [1, 2, 3].map((id) =>
      transport.send({ jsonrpc: "2.0", id, result: { filler: "x".repeat(4096) } }).then(() => "sent"),
    )
    const soon = new Promise((resolve) => setTimeout(() => resolve("waited"), 100))
    expect(await Promise.race([Promise.all(sent).then(() => "sent"), soon])).toBe("sent")
    expect(output.writableLength).toBeGreaterThan(3 * 4096)
    expect(input.isPaused()).toBe(true)
    await transport.close()
  })

  it("reads no more requests while maxPendingRequests are unanswered, though stdout is not full yet", async () => {
    // Answers come some turns after their requests (as a tool call's do): a client that writes
    // thousands at once had them all read, and every answer held, before the first write filled stdout.
    const { input, written, transport } = readingClient()
    const received: Array<{ id: number }> = []
    const later: Array<() => void> = []
    transport.onmessage = (message) => {
      if (!("id" in message) || typeof message.id !== "number") return
      const { id } = message
      received.push({ id })
      later.push(() => void transport.send({ jsonrpc: "2.0", id, result: {} }))
    }
    await transport.start()
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ jsonrpc: "2.0", id: i + 1, method: "ping" }))
    input.write(`${lines.join("\n")}\n`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(received.length).toBe(maxPendingRequests)
    expect(input.isPaused()).toBe(true)
    // As answers go out, reading goes on: every request is read and answered, in order.
    for (let i = 0; i < 100 && written.length < 1000; i++) {
      for (const answer of later.splice(0)) answer()
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(written.length).toBe(1000)
    expect(received.map(({ id }) => id)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
    await transport.close()
  })

  it("counts a cancelled request as over: it gets no answer, and reading goes on", async () => {
    const input = new PassThrough()
    const output = new Writable({ write: (_chunk, _encoding, done) => done() })
    const transport = new StdioTransport(input, output, () => undefined)
    const received: Array<unknown> = []
    // Nothing is answered: the client cancels instead.
    transport.onmessage = (message) => {
      if ("id" in message) received.push(message)
    }
    await transport.start()
    const ping = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" })
    const cancel = (id: number) =>
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id } })
    const first = Array.from({ length: 100 }, (_, i) => ping(i + 1))
    const cancels = Array.from({ length: 100 }, (_, i) => cancel(i + 1))
    const then = Array.from({ length: maxPendingRequests }, (_, i) => ping(1000 + i))
    input.write(`${[...first, ...cancels, ...then].join("\n")}\n`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(received.length).toBe(100 + maxPendingRequests)
    await transport.close()
  })

  it("refuses a batch of more than maxPendingRequests messages whole", async () => {
    const { input, written, transport } = readingClient()
    const received: Array<unknown> = []
    transport.onmessage = (message) => {
      received.push(message)
    }
    await transport.start()
    // Batches are read only under a revision that has them.
    transport.setProtocolVersion("2025-03-26")
    const batch = Array.from({ length: maxPendingRequests + 1 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" }))
    input.write(`${JSON.stringify(batch)}\n`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(received).toEqual([])
    expect(written.length).toBe(1)
    expect(JSON.parse(written[0] ?? "{}").error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(/at most/),
    })
    await transport.close()
  })
})
