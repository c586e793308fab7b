/**
 * Numbers out of range and token types the RFCs do not allow, answered by
 * the emulator's fault switchboard over real loopback HTTP: each is
 * `invalid_response`, and nothing that is accepted can break a later read.
 * Optional members sent as `null` are taken as absent.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperClient, defaultHyperlineClient } from "@hyperauth/emulator"
import { Cause, DateTime, Duration, Effect, Exit, Fiber, Option, Redacted, Schema } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Token from "../src/Token.js"
import { held, hyperidOn } from "./support/clients.js"
import { pollsOnTestClock, useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const previous = held({ access_token: "at-old-0123456789", refresh_token: "rt-old-0123" })

const hyperline = () =>
  Hyperline.make({
    origin: emulator.current.origins.hyperline,
    clientId: defaultHyperlineClient.clientId,
    clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperline",
  })
const hyperid = () => hyperidOn(emulator)
const hyper = () => Hyper.make({ baseUrl: emulator.current.origins.hyper, clientId: defaultHyperClient.clientId })

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

  for (const [field, uri] of [
    ["verification_uri", "javascript:alert(1)"],
    ["verification_uri", "file:///etc/passwd"],
    ["verification_uri", "not a url"],
    ["verification_uri_complete", "data:text/html,<script>alert(1)</script>"],
  ] as const) {
    it.live(
      `a device authorization whose ${field} is ${uri} is invalid_response: the user is shown only web links`,
      () =>
        live(
          Effect.gen(function* () {
            const answer = {
              device_code: "dc-0123456789",
              user_code: "BCDF-GHJK",
              verification_uri: "http://x/device",
              expires_in: 600,
              [field]: uri,
            }
            emulator.current.faults.inject({ path: "/oauth/device", status: 200, body: JSON.stringify(answer) })
            const error = failure(yield* Effect.exit(Effect.flatMap(hyper(), (s) => s.initiateDeviceFlow())))
            assert.strictEqual(error.code, "invalid_response")
          }),
        ),
    )
  }

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

describe("null for an absent optional member", () => {
  it.live("a token answer with null refresh_token, scope, expires_in and refresh_expires_in is a token", () =>
    live(
      Effect.gen(function* () {
        const nulls = ',"expires_in":null,"refresh_token":null,"refresh_expires_in":null,"scope":null'
        for (const [provider, exit] of [
          ["hyperline", yield* hyperlineRefresh(token(nulls))],
          ["hyperid", yield* hyperidRefresh(token(nulls))],
        ] as const) {
          assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
          if (Exit.isFailure(exit)) return
          assert.isUndefined(exit.value.scope)
          // hyperline documents its access tokens' lifetime (24 h); hyperid gives none.
          if (provider === "hyperline") assert.isDefined(exit.value.expiresAt)
          else assert.isUndefined(exit.value.expiresAt)
          // No new refresh token: the one it had is kept (RFC 6749 §6).
          assert.strictEqual(Redacted.value(exit.value.refreshToken ?? Redacted.make("")), "rt-old-0123")
        }
        // hyperid may leave token_type out, so null is as good as absent there.
        assert.isTrue(Exit.isSuccess(yield* hyperidRefresh('{"access_token":"at-new-0123456789","token_type":null}')))
      }),
    ),
  )

  it.live("an OAuth error answer with null error_description and error_uri keeps its code", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          path: "/v1/oauth/tokens",
          status: 400,
          body: '{"error":"invalid_grant","error_description":null,"error_uri":null}',
          times: 1,
        })
        const error = failure(yield* Effect.exit(Effect.flatMap(previous, (yield* hyperline()).refresh)))
        assert.strictEqual(error.code, "invalid_grant")
        if (error._tag === "OAuthProtocolError") assert.isUndefined(error.errorDescription)
      }),
    ),
  )

  it.live("a device authorization with null verification_uri_complete and interval is polled every 5 s", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          path: "/oauth/device",
          status: 200,
          body: '{"device_code":"dc-0123456789","user_code":"BCDF-GHJK","verification_uri":"http://x/device","verification_uri_complete":null,"expires_in":600,"interval":null}',
        })
        const device = yield* Effect.flatMap(hyper(), (s) => s.initiateDeviceFlow())
        assert.isUndefined(device.verificationUriComplete)
        assert.strictEqual(Duration.toSeconds(device.interval), 5)
      }),
    ),
  )

  it.live("an introspection answer with null members is read without them", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          path: "/oauth/introspect",
          status: 200,
          body: '{"active":false,"scope":null,"client_id":null,"exp":null,"aud":null,"sub":null}',
        })
        const info = yield* Effect.flatMap(hyper(), (s) => s.introspectToken(Redacted.make("at-strict-0123456789")))
        assert.deepStrictEqual(info, { active: false })
      }),
    ),
  )

  it.effect("authorization_pending with a null error_description is polled again", () =>
    live(
      Effect.gen(function* () {
        const service = yield* hyper()
        const device = yield* service.initiateDeviceFlow()
        assert.isTrue(emulator.current.hyper.approve(device.userCode))
        emulator.current.faults.inject({
          path: "/oauth/token",
          status: 400,
          body: '{"error":"authorization_pending","error_description":null,"error_uri":null}',
          times: 1,
        })
        const polls = () => emulator.current.count({ origin: "hyper", path: "/oauth/token" })
        const before = polls()
        const poller = yield* Effect.fork(service.pollForToken(device))
        // Each poll first waits the interval on the TestClock; the answer comes over a real socket.
        yield* pollsOnTestClock(poller, device.interval, 2)
        const token = yield* Fiber.join(poller)
        assert.isAbove(Redacted.value(token.accessToken).length, 10)
        assert.strictEqual(polls() - before, 2)
      }),
    ),
  )
})
