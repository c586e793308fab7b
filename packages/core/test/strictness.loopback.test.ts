/**
 * Numbers out of range and token types the RFCs do not allow, answered by
 * the emulator's fault switchboard over real loopback HTTP: each is
 * `invalid_response`, and nothing that is accepted can break a later read.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient, defaultHyperlineClient } from "@hyperauth/emulator"
import { Cause, DateTime, Duration, Effect, Exit, Option, Redacted, Schema } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import { TokenResponse } from "../src/internal/wire.js"
import * as Token from "../src/Token.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause)}`)
}

const previous = Effect.flatMap(
  Effect.orDie(
    Schema.decodeUnknown(TokenResponse)({ access_token: "at-old-0123456789", refresh_token: "rt-old-0123" }),
  ),
  (response) => Token.fromResponse(response),
)

const hyperline = () =>
  Hyperline.make({
    origin: emulator.current.origins.hyperline,
    clientId: defaultHyperlineClient.clientId,
    clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperline",
  })
const hyperid = () =>
  HyperId.make({
    origin: emulator.current.origins.hyperid,
    clientId: defaultHyperIdClient.clientId,
    clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperid",
  })
const hyper = () => Hyper.make({ baseUrl: emulator.current.origins.hyper, clientId: "hyper-strict" })

/** A hyperline refresh answered with `body` (raw JSON text, so `1e999` can be sent). */
const hyperlineRefresh = (body: string) =>
  Effect.gen(function* () {
    emulator.current.faults.inject({ path: "/v1/oauth/tokens", status: 200, body, times: 1 })
    return yield* Effect.exit(Effect.flatMap(previous, (yield* hyperline()).refresh))
  })
const hyperidRefresh = (body: string) =>
  Effect.gen(function* () {
    emulator.current.faults.inject({ path: `${HyperId.realmPath}/token`, status: 200, body, times: 1 })
    return yield* Effect.exit(Effect.flatMap(previous, (yield* hyperid()).refresh))
  })

const token = (fields: string) => `{"access_token":"at-new-0123456789","token_type":"bearer"${fields}}`

describe("numbers out of range", () => {
  for (const [what, fields] of [
    ['expires_in "Infinity"', ',"expires_in":"Infinity"'],
    ["expires_in 1e300", ',"expires_in":1e300'],
    ["expires_in 1e999 (Infinity once parsed)", ',"expires_in":1e999'],
    ['expires_in "NaN"', ',"expires_in":"NaN"'],
    ["expires_in -1", ',"expires_in":-1'],
    ["refresh_expires_in 1e300", ',"expires_in":60,"refresh_expires_in":1e300'],
  ] as const) {
    it.live(`a token answer with ${what} is invalid_response`, () =>
      live(
        Effect.gen(function* () {
          const error = failure(yield* hyperlineRefresh(token(fields)))
          assert.strictEqual(error.code, "invalid_response")
        }),
      ),
    )
  }

  it.live("the longest lifetime accepted still makes a token set that encodes and reads back", () =>
    live(
      Effect.gen(function* () {
        const exit = yield* hyperlineRefresh(token(',"expires_in":316224000'))
        assert.isTrue(Exit.isSuccess(exit))
        if (Exit.isFailure(exit)) return
        const encoded = Schema.encodeSync(Token.TokenSet)(exit.value)
        const decoded = Schema.decodeSync(Token.TokenSet)(encoded)
        assert.isTrue(Option.isSome(decoded.expiresIn(yield* DateTime.now)))
      }),
    ),
  )

  it.live("a device authorization with expires_in 1e300 is invalid_response", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          path: "/oauth/device",
          status: 200,
          body: '{"device_code":"dc-0123456789","user_code":"BCDF-GHJK","verification_uri":"http://x/device","expires_in":1e300}',
        })
        const error = failure(yield* Effect.exit(Effect.flatMap(hyper(), (s) => s.initiateDeviceFlow())))
        assert.strictEqual(error.code, "invalid_response")
      }),
    ),
  )

  for (const [interval, seconds] of [
    ["0", 1],
    ["0.001", 1],
    ["absent", 5],
    ["7", 7],
  ] as const) {
    it.live(`a device interval of ${interval} is polled every ${seconds} s`, () =>
      live(
        Effect.gen(function* () {
          const given = interval === "absent" ? "" : `,"interval":${interval}`
          emulator.current.faults.inject({
            path: "/oauth/device",
            status: 200,
            body: `{"device_code":"dc-0123456789","user_code":"BCDF-GHJK","verification_uri":"http://x/device","expires_in":600${given}}`,
          })
          const device = yield* Effect.flatMap(hyper(), (s) => s.initiateDeviceFlow())
          assert.strictEqual(Duration.toSeconds(device.interval), seconds)
        }),
      ),
    )
  }

  it.live("an introspection exp of 1e999 is invalid_response", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({ path: "/oauth/introspect", status: 200, body: '{"active":true,"exp":1e999}' })
        const exit = yield* Effect.exit(
          Effect.flatMap(hyper(), (s) => s.introspectToken(Redacted.make("at-strict-0123456789"))),
        )
        assert.strictEqual(failure(exit).code, "invalid_response")
      }),
    ),
  )
})

describe("token_type", () => {
  for (const type of ['"mac"', '"DPoP"', '""', "42"]) {
    it.live(`${type} is invalid_response, also where token_type may be absent`, () =>
      live(
        Effect.gen(function* () {
          const body = `{"access_token":"at-new-0123456789","token_type":${type}}`
          assert.strictEqual(failure(yield* hyperlineRefresh(body)).code, "invalid_response")
          assert.strictEqual(failure(yield* hyperidRefresh(body)).code, "invalid_response")
        }),
      ),
    )
  }

  it.live("Bearer in any case is accepted", () =>
    live(
      Effect.gen(function* () {
        for (const type of ["Bearer", "bearer", "BEARER"]) {
          const exit = yield* hyperlineRefresh(`{"access_token":"at-new-0123456789","token_type":"${type}"}`)
          assert.isTrue(Exit.isSuccess(exit), type)
          if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.tokenType, "Bearer")
        }
      }),
    ),
  )

  it.live(
    "absent: invalid_response from hyperline, whose documentation sends it; accepted from hyperid, whose does not",
    () =>
      live(
        Effect.gen(function* () {
          const body = '{"access_token":"at-new-0123456789","expires_in":60}'
          assert.strictEqual(failure(yield* hyperlineRefresh(body)).code, "invalid_response")
          const exit = yield* hyperidRefresh(body)
          assert.isTrue(Exit.isSuccess(exit))
          if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.tokenType, "Bearer")
        }),
      ),
  )
})

describe("id_token", () => {
  it.live("is not kept: it is not validated", () =>
    live(
      Effect.gen(function* () {
        const idToken = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhdHRhY2tlciJ9."
        const exit = yield* hyperidRefresh(`{"access_token":"at-new-0123456789","id_token":"${idToken}"}`)
        assert.isTrue(Exit.isSuccess(exit))
        if (Exit.isFailure(exit)) return
        assert.notInclude(JSON.stringify(Schema.encodeSync(Token.TokenSet)(exit.value)), idToken)
        assert.notProperty(exit.value, "idToken")
      }),
    ),
  )
})
