/**
 * The stdio transport's flow control, in process on real streams: while
 * the client does not read the answers (stdout is full), the server reads
 * no more requests, so a client that floods it without reading cannot make
 * it hold every answer in memory.
 */
import { PassThrough, Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { StdioTransport } from "../src/stdio.js"

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
})
