import { assert, describe, it } from "@effect/vitest"
import { Clock, DateTime, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import * as DeviceFlow from "../src/DeviceFlow.js"
import { OAuthProtocolError } from "../src/OAuthError.js"

/** A token endpoint that answers from a script and records when it was asked. */
const endpoint = (...answers: ReadonlyArray<string>) => {
  const polledAt: Array<number> = []
  const request = Effect.gen(function* () {
    polledAt.push(yield* Clock.currentTimeMillis)
    const answer = answers[Math.min(polledAt.length - 1, answers.length - 1)] ?? "token"
    if (answer === "token") return "the-token"
    return yield* new OAuthProtocolError({ error: answer })
  })
  return { request, polledAt }
}

const expiresIn = (seconds: number) => Effect.map(DateTime.now, DateTime.addDuration(Duration.seconds(seconds)))

describe("DeviceFlow.poll", () => {
  it.effect("waits the interval before every poll and returns the token", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending", "authorization_pending", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("4999 millis")
      assert.deepStrictEqual(server.polledAt, [])
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(fiber), "the-token")
      assert.deepStrictEqual(server.polledAt, [5000, 10000, 15000])
    }),
  )

  it.effect("uses 5 s when the server gives no interval", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending", "token")
      const fiber = yield* Effect.fork(DeviceFlow.poll({ request: server.request, expiresAt: yield* expiresIn(600) }))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(server.polledAt, [5000, 10000])
    }),
  )

  it.effect("never polls faster than once a second, whatever interval it is given", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending", "authorization_pending", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: Duration.zero, expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(server.polledAt, [1000, 2000, 3000])
    }),
  )

  it.effect("slow_down adds 5 s to this and every later wait", () =>
    Effect.gen(function* () {
      const server = endpoint("slow_down", "authorization_pending", "slow_down", "authorization_pending", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("5 minutes")
      yield* Fiber.join(fiber)
      // waits: 5, then 10, 10, then 15, 15
      assert.deepStrictEqual(server.polledAt, [5000, 15000, 25000, 40000, 55000])
    }),
  )

  for (const error of ["access_denied", "expired_token", "invalid_client"]) {
    it.effect(`${error} stops polling with that error`, () =>
      Effect.gen(function* () {
        const server = endpoint("authorization_pending", error, "token")
        const fiber = yield* Effect.fork(
          DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
        )
        yield* TestClock.adjust("1 minute")
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.strictEqual(exit.cause.error.error, error)
        } else {
          assert.fail("expected a typed failure")
        }
        assert.strictEqual(server.polledAt.length, 2)
      }),
    )
  }

  it.effect("stops with expired_token once expires_in has passed, without another poll", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(12) }),
      )
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(server.polledAt, [5000, 10000])
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") assert.strictEqual(exit.cause.error.code, "expired_token")
    }),
  )

  it.effect("never polls faster than the interval", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "7 seconds", expiresAt: yield* expiresIn(300) }),
      )
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.await(fiber)
      const gaps = server.polledAt.map((t, i) => t - (server.polledAt[i - 1] ?? 0))
      assert.isAbove(server.polledAt.length, 10)
      for (const gap of gaps) assert.isAtLeast(gap, 7000)
    }),
  )
})
