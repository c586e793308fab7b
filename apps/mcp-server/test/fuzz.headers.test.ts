/**
 * `call_api` headers across generated names and values, over one real stdio
 * session: a header that cannot go on the wire as given (CR, LF or another
 * control character, a character beyond Latin-1, a hop-by-hop or framing
 * header, in `headers` or through `company_id`) is `invalid_input` at once,
 * nothing reaches the provider and nothing is retried; a header that can
 * go is sent as it is.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured, textOf } from "./support/harness.js"

let emulator: Emulator
let session: Session

beforeAll(async () => {
  emulator = await start()
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  })
  structured(await session.call("login", { provider: "hyperproof" }))
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

const tokenChars = "!#$%&'*+.^_`|~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
const headerName = fc
  .array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 12 })
  .map((chars) => `x-${chars.join("")}`)
/** Text fetch sends as it is: tab, visible ASCII, space, Latin-1 (no leading or trailing space, which fetch trims). */
const goodValue = fc
  .array(fc.oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 16 })
  .map((codes) => String.fromCharCode(...codes))
/** A character no header value may hold as it is. */
const badChar = fc.oneof(
  fc.constantFrom("\r", "\n", "\r\n", "\u0000", "\u007f", "\u0085\u2028", "é\u0100", "😀"),
  fc
    .integer({ min: 0x00, max: 0x1f })
    .filter((c) => c !== 0x09)
    .map((c) => String.fromCharCode(c)),
  fc
    .integer({ min: 0x100, max: 0xffff })
    .filter((c) => c < 0xd800 || c > 0xdfff)
    .map((c) => String.fromCharCode(c)),
)
const badValue = fc.tuple(goodValue, badChar, goodValue).map(([before, bad, after]) => `${before}${bad}${after}`)
/** Hop-by-hop and framing headers, in any letter case. */
const connectionHeader = fc
  .tuple(
    fc.oneof(
      fc.constantFrom("transfer-encoding", "connection", "content-length", "upgrade", "te", "keep-alive", "trailer"),
      headerName.map((name) => `proxy-${name}`),
    ),
    fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  )
  .map(([name, upper]) => [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join(""))

const hyperproofApi = () => emulator.count({ origin: "hyperproofApi" })

describe("call_api headers", () => {
  it("refuses every header that cannot go on the wire, sending nothing and not retrying", async () => {
    const refusals = fc.oneof(
      fc.record({ headers: fc.tuple(headerName, badValue).map(([n, v]) => ({ [n]: v })) }),
      fc.record({ headers: fc.tuple(connectionHeader, goodValue).map(([n, v]) => ({ [n]: v })) }),
      fc.record({ provider: fc.constant("hyperline"), company_id: badValue }),
    )
    await fc.assert(
      fc.asyncProperty(refusals, async (args) => {
        const before = emulator.count({})
        const result = await session.call("call_api", {
          provider: "hyperproof",
          method: "GET",
          path: "/v1/controls",
          ...args,
        })
        expect(errorCode(result), JSON.stringify(args)).toBe("invalid_input")
        expect(textOf(result)).toMatch(/Nothing was sent/)
        expect(emulator.count({})).toBe(before)
      }),
    )
  })

  it("sends a header that can go on the wire as it is", async () => {
    await fc.assert(
      fc.asyncProperty(headerName, goodValue, async (name, value) => {
        const before = hyperproofApi()
        const result = await session.call("call_api", {
          provider: "hyperproof",
          method: "GET",
          path: "/v1/controls",
          headers: { [name]: value },
        })
        expect(errorCode(result), textOf(result)).toBeUndefined()
        expect(hyperproofApi()).toBe(before + 1)
      }),
      { numRuns: 20 },
    )
  })
})
