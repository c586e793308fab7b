/**
 * `StdioTransport` on its own, fed lines past the 10 MiB limit: the id a
 * refusal is answered under comes from the line's first and last bytes,
 * wherever the chunks that carried them were cut, and text that is no
 * valid id gets no answer, and ends nothing: the transport reads on.
 */
import { PassThrough, Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { StdioTransport } from "../src/stdio.js"

const MiB = 1024 * 1024
const big = "x".repeat(11 * MiB)

const setUp = async () => {
  const input = new PassThrough()
  const answered: Array<unknown> = []
  const output = new Writable({
    write: (chunk, _encoding, done) => {
      for (const line of String(chunk).split("\n")) if (line !== "") answered.push(JSON.parse(line).id)
      done()
    },
  })
  const transport = new StdioTransport(input, output, () => undefined)
  const read: Array<unknown> = []
  transport.onmessage = (message) => read.push(message)
  await transport.start()
  /** Writes each chunk, then waits until the transport has read them. */
  const feed = async (...chunks: ReadonlyArray<string | Buffer>) => {
    for (const chunk of chunks) input.write(chunk)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { answered, read, feed }
}

describe("a request past 10 MiB", () => {
  it.each([
    ["a number with a leading zero", `{"id":01,"method":"tools/call","params":{"s":"${big}"}}\n`],
    ["a string with a raw control character", `{"method":"tools/call","params":{"s":"${big}"},"id":"a\tb"}\n`],
  ])("whose id is no JSON id (%s) gets no answer, and the transport reads on", async (_, line) => {
    const { answered, read, feed } = await setUp()
    await feed(line, '{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
    expect(answered).toEqual([])
    expect(read).toHaveLength(1)
  })

  it("is answered under its id as written, non-ASCII included", async () => {
    const { answered, feed } = await setUp()
    await feed(`{"jsonrpc":"2.0","id":"é-1","method":"tools/call","params":{"s":"${big}"}}\n`)
    expect(answered).toEqual(["é-1"])
  })

  it("is answered when its id comes in a chunk of its own, after the one that crossed the limit", async () => {
    const { answered, feed } = await setUp()
    await feed(`{"method":"tools/call","params":{"s":"${"x".repeat(10 * MiB - 40)}"},`, '"id":7', "}\n")
    expect(answered).toEqual([7])
  })

  it("is answered when its id ends a chunk that crossed the limit by a few bytes", async () => {
    const { answered, feed } = await setUp()
    await feed(`{"method":"tools/call","params":{"s":"${"x".repeat(10 * MiB)}"},`, '"id":8}\n')
    expect(answered).toEqual([8])
  })

  it("is answered after a byte order mark", async () => {
    const { answered, feed } = await setUp()
    const line = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"s":"${big}"}}\n`
    await feed(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(line)]))
    expect(answered).toEqual([3])
  })
})

describe("around the limit", () => {
  it("a message of exactly 10 MiB after a byte order mark is read, as the mark is no part of it", async () => {
    const { answered, read, feed } = await setUp()
    const head = '{"jsonrpc":"2.0","id":8,"method":"ping","params":{"_meta":{"pad":""}}}'
    const line = head.replace('"pad":""', `"pad":"${"a".repeat(10 * MiB - head.length)}"`)
    await feed(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${line}\r\n`)]))
    expect(answered).toEqual([])
    expect(read).toHaveLength(1)
  })

  it("a line past 10 MiB naming two ids, first and last, is answered under neither", async () => {
    const { answered, feed } = await setUp()
    await feed(
      `{"id":1,"method":"tools/call","params":{"s":"${big}"},"id":2}\n`,
      '{"jsonrpc":"2.0","id":3,"method":"ping"}\n',
    )
    expect(answered).toEqual([])
  })
})

describe("a message that is no JSON-RPC message", () => {
  it("is answered under its id only when it is a request: a client's broken answer names the server's request", async () => {
    const { answered, feed } = await setUp()
    await feed(
      '{"jsonrpc":"2.0","id":5,"result":[]}\n',
      '{"jsonrpc":"2.0","id":6,"error":{"code":1.5,"message":"x"}}\n',
    )
    await feed('{"jsonrpc":"2.0","id":7,"method":5}\n')
    expect(answered).toEqual([undefined, undefined, 7])
  })
})
