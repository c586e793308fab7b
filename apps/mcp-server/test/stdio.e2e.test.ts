/**
 * The stdio framing, over real stdio in raw lines: a line past the 10 MiB
 * limit is dropped and said on stderr, and the server serves on (the SDK's
 * transport closed, and the server exited with 0 in silence); a line that
 * is not JSON, or not a JSON-RPC message, is answered as JSON-RPC says
 * (-32700, -32600) and logged in one line that never quotes it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { maxLineBytes } from "../src/stdio.js"
import { type RawSession, rawSession } from "./support/raw.js"

let raw: RawSession
/** Text that must never be echoed: in a line, it marks the line's content. */
const marker = "Qz7notechoedVx9"

const pingAnswered = async (id: string) => {
  await raw.send({ jsonrpc: "2.0", id, method: "ping" })
  expect(await raw.answer(id)).toHaveProperty("result")
}

/** The errors answered without an id since `from`. */
const idless = (from: number) =>
  raw
    .messages()
    .slice(from)
    .filter((m) => !("id" in m) && "error" in m)
    .map((m) => (m.error as { code: number }).code)

beforeAll(async () => {
  raw = await rawSession({ HYPERAUTH_STORE: "memory" })
})

afterAll(async () => {
  await raw?.close()
})

describe("stdio framing", () => {
  it("the limit is the SDK's, 10 MiB", () => {
    expect(maxLineBytes).toBe(10 * 1024 * 1024)
  })

  it("a line that is not JSON is answered -32700 and logged without its content", async () => {
    const from = raw.messages().length
    const before = raw.stderr().length
    await raw.send(`not json ${marker}`)
    await raw.send(Buffer.from([0xff, 0xfe, 0x00]))
    await raw.until(() => idless(from).length === 2)
    expect(idless(from)).toEqual([-32700, -32700])
    const logged = raw.stderr().slice(before)
    expect(logged.match(/not JSON/g)?.length, logged).toBe(2)
    expect(logged).not.toContain(marker)
    await pingAnswered("after-garbage")
  })

  it("JSON that is not a JSON-RPC message is -32600, with its id when it has one", async () => {
    const from = raw.messages().length
    const before = raw.stderr().length
    await raw.send(`[1, 2, "${marker}"]`)
    await raw.send('{"jsonrpc":"2.0"}')
    await raw.send(`{"jsonrpc":"2.0","id":77,"method":5,"x":"${marker}"}`)
    const withId = await raw.answer(77)
    expect((withId.error as { code: number }).code).toBe(-32600)
    await raw.until(() => idless(from).length === 2)
    expect(idless(from)).toEqual([-32600, -32600])
    const logged = raw.stderr().slice(before)
    expect(logged.match(/not a JSON-RPC message/g)?.length, logged).toBe(3)
    expect(logged).not.toContain(marker)
    await pingAnswered("after-invalid")
  })

  it("a message past 10 MiB is dropped and said on stderr; the server serves on", async () => {
    const before = raw.stderr().length
    await raw.send({
      jsonrpc: "2.0",
      id: "big",
      method: "tools/call",
      params: { name: "list_providers", arguments: { pad: marker.repeat((11 * 1024 * 1024) / marker.length) } },
    })
    await raw.until(() => raw.stderr().length > before)
    const logged = raw.stderr().slice(before)
    expect(logged).toMatch(/longer than 10 MiB/)
    expect(logged).not.toContain(marker)
    expect(logged.length).toBeLessThan(400)
    await pingAnswered("after-big")
    expect(raw.exit()).toBeUndefined()
  })

  it("a request past 10 MiB is answered -32600 under its id, first or last in the line, saying the limit", async () => {
    const pad = marker.repeat((11 * 1024 * 1024) / marker.length)
    // As most clients write it, id first; and as the SDK's Client does, id last.
    await raw.send({ jsonrpc: "2.0", id: "big-first", method: "tools/call", params: { name: "x", arguments: { pad } } })
    await raw.send({ method: "tools/call", params: { name: "x", arguments: { pad } }, jsonrpc: "2.0", id: 4242 })
    for (const id of ["big-first", 4242]) {
      const answer = await raw.answer(id)
      expect((answer.error as { code: number }).code).toBe(-32600)
      expect((answer.error as { message: string }).message).toMatch(/10 MiB/)
      expect(JSON.stringify(answer)).not.toContain(marker)
    }
    await pingAnswered("after-big-answered")
  })

  it("an id that is not the request's own is not taken from a line past 10 MiB", async () => {
    const from = raw.messages().length
    const pad = marker.repeat((11 * 1024 * 1024) / marker.length)
    // The id is a member of params, not of the message; and a client's answer is no request.
    await raw.send({ method: "tools/call", jsonrpc: "2.0", params: { pad, id: 991 } })
    await raw.send({ jsonrpc: "2.0", id: 992, result: { pad } })
    await pingAnswered("after-big-nested")
    const answered = raw.messages().slice(from)
    expect(answered.some((m) => m.id === 991 || m.id === 992)).toBe(false)
  })

  it("a line that starts with a UTF-8 byte order mark is read as the message after it", async () => {
    await raw.send(`\ufeff${JSON.stringify({ jsonrpc: "2.0", id: "bom", method: "ping" })}`)
    expect(await raw.answer("bom")).toHaveProperty("result")
  })

  it("a line that never ends is skipped in bounded memory, up to its newline", async () => {
    const before = raw.stderr().length
    const chunk = Buffer.alloc(1024 * 1024, 0x61)
    for (let i = 0; i < 30; i++) await raw.write(chunk)
    expect(raw.exit()).toBeUndefined()
    // The newline ends the dropped line: the next one is read again.
    await raw.send("")
    await pingAnswered("after-endless")
    expect(
      raw
        .stderr()
        .slice(before)
        .match(/longer than 10 MiB/g)?.length,
    ).toBe(1)
    expect(raw.exit()).toBeUndefined()
  })

  it("a message just under the limit is served", async () => {
    const pad = "a".repeat(maxLineBytes - 200)
    await raw.send({
      jsonrpc: "2.0",
      id: "under",
      method: "tools/call",
      params: { name: "list_providers", arguments: { pad } },
    })
    const answer = await raw.answer("under", 20_000)
    expect(answer).toHaveProperty("result")
  })

  it("a message of exactly 10 MiB is served, whether its line ends in LF or CRLF", async () => {
    for (const [id, end] of [
      ["exact-lf", "\n"],
      ["exact-crlf", "\r\n"],
    ] as const) {
      const head = JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "list_providers", arguments: { pad: "" } },
      })
      const line = head.replace('"pad":""', `"pad":"${"a".repeat(maxLineBytes - head.length)}"`)
      expect(Buffer.byteLength(line)).toBe(maxLineBytes)
      await raw.write(Buffer.from(`${line}${end}`))
      expect(await raw.answer(id, 20_000)).toHaveProperty("result")
    }
  })

  it("a JSON-RPC batch (MCP 2025-03-26: implementations MUST support receiving them) has each request answered", async () => {
    // Batches are of 2025-03-26 only: 2025-06-18 removed them (see protocol.e2e.test.ts).
    const batches = await rawSession({ HYPERAUTH_STORE: "memory" }, { protocolVersion: "2025-03-26" })
    try {
      await batches.send([
        { jsonrpc: "2.0", id: "batch-ping", method: "ping" },
        { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "none", progress: 1 } },
        { jsonrpc: "2.0", id: "batch-list", method: "tools/list" },
      ])
      expect(await batches.answer("batch-ping")).toHaveProperty("result")
      expect(await batches.answer("batch-list")).toHaveProperty("result.tools")
      const errors = () => batches.messages().filter((m) => "error" in m)
      expect(errors()).toEqual([])
      // An empty batch is no request: -32600 without an id, as JSON-RPC says.
      await batches.send("[]")
      await batches.until(() => errors().length === 1)
      expect(errors()).toMatchObject([{ error: { code: -32600 } }])
      expect(errors()[0]).not.toHaveProperty("id")
    } finally {
      await batches.close()
    }
  })
})
