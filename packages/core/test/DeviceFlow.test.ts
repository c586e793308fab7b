import { assert, describe, it } from "@effect/vitest"
import { Clock, DateTime, Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import * as DeviceFlow from "../src/DeviceFlow.js"
import { HttpError, InvalidResponse, OAuthProtocolError } from "../src/OAuthError.js"

const url = "https://api.hyper.io/oauth/token"

/**
 * A token endpoint that answers from a script and records when it was
 * asked: "token", "503" (a transient failure), "503 after N" (one with
 * `Retry-After: N`), "html" (an unreadable answer) or an RFC 8628 error.
 */
const endpoint = (...answers: ReadonlyArray<string>) => {
  const polledAt: Array<number> = []
  const request = Effect.gen(function* () {
    polledAt.push(yield* Clock.currentTimeMillis)
    const answer = answers[Math.min(polledAt.length - 1, answers.length - 1)] ?? "token"
    if (answer === "token") return "the-token"
    if (answer.startsWith("503")) {
      const after = /after (\d+)/.exec(answer)?.[1]
      return yield* new DeviceFlow.TransientFailure({
        failure: new HttpError({ provider: "hyper", url, status: 503, excerpt: "" }),
        retryAfter: after === undefined ? Option.none() : Option.some(Duration.seconds(Number(after))),
      })
    }
    if (answer === "html") {
      return yield* new InvalidResponse({ provider: "hyper", url, status: 200, reason: "not JSON", excerpt: "<" })
    }
    return yield* new OAuthProtocolError({ error: answer })
  })
  return { request, polledAt }
}

const gaps = (times: ReadonlyArray<number>) => times.map((t, i) => t - (times[i - 1] ?? 0))

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

  it.effect("tells SlowDowns, when given, each longer interval as slow_down brings it", () =>
    Effect.gen(function* () {
      const server = endpoint("slow_down", "authorization_pending", "slow_down", "token")
      const told: Array<number> = []
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }).pipe(
          Effect.provideService(DeviceFlow.SlowDowns, {
            record: (interval) => Effect.sync(() => told.push(Duration.toSeconds(interval))),
          }),
        ),
      )
      yield* TestClock.adjust("5 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(told, [10, 15])
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
          assert.strictEqual(exit.cause.error.code, error)
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

  it.effect("a transient failure doubles the wait, failures in a row double it again up to 60 s", () =>
    Effect.gen(function* () {
      const server = endpoint("503", "503", "503", "503", "503", "authorization_pending", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* Fiber.join(fiber), "the-token")
      // 5, then 10, 20, 40, 60 (not 80), 60 after the failures; back to 5 after a pending answer.
      assert.deepStrictEqual(gaps(server.polledAt), [5000, 10000, 20000, 40000, 60000, 60000, 5000])
    }),
  )

  it.effect("after a transient failure, slow_down's increase is kept and backed off from", () =>
    Effect.gen(function* () {
      const server = endpoint("slow_down", "503", "authorization_pending", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(gaps(server.polledAt), [5000, 10000, 20000, 10000])
    }),
  )

  it.effect("a Retry-After longer than the backoff is waited out; a shorter one changes nothing", () =>
    Effect.gen(function* () {
      const server = endpoint("503 after 45", "503 after 1", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(gaps(server.polledAt), [5000, 45000, 20000])
    }),
  )

  it.effect("transient failures until the code expires end with expired_token naming the last failure", () =>
    Effect.gen(function* () {
      const server = endpoint("authorization_pending", "503")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(30) }),
      )
      yield* TestClock.adjust("10 minutes")
      const exit = yield* Fiber.await(fiber)
      // 5, 5, 10, then 20 cut to the 10 s left; nothing after the expiry.
      assert.deepStrictEqual(server.polledAt, [5000, 10000, 20000, 30000])
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.strictEqual(exit.cause.error.code, "expired_token")
        assert.include(exit.cause.error.message, "last: http_error")
      } else {
        assert.fail("expected a typed failure")
      }
    }),
  )

  it.effect("an error that is not transient (an unreadable answer) stops at once", () =>
    Effect.gen(function* () {
      const server = endpoint("503", "html", "token")
      const fiber = yield* Effect.fork(
        DeviceFlow.poll({ request: server.request, interval: "5 seconds", expiresAt: yield* expiresIn(600) }),
      )
      yield* TestClock.adjust("10 minutes")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(server.polledAt.length, 2)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail")
        assert.strictEqual(exit.cause.error.code, "invalid_response")
      else assert.fail("expected a typed failure")
    }),
  )
})
