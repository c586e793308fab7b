/**
 * JSON that begins with a UTF-8 byte order mark, over real loopback HTTP:
 * RFC 8259 §8.1 lets a parser ignore it, and a token endpoint or API behind
 * a framework that writes one (some .NET and Windows stacks do) is no
 * `invalid_response`.
 */
import type { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Redacted } from "effect"
import * as HyperId from "../src/HyperId.js"
import * as Json from "../src/internal/json.js"
import { held, hyperidOn } from "./support/clients.js"
import { useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"
import { transports } from "./support/transports.js"

const emulator = useEmulator()

const previous = held({ access_token: "at-old-0123456789", refresh_token: "rt-old-0123456789" })

const hyperid = () => hyperidOn(emulator)

const bom = "\ufeff"

for (const [transportName, transport] of transports) {
  const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, transport)

  describe(`a token endpoint's JSON after a byte order mark (over ${transportName})`, () => {
    it.live("is a token", () =>
      live(
        Effect.gen(function* () {
          const body = JSON.stringify({ access_token: "at-new-0123456789", token_type: "Bearer", expires_in: 600 })
          emulator.current.faults.inject({
            path: `${HyperId.realmPath}/token`,
            status: 200,
            headers: { "content-type": "application/json; charset=utf-8" },
            body: `${bom}${body}`,
            times: 1,
          })
          const exit = yield* Effect.exit(Effect.flatMap(previous, (yield* hyperid()).refresh))
          assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? String(exit.cause) : "")
          if (Exit.isSuccess(exit)) assert.strictEqual(Redacted.value(exit.value.accessToken), "at-new-0123456789")
        }),
      ),
    )

    it.live("an OAuth error after one is that error", () =>
      live(
        Effect.gen(function* () {
          emulator.current.faults.inject({
            path: `${HyperId.realmPath}/token`,
            status: 400,
            headers: { "content-type": "application/json" },
            body: `${bom}${JSON.stringify({ error: "invalid_grant", error_description: "expired" })}`,
            times: 1,
          })
          const error = failure(yield* Effect.exit(Effect.flatMap(previous, (yield* hyperid()).refresh)))
          assert.strictEqual(error._tag, "OAuthProtocolError")
          assert.strictEqual(error.code, "invalid_grant")
        }),
      ),
    )
  })
}

describe("Json.parse", () => {
  it("ignores one byte order mark at the start, and only there", () => {
    assert.deepStrictEqual(Json.parse(`${bom}{"a":1}`), Either.right({ a: 1 }))
    assert.deepStrictEqual(Json.parse(`${bom}"x"`), Either.right("x"))
    assert.isTrue(Either.isLeft(Json.parse(`${bom}${bom}{}`)))
    assert.isTrue(Either.isLeft(Json.parse(`{"a":1}${bom}`)))
    assert.deepStrictEqual(Json.parse(`{"a":"${bom}"}`), Either.right({ a: bom }))
  })
})
