/**
 * Arbitrary arguments to every MCP tool over one real stdio session: each
 * call ends, within a bound, as a result that matches the tool's output
 * schema (the SDK's Client checks it) or as an error result with a stable
 * code from the contract; no token or client secret is ever in it, and the
 * server is still up afterwards.
 */
import {
  defaultHyperIdClient,
  defaultHyperlineClient,
  defaultHyperproofClient,
  type Emulator,
  start,
} from "@hyperauth/emulator"
import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { toolErrorCodes } from "../src/errors.js"
import { connect, emulatorEnv, errorCode, freePort, type Session, textOf } from "./support/harness.js"

/** The error codes of the MCP contract (docs/mcp-tools.md). */
const contractCodes: ReadonlyArray<string> = toolErrorCodes

const clientSecrets = [
  defaultHyperIdClient.clientSecret,
  defaultHyperlineClient.clientSecret,
  defaultHyperproofClient.clientSecret,
]
/** The shape of every token the emulator issues. */
const issuedToken = /_(?:at|rt)_[\w-]{32}/

let emulator: Emulator
let session: Session
let tools: ReadonlyArray<Tool>
let loginId = ""

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.1 } })
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  })
  // Logins for calls to get past validation: hyperproof, and hyper through an
  // approved device login (its login id joins the strings below).
  await session.call("login", { provider: "hyperproof" })
  const device = (await session.call("login", { provider: "hyper" })).structuredContent as {
    login_id: string
    user_code: string
  }
  emulator.hyper.approve(device.user_code)
  loginId = device.login_id
  await session.call("complete_login", { login_id: loginId, wait_seconds: 10 })
  tools = (await session.client.listTools()).tools
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

/** Strings an agent might send, well-meant or not. */
const strings = fc.oneof(
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.constant(null).map(() => loginId) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "default",
      "hyper",
      "hyperproof",
      "/v1/me",
      "/v1/controls/ctl_access_review",
      "//127.0.0.1:1/x",
      "/../v1/me",
      "/v1/%2e%2e/x",
      "/a\\b",
      "http://127.0.0.1:1/",
      "Authorization",
      "Cookie",
      "login_0000",
      "x".repeat(5_000),
      "\u0000",
      "😀",
    ),
  },
)

interface JsonSchema {
  readonly type?: string | ReadonlyArray<string>
  readonly enum?: ReadonlyArray<unknown>
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
  readonly items?: JsonSchema
  readonly minimum?: number
  readonly maximum?: number
}

/** Values of the schema's shape, and near misses of it. */
const valuesOf = (schema: JsonSchema): fc.Arbitrary<unknown> => {
  if (schema.enum !== undefined) {
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: strings })
  }
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(valuesOf))
  switch (schema.type) {
    case "string":
      return strings
    case "integer":
    case "number":
      return fc.oneof(
        fc.integer({ min: (schema.minimum ?? 0) - 2, max: (schema.maximum ?? 100) + 2 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      )
    case "boolean":
      return fc.boolean()
    case "array":
      return fc.array(schema.items === undefined ? fc.jsonValue() : valuesOf(schema.items), { maxLength: 3 })
    case "object":
      return schema.properties === undefined
        ? fc.dictionary(strings, fc.oneof(strings, fc.jsonValue()), { maxKeys: 3 })
        : argumentsOf(schema)
    default:
      return fc.jsonValue()
  }
}

/**
 * The schema's properties, each usually of its type, sometimes any JSON at
 * all; required ones usually present, optional ones sometimes.
 */
const argumentsOf = (schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(
      fc.record(
        Object.fromEntries(
          Object.entries(schema.properties ?? {}).map(([name, property]) => [
            name,
            fc.oneof({ weight: 6, arbitrary: valuesOf(property) }, { weight: 1, arbitrary: fc.jsonValue() }),
          ]),
        ),
        { requiredKeys: [] },
      ),
      fc.record(
        Object.fromEntries((schema.required ?? []).map((name) => [name, valuesOf(schema.properties?.[name] ?? {})])),
      ),
      fc.boolean(),
    )
    .map(([some, required, keepRequired]) => (keepRequired ? { ...some, ...required } : some))

/** Values an agent that read the schema would send. */
const plausibleValuesOf = (schema: JsonSchema): fc.Arbitrary<unknown> => {
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(plausibleValuesOf))
  switch (schema.type) {
    case "string":
      return fc.oneof(
        { weight: 3, arbitrary: fc.constant("default") },
        { weight: 2, arbitrary: fc.constantFrom("/v1/controls/ctl_access_review", "/v1/me", "/v1/customers") },
        { weight: 1, arbitrary: fc.constant(null).map(() => loginId) },
      )
    case "integer":
    case "number":
      return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 5, 5) })
    case "boolean":
      return fc.boolean()
    default:
      return fc.constant(undefined)
  }
}

const plausibleArgumentsOf = (schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(
    Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, p]) => [name, plausibleValuesOf(p)])),
    { requiredKeys: [...(schema.required ?? [])] },
  )

const toolArguments = (tool: Tool) =>
  fc.oneof(
    { weight: 3, arbitrary: plausibleArgumentsOf(tool.inputSchema as JsonSchema) },
    { weight: 3, arbitrary: argumentsOf(tool.inputSchema as JsonSchema) },
    { weight: 1, arbitrary: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }) },
  )

// logout last: it ends the logins the others use.
const toolNames = [
  "list_providers",
  "login",
  "complete_login",
  "get_token",
  "refresh_token",
  "introspect_token",
  "call_api",
  "logout",
]

describe("fuzz: arbitrary arguments to every tool over stdio", () => {
  it.each(toolNames)(
    "%s: a valid result or an error with a contract code, never a secret",
    async (name) => {
      const tool = tools.find((t) => t.name === name)
      expect(tool, `${name} is listed`).toBeDefined()
      if (tool === undefined) return
      let succeeded = 0
      await fc.assert(
        fc.asyncProperty(toolArguments(tool), async (args) => {
          // The Client rejects a result that does not match the output schema, and a call that takes too long.
          const result = await session.client.callTool({ name, arguments: args }, undefined, { timeout: 15_000 })
          const text = textOf(result as Parameters<typeof textOf>[0])
          if (result.isError === true) {
            expect(contractCodes).toContain(errorCode(result as Parameters<typeof errorCode>[0]))
          } else {
            expect(result.structuredContent).toBeDefined()
            succeeded++
          }
          const everything = `${text}\n${JSON.stringify(result.structuredContent ?? {})}`
          for (const secret of clientSecrets) expect(everything).not.toContain(secret)
          expect(everything).not.toMatch(issuedToken)
        }),
      )
      // The arguments got past validation often enough to test the tool itself.
      expect(succeeded).toBeGreaterThan(0)
      // Still serving.
      expect((await session.client.listTools()).tools.length).toBe(tools.length)
    },
    600_000,
  )
})
