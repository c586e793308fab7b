/** The pending-login registry on its own, with the TestClock. */

import { assert, describe, it } from "@effect/vitest"
import { Accounts, Token, TokenStore } from "@hyperauth/core"
import { Cause, DateTime, Duration, Effect, Exit, Layer, Option, Redacted, TestClock } from "effect"
import * as Logins from "../src/Logins.js"

const token = Effect.map(
  DateTime.now,
  (now) => new Token.TokenSet({ accessToken: Redacted.make("at"), tokenType: "Bearer", receivedAt: now }),
)

const layer = Logins.layer.pipe(
  Layer.provideMerge(
    Layer.effect(
      Accounts.Accounts,
      Accounts.make(() => Effect.die("no provider needed")),
    ),
  ),
  Layer.provideMerge(TokenStore.layerMemory),
)

/** An authorization-code login whose redirect this server does not receive. */
const pendingRedirect = Effect.map(DateTime.now, (now) => ({
  _tag: "RedirectPending" as const,
  authorizationUrl: "https://id.example/auth?state=s1",
  redirectUri: "https://app.example/callback",
  expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
  complete: () => token,
}))

const loginKey = (provider: string, account: string, request = "{}") => ({ provider, account, request })

const failureCode = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.code : undefined

describe("Logins", () => {
  it.scoped("refuses a device login past the cap on background pollers, and admits one again once a poller ends", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const now = yield* DateTime.now
      const device = (minutes: number) => ({
        _tag: "DevicePending" as const,
        userCode: "BCDF-GHJK",
        verificationUri: "https://device.example",
        expiresAt: DateTime.addDuration(now, Duration.minutes(minutes)),
        interval: Duration.seconds(5),
        complete: Effect.never,
      })
      // One expires soon; the rest wait ten minutes.
      yield* logins.startDevice(loginKey("hyper", "soon"), device(1))
      for (let i = 1; i < Logins.maxDevicePollers; i++) {
        yield* logins.startDevice(loginKey("hyper", `user-${i}`), device(10))
      }
      const refused = yield* Effect.exit(logins.startDevice(loginKey("hyper", "one-too-many"), device(10)))
      assert.strictEqual(failureCode(refused), "invalid_input")
      if (Exit.isFailure(refused)) assert.include(Cause.pretty(refused.cause), "complete_login")
      yield* TestClock.adjust("2 minutes")
      const admitted = yield* Effect.exit(logins.startDevice(loginKey("hyper", "one-too-many"), device(10)))
      assert.isTrue(Exit.isSuccess(admitted))
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a pending login that runs past its expiry is expired_token", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "default"), yield* pendingRedirect)
      assert.isFalse(started.listening)
      const waiting = yield* Effect.fork(logins.await(started.loginId, Duration.minutes(2), () => Effect.void))
      yield* TestClock.adjust("2 minutes")
      assert.isTrue(Option.isNone(yield* waiting))
      yield* TestClock.adjust("9 minutes")
      const late = yield* Effect.exit(logins.await(started.loginId, Duration.seconds(5), () => Effect.void))
      assert.strictEqual(failureCode(late), "expired_token")
      const tooLate = yield* Effect.exit(logins.finishRedirect(started.loginId, "https://app.example/callback?code=c"))
      assert.strictEqual(failureCode(tooLate), "expired_token")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("waiting sends a progress tick every second", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "default"), yield* pendingRedirect)
      const ticks: Array<number> = []
      const waiting = yield* Effect.fork(
        logins.await(started.loginId, Duration.seconds(5), (elapsed) =>
          Effect.sync(() => ticks.push(Duration.toSeconds(elapsed))),
        ),
      )
      yield* TestClock.adjust("5 seconds")
      yield* waiting
      // One tick a second; one may coincide with the end of the wait.
      assert.deepStrictEqual(ticks.slice(0, 4), [1, 2, 3, 4])
      assert.isAtMost(ticks.length, 5)
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("the same login asked again is the one under way; another for that account ends it and its poller", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      let polls = 0
      const now = yield* DateTime.now
      // A device login whose user never answers: it polls every 5 s until replaced.
      const device = {
        _tag: "DevicePending" as const,
        userCode: "BCDF-GHJK",
        verificationUri: "https://hyper.example/device",
        expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
        interval: Duration.seconds(5),
        complete: Effect.forever(
          Effect.zipRight(
            Effect.sleep("5 seconds"),
            Effect.sync(() => polls++),
          ),
        ),
      }
      const asked = loginKey("hyper", "default")
      const first = yield* logins.startDevice(asked, device)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(polls, 2)
      // The same request again finds the login under way, code and all.
      const again = yield* logins.pending(asked)
      assert.strictEqual(Option.map(again, (p) => p.loginId).pipe(Option.getOrNull), first.loginId)
      const other = yield* logins.startDevice(loginKey("hyper", "other"), device)
      const second = yield* logins.startDevice(loginKey("hyper", "default", '{"scope":"more"}'), device)
      const replaced = yield* Effect.exit(logins.await(first.loginId, Duration.seconds(0), () => Effect.void))
      assert.strictEqual(failureCode(replaced), "unknown_login")
      if (Exit.isFailure(replaced)) assert.include(Cause.pretty(replaced.cause), "replaced by a newer login")
      assert.isTrue(Option.isNone(yield* logins.pending(asked)))
      yield* TestClock.adjust("10 seconds")
      // Two pollers left, "other" and the second "default": 2 polls each.
      assert.strictEqual(polls, 2 + 4)
      assert.isTrue(Option.isNone(yield* logins.await(second.loginId, Duration.seconds(0), () => Effect.void)))
      assert.isTrue(Option.isNone(yield* logins.await(other.loginId, Duration.seconds(0), () => Effect.void)))
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a finished login is saved to Accounts and remembered for late callers", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "work"), yield* pendingRedirect)
      yield* logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")
      const accounts = yield* Accounts.Accounts
      assert.strictEqual(
        Redacted.value((yield* accounts.get({ provider: "hyperid", account: "work" })).accessToken),
        "at",
      )
      const again = yield* logins.await(started.loginId, Duration.seconds(0), () => Effect.void)
      assert.isTrue(Option.isSome(again))
      const unknown = yield* Effect.exit(logins.await("login_nope", Duration.seconds(0), () => Effect.void))
      assert.strictEqual(failureCode(unknown), "unknown_login")
    }).pipe(Effect.provide(layer)),
  )
})
