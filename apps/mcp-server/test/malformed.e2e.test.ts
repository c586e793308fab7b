/**
 * Malformed tool calls over real stdio, in raw JSON-RPC lines: arguments
 * that are not an object are an `invalid_input` result, a `tools/call`
 * without a tool name a short `-32602`, and arguments nested deeper than
 * `maxArgumentDepth` are refused as `invalid_input` before anything walks
 * them recursively (a body 5000 levels deep overflowed `JSON.stringify`'s
 * stack). The server serves on afterwards.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { maxArgumentDepth } from "../src/tool.js"
import { connect, emulatorEnv, errorCode, type Session, textOf } from "./support/harness.js"
import { type RawSession, rawSession } from "./support/raw.js"

let emulator: Emulator
let raw: RawSession
let session: Session
let nextId = 1

/** A `tools/call` request line with `params` spelled as given. */
const callLine = (id: number, params: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`

/** A JSON object `depth` levels deep: `{"a":{"a":…1…}}`. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`

interface ToolResult {
  readonly isError?: boolean
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>
}

const resultOf = (answer: Record<string, unknown>): ToolResult => {
  expect(answer, JSON.stringify(answer).slice(0, 500)).toHaveProperty("result")
  return answer.result as ToolResult
}
const firstLine = (result: ToolResult) => result.content[0]?.text?.split("\n")[0] ?? ""

const ask = async (params: string) => {
  const id = nextId++
  await raw.send(callLine(id, params))
  return raw.answer(id)
}

beforeAll(async () => {
  emulator = await start()
  const env = { ...emulatorEnv(emulator), HYPERAUTH_STORE: "memory" }
  raw = await rawSession(env)
  await ask('{"name":"login","arguments":{"provider":"hyperproof"}}')
  session = await connect(env)
  await session.call("login", { provider: "hyperproof" })
})

afterAll(async () => {
  await raw?.close()
  await session?.close()
  await emulator?.close()
})

describe("malformed tool calls", () => {
  it.each([
    ["null", "null"],
    ["a string", '"str"'],
    ["an array", "[1,2]"],
    ["a number", "5"],
  ])("arguments that are %s are invalid_input naming arguments, not -32603", async (_, args) => {
    for (const tool of ["call_api", "list_providers", "login"]) {
      const result = resultOf(await ask(`{"name":"${tool}","arguments":${args}}`))
      expect(result.isError).toBe(true)
      expect(firstLine(result)).toMatch(/^invalid_input: arguments must be an object\b/)
      expect(firstLine(result)).toContain(tool)
    }
  })

  it.each([
    ["no params", undefined],
    ["params without a name", '{"arguments":{}}'],
    ["a name that is not a string", '{"name":5,"arguments":{}}'],
  ])("a tools/call with %s is a short -32602, not a zod dump", async (_, params) => {
    const id = nextId++
    await raw.send(params === undefined ? `{"jsonrpc":"2.0","id":${id},"method":"tools/call"}` : callLine(id, params))
    const answer = await raw.answer(id)
    const error = answer.error as { code: number; message: string }
    expect(error.code).toBe(-32602)
    expect(error.message).toContain("name")
    expect(error.message.length).toBeLessThan(200)
    expect(error.message).not.toContain("[")
  })

  it.each([
    ["tools/list", '{"cursor":5}', "params.cursor"],
    ["tools/list", '{"cursor":{"a":[1,2,3]}}', "params.cursor"],
    ["tools/call", '{"name":"list_providers","arguments":{},"task":"soon"}', "params.task"],
    ["tools/call", '{"name":"list_providers","arguments":{},"task":{"ttl":"long"}}', "params.task.ttl"],
    [
      "initialize",
      '{"protocolVersion":5,"capabilities":{},"clientInfo":{"name":"x","version":"1"}}',
      "params.protocolVersion",
    ],
    ["initialize", '{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":7}}', "params.clientInfo"],
    // Refused by the JSON-RPC request schema itself, before any method's: still the params' fault.
    ["ping", "[]", "params"],
    ["tools/list", '{"_meta":5}', "params._meta"],
    [
      "tools/call",
      '{"name":"list_providers","arguments":{},"_meta":{"progressToken":{}}}',
      "params._meta.progressToken",
    ],
    [
      "tools/list",
      '{"_meta":{"io.modelcontextprotocol/related-task":5}}',
      "params._meta.io.modelcontextprotocol/related-task",
    ],
  ])("%s with params %s is a short -32602 naming %s, not -32603 with a zod dump", async (method, params, field) => {
    const id = nextId++
    // An initialize on a session that has one is refused as such (-32600): its params are checked on a new one.
    const session =
      method === "initialize" ? await rawSession({ HYPERAUTH_STORE: "memory" }, { protocolVersion: null }) : raw
    await session.send(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}`)
    const error = (await session.answer(id)).error as { code: number; message: string }
    if (session !== raw) await session.close()
    expect(error.code).toBe(-32602)
    expect(error.message).toContain(method)
    expect(error.message).toContain(field)
    expect(error.message.length).toBeLessThan(300)
    expect(error.message).not.toMatch(/[[\]{}\n]/)
  })

  it("a request with a member JSON-RPC has not is -32600, whatever its params", async () => {
    const id = nextId++
    await raw.send(`{"jsonrpc":"2.0","id":${id},"method":"ping","params":[],"extra":1}`)
    expect(((await raw.answer(id)).error as { code: number }).code).toBe(-32600)
  })

  it("tools/list with a cursor this server never gave is -32602 (MCP: invalid cursors are an error)", async () => {
    const id = nextId++
    await raw.send({ jsonrpc: "2.0", id, method: "tools/list", params: { cursor: "page-2" } })
    const error = (await raw.answer(id)).error as { code: number; message: string }
    expect(error.code).toBe(-32602)
    expect(error.message).toContain("cursor")
    expect(error.message).not.toContain("page-2")
  })

  it("a hostile key in bad params is not quoted back", async () => {
    const id = nextId++
    const key = `k${"\u001b[31m".repeat(50)}`
    await raw.send({ jsonrpc: "2.0", id, method: "tools/list", params: { cursor: { [key]: 1 } } })
    const error = (await raw.answer(id)).error as { code: number; message: string }
    expect(error.code).toBe(-32602)
    expect(error.message).not.toContain("\u001b")
  })

  it("params that are not an object make no valid JSON-RPC request: -32600 with the request's id", async () => {
    const answer = await ask('"call_api"')
    expect((answer.error as { code: number; message: string }).code).toBe(-32600)
  })

  it("an unknown tool with malformed arguments is still an unknown tool (-32602)", async () => {
    const answer = await ask('{"name":"nope","arguments":null}')
    expect((answer.error as { code: number; message: string }).code).toBe(-32602)
  })

  it.each([5_000, 20_000])("a call_api body %i levels deep is invalid_input naming the limit", async (depth) => {
    const result = resultOf(
      await ask(
        `{"name":"call_api","arguments":{"provider":"hyperproof","method":"POST","path":"/x","body":${nested(depth)}}}`,
      ),
    )
    expect(firstLine(result)).toBe(
      `invalid_input: body is nested deeper than ${maxArgumentDepth} levels. Fix the arguments and call call_api again.`,
    )
  })

  it("login options nested too deep are invalid_input, in an array as well", async () => {
    const options = resultOf(await ask(`{"name":"login","arguments":{"provider":"hyper","options":${nested(8_000)}}}`))
    expect(firstLine(options)).toMatch(/^invalid_input: options is nested deeper than 64 levels/)
    const array = resultOf(
      await ask(
        `{"name":"login","arguments":{"provider":"hyper","options":{"a":${"[".repeat(9_000)}${"]".repeat(9_000)}}}}`,
      ),
    )
    expect(firstLine(array)).toMatch(/^invalid_input: options is nested deeper than 64 levels/)
  })

  it("a body exactly at the limit is sent; one level more is refused", async () => {
    let body: unknown = 1
    for (let i = 0; i < maxArgumentDepth; i++) body = { a: body }
    const sent = emulator.count({ origin: "hyperproofApi" })
    const atLimit = await session.call("call_api", { provider: "hyperproof", method: "POST", path: "/v1/me", body })
    expect(errorCode(atLimit), textOf(atLimit)).not.toBe("invalid_input")
    expect(emulator.count({ origin: "hyperproofApi" })).toBe(sent + 1)
    const over = await session.call("call_api", {
      provider: "hyperproof",
      method: "POST",
      path: "/v1/me",
      body: { a: body },
    })
    expect(errorCode(over), textOf(over)).toBe("invalid_input")
    expect(emulator.count({ origin: "hyperproofApi" })).toBe(sent + 1)
  })

  it("the server is still up and nothing reached stderr as a crash", async () => {
    await raw.send({ jsonrpc: "2.0", id: "ping", method: "ping" })
    expect(await raw.answer("ping")).toHaveProperty("result")
    expect(raw.exit()).toBeUndefined()
    expect(raw.stderr()).not.toMatch(/Maximum call stack|RangeError/)
  })
})
