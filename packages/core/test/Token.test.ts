import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option, Redacted, Schema, TestClock } from "effect"
import { TokenResponse } from "../src/internal/wire.js"
import * as Token from "../src/Token.js"

const decode = Schema.decodeUnknown(TokenResponse)

describe("Token", () => {
  it.effect("expires_in may be a number or a numeric string; expiry is absolute from the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_000_000)
      for (const expiresIn of [3600, "3600"]) {
        const token = yield* Token.fromResponse(yield* decode({ access_token: "a", expires_in: expiresIn }))
        assert.strictEqual(DateTime.toEpochMillis(token.expiresAt ?? DateTime.unsafeMake(0)), 1_000_000 + 3_600_000)
      }
    }),
  )

  it.effect("rejects a non-numeric expires_in", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(decode({ access_token: "a", expires_in: "soon" }))
      assert.isTrue(result._tag === "Left")
    }),
  )

  it.effect("token_type is accepted in any case and normalised", () =>
    Effect.gen(function* () {
      for (const tokenType of ["bearer", "BEARER", "Bearer", undefined]) {
        const token = yield* Token.fromResponse(yield* decode({ access_token: "a", token_type: tokenType }))
        assert.strictEqual(token.tokenType, "Bearer")
      }
    }),
  )

  it.effect("a refresh without refresh_token keeps the old one; a new one replaces it", () =>
    Effect.gen(function* () {
      const first = yield* Token.fromResponse(
        yield* decode({ access_token: "a1", refresh_token: "r1", refresh_expires_in: 100, scope: "read" }),
      )
      const kept = yield* Token.fromResponse(yield* decode({ access_token: "a2", expires_in: 60 }), first)
      assert.strictEqual(Redacted.value(kept.accessToken), "a2")
      assert.strictEqual(kept.refreshToken && Redacted.value(kept.refreshToken), "r1")
      assert.deepStrictEqual(kept.refreshExpiresAt, first.refreshExpiresAt)
      assert.strictEqual(kept.scope, "read")
      const rotated = yield* Token.fromResponse(yield* decode({ access_token: "a3", refresh_token: "r2" }), kept)
      assert.strictEqual(rotated.refreshToken && Redacted.value(rotated.refreshToken), "r2")
      assert.isUndefined(rotated.refreshExpiresAt)
    }),
  )

  it.effect("expiresWithin, expiresIn and canRefresh follow the clock", () =>
    Effect.gen(function* () {
      const token = yield* Token.fromResponse(
        yield* decode({ access_token: "a", expires_in: 120, refresh_token: "r", refresh_expires_in: 300 }),
      )
      const at = (seconds: number) => DateTime.unsafeMake(seconds * 1000)
      assert.isFalse(token.expiresWithin(at(0), "60 seconds"))
      assert.isTrue(token.expiresWithin(at(60), "60 seconds"))
      assert.deepStrictEqual(token.expiresIn(at(20)), Option.some(100))
      assert.deepStrictEqual(token.expiresIn(at(500)), Option.some(0))
      assert.isTrue(token.canRefresh(at(299)))
      assert.isFalse(token.canRefresh(at(300)))
    }),
  )

  it.effect("refresh_expires_in 0 (Keycloak's offline token) is a refresh token that does not expire", () =>
    Effect.gen(function* () {
      const token = yield* Token.fromResponse(
        yield* decode({ access_token: "a", expires_in: 300, refresh_token: "r", refresh_expires_in: 0 }),
      )
      assert.isUndefined(token.refreshExpiresAt)
      assert.isTrue(token.canRefresh(DateTime.unsafeMake(10 ** 12)))
    }),
  )

  it.effect("a token set survives its JSON encoding, and its tokens print as redacted", () =>
    Effect.gen(function* () {
      const token = yield* Token.fromResponse(yield* decode({ access_token: "secret-at", refresh_token: "secret-rt" }))
      const encoded = yield* Schema.encode(Token.TokenSet)(token)
      const decoded = yield* Schema.decodeUnknown(Token.TokenSet)(JSON.parse(JSON.stringify(encoded)))
      assert.strictEqual(Redacted.value(decoded.accessToken), "secret-at")
      assert.notInclude(String(token), "secret-at")
      assert.notInclude(JSON.stringify(token), "secret-rt")
    }),
  )
})
