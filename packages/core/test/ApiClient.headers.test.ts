/**
 * `ApiClient.validateHeaders` across generated names and values: whatever
 * it lets through, fetch sends as it is; whatever fetch would refuse or
 * split, and every hop-by-hop header, it refuses as `InvalidInput` without
 * quoting the value.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc } from "effect"
import * as ApiClient from "../src/ApiClient.js"

const check = (name: string, value: string) =>
  Effect.runSync(
    Effect.either(
      ApiClient.validateHeaders(
        "hyperproof",
        HttpClientRequest.get("https://api.example/v1").pipe(HttpClientRequest.setHeader(name, value)),
      ),
    ),
  )

/** Whether fetch takes the header and keeps its value as it is (apart from the trimming it does). */
const fetchKeeps = (name: string, value: string): boolean => {
  try {
    return new Headers([[name, value]]).get(name) === value.replace(/^[\t ]+|[\t ]+$/g, "")
  } catch {
    return false
  }
}

const anyText = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string())

describe("ApiClient.validateHeaders", () => {
  it("lets through only what fetch sends as it is", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom("x-trace", "Accept", "x"), anyText), anyText, (name, value) => {
        if (Either.isRight(check(name, value)))
          expect(fetchKeeps(name, value), JSON.stringify([name, value])).toBe(true)
      }),
    )
  })

  it("refuses CR, LF, control characters and characters beyond Latin-1, quoting no value", () => {
    const bad = fc.oneof(
      fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 9),
      fc.constant(0x7f),
      fc.integer({ min: 0x100, max: 0xd7ff }),
    )
    fc.assert(
      fc.property(fc.string(), bad, fc.string(), (before, code, after) => {
        const value = `secret-${before}${String.fromCharCode(code)}${after}`
        const result = check("x-api-key", value)
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left.code).toBe("invalid_input")
          expect(result.left.message).not.toContain("secret-")
        }
      }),
    )
  })

  it("refuses hop-by-hop and framing headers in any letter case", () => {
    const names = [
      "transfer-encoding",
      "connection",
      "content-length",
      "upgrade",
      "te",
      "keep-alive",
      "trailer",
      "http2-settings",
      "proxy-authorization",
      "proxy-x",
    ]
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        (name, upper) => {
          const cased = [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join("")
          expect(Either.isLeft(check(cased, "1"))).toBe(true)
        },
      ),
    )
  })
})
