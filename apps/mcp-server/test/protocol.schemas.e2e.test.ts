/**
 * What clients' JSON Schema validators make of the tools, over real stdio
 * with the SDK's `Client`: every `inputSchema` and `outputSchema` compiles
 * in strict mode under draft-07 (the SDK's Ajv) and 2020-12 (the dialect
 * MCP names as the default, and the Python SDK's `jsonschema`), and every
 * result of every tool, success or error, passes what the clients check:
 * `callTool` (after `tools/list`, so it knows the output schemas) refuses
 * a success whose `structuredContent` fails the schema, and validates any
 * `structuredContent` an `isError` result carries, so errors carry none.
 */
import { type Emulator, sampleControl, start } from "@hyperauth/emulator"
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Ajv, type ValidateFunction } from "ajv"
import { Ajv2020 } from "ajv/dist/2020.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session
let tools: ReadonlyArray<Tool>
/** Each tool's output schema, compiled under 2020-12. */
const outputValidators = new Map<string, ValidateFunction>()

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  })
  // As a client does first: from here on callTool checks every result against its tool's output schema.
  tools = (await session.client.listTools()).tools
  const ajv = new Ajv2020({ strict: true, allErrors: true })
  for (const tool of tools) outputValidators.set(tool.name, ajv.compile(tool.outputSchema ?? {}))
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

/** Calls a tool as a client does, and checks its result as a strict 2020-12 validator would. */
const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => {
  const result = (await session.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) {
    expect(result.structuredContent, `${name}: an error carries no structuredContent`).toBeUndefined()
  } else {
    const validate = outputValidators.get(name)
    expect(validate?.(result.structuredContent), `${name}: ${JSON.stringify(validate?.errors)}`).toBe(true)
  }
  return result
}

describe("the tools' JSON Schemas", () => {
  it.each([
    ["draft-07", () => new Ajv({ strict: true, allErrors: true })],
    ["2020-12", () => new Ajv2020({ strict: true, allErrors: true })],
  ])("every input and output schema is a valid %s schema and compiles in strict mode", (_, make) => {
    const ajv = make()
    expect(tools.length).toBe(8)
    for (const tool of tools) {
      for (const schema of [tool.inputSchema, tool.outputSchema]) {
        expect(schema?.type, tool.name).toBe("object")
        expect(ajv.validateSchema(schema ?? {}), `${tool.name}: ${JSON.stringify(ajv.errors)}`).toBe(true)
        expect(() => ajv.compile(schema ?? {}), tool.name).not.toThrow()
      }
    }
  })
})

describe("every tool's results against its output schema", () => {
  it("hyperproof: login, get_token, refresh_token, call_api, introspect_token (not supported), logout", async () => {
    structured(await call("list_providers"))
    structured(await call("login", { provider: "hyperproof" }))
    structured(await call("get_token", { provider: "hyperproof" }))
    structured(await call("refresh_token", { provider: "hyperproof" }))
    const control = structured(
      await call("call_api", { provider: "hyperproof", method: "GET", path: `/v1/controls/${sampleControl.id}` }),
    )
    expect(control.status).toBe(200)
    structured(await call("call_api", { provider: "hyperproof", method: "HEAD", path: "/v1/nowhere" }))
    expect(errorCode(await call("introspect_token", { provider: "hyperproof" }))).toBe("not_supported")
    structured(await call("logout", { provider: "hyperproof" }))
    structured(await call("logout", { provider: "hyperproof" }))
    expect(errorCode(await call("get_token", { provider: "hyperproof" }))).toBe("not_logged_in")
    expect(errorCode(await call("call_api", { provider: "hyperproof", method: "GET", path: "/v1/me" }))).toBe(
      "not_logged_in",
    )
  })

  it("hyper: a pending device login, complete_login pending then authenticated, introspect_token", async () => {
    const pending = structured(await call("login", { provider: "hyper", scope: "read" }))
    expect(structured(await call("complete_login", { login_id: pending.login_id, wait_seconds: 0 })).status).toBe(
      "pending",
    )
    emulator.hyper.approve(String(pending.user_code))
    expect(structured(await call("complete_login", { login_id: pending.login_id, wait_seconds: 10 })).status).toBe(
      "authenticated",
    )
    expect(structured(await call("introspect_token", { provider: "hyper" })).active).toBe(true)
    // Read-only scope: no refresh token, an error result.
    expect(errorCode(await call("refresh_token", { provider: "hyper" }))).toBe("not_supported")
    structured(await call("list_providers"))
    expect(errorCode(await call("get_token", { provider: "hyper", reveal: true }))).toBe("forbidden")
  })

  it("hyperid and hyperline: pending authorization-code logins", async () => {
    expect(structured(await call("login", { provider: "hyperid" })).status).toBe("pending")
    expect(structured(await call("login", { provider: "hyperline" })).status).toBe("pending")
  })

  it("errors of every tool: invalid input, unknown logins, refused paths", async () => {
    // list_providers takes no input (and ignores what it is given, as every tool ignores unknown fields).
    for (const tool of tools.filter((t) => t.name !== "list_providers")) {
      expect(errorCode(await call(tool.name, { provider: "nope", login_id: "" })), tool.name).toBe("invalid_input")
    }
    expect(errorCode(await call("complete_login", { login_id: "login_nope" }))).toBe("unknown_login")
    expect(
      errorCode(await call("complete_login", { login_id: "login_nope", redirect_url: "http://127.0.0.1/x" })),
    ).toBe("unknown_login")
    structured(await call("login", { provider: "hyperproof", account: "paths" }))
    expect(
      errorCode(await call("call_api", { provider: "hyperproof", account: "paths", method: "GET", path: "//evil" })),
    ).toBe("invalid_input")
  })
})
