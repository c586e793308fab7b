/**
 * hyper's refresh, against the emulator over real loopback HTTP. The seed
 * documents none; RFC 8628 §3.5 answers as RFC 6749 §5.1 does, which may
 * bring a refresh token, and a login that brought one is renewed with it
 * as RFC 6749 §6 says (a public client: its id in the body). A login that
 * brought none cannot be refreshed: `not_supported`, log in again.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperClient, type Emulator, start } from "@hyperauth/emulator"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"

const provide = <A, E>(emulator: Emulator, effect: Effect.Effect<A, E, Hyper.Hyper | HttpClient.HttpClient>) =>
  effect.pipe(
    Effect.provide(
      Hyper.layer({ baseUrl: emulator.origins.hyper, clientId: defaultHyperClient.clientId }).pipe(
        Layer.provideMerge(FetchHttpClient.layer),
      ),
    ),
  )

const withEmulator = <A, E>(
  options: Parameters<typeof start>[0],
  use: (emulator: Emulator) => Effect.Effect<A, E, Hyper.Hyper | HttpClient.HttpClient>,
) =>
  Effect.acquireUseRelease(
    Effect.promise(() => start(options)),
    (emulator) => provide(emulator, use(emulator)),
    (emulator) => Effect.promise(() => emulator.close()),
  )

/** A device login, approved once the client has polled. */
const logIn = (emulator: Emulator) =>
  Effect.gen(function* () {
    const hyper = yield* Hyper.Hyper
    const device = yield* hyper.initiateDeviceFlow({ scope: "read" })
    const poll = yield* Effect.fork(hyper.pollForToken(device))
    while (emulator.count({ origin: "hyper", path: "/oauth/token" }) === 0) yield* Effect.sleep("10 millis")
    assert.isTrue(emulator.hyper.approve(device.userCode))
    return yield* Fiber.join(poll)
  })

describe("hyper refresh", () => {
  it.live("a login that brought a refresh token is renewed with it, once, and the rotated one replaces it", () =>
    withEmulator({ hyper: { interval: 0.05, refreshTokens: true, rotateRefreshTokens: true } }, (emulator) =>
      Effect.gen(function* () {
        const hyper = yield* Hyper.Hyper
        const token = yield* logIn(emulator)
        assert.isDefined(token.refreshToken)
        const renewed = yield* hyper.provider.refresh(token)
        assert.notStrictEqual(Redacted.value(renewed.accessToken), Redacted.value(token.accessToken))
        assert.notStrictEqual(
          Redacted.value(renewed.refreshToken ?? Redacted.make("")),
          Redacted.value(token.refreshToken ?? Redacted.make("")),
        )
        assert.strictEqual(renewed.scope, "read")
        assert.strictEqual(emulator.tokens.refreshes.get("hyper"), 1)
        // The new access token works; the spent refresh token does not.
        const active = yield* hyper.introspectToken(renewed.accessToken)
        assert.isTrue(active.active)
        const again = yield* Effect.exit(hyper.provider.refresh(token))
        assert.isTrue(Exit.isFailure(again))
        if (Exit.isFailure(again) && again.cause._tag === "Fail")
          assert.strictEqual(again.cause.error.code, "invalid_grant")
      }),
    ),
  )

  it.live("a login that brought none is not_supported, and nothing is sent", () =>
    withEmulator({ hyper: { interval: 0.05 } }, (emulator) =>
      Effect.gen(function* () {
        const hyper = yield* Hyper.Hyper
        const token = yield* logIn(emulator)
        assert.isUndefined(token.refreshToken)
        const polls = emulator.count({ origin: "hyper", path: "/oauth/token" })
        const refused = yield* Effect.exit(hyper.provider.refresh(token))
        assert.isTrue(Exit.isFailure(refused))
        if (Exit.isFailure(refused) && refused.cause._tag === "Fail") {
          assert.strictEqual(refused.cause.error.code, "not_supported")
          assert.match(refused.cause.error.message, /log in again/)
        }
        assert.strictEqual(emulator.count({ origin: "hyper", path: "/oauth/token" }), polls)
      }),
    ),
  )
})
