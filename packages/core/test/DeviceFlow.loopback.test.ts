/**
 * hyper's device polling against a token endpoint on loopback, on the
 * TestClock. The endpoint stamps every poll with the TestClock's time when
 * it arrives (the clock stands still while a request is in flight), so the
 * gaps asserted here are the server's view of them. It answers from a
 * script: authorization_pending, a status, a hang (slower than the time
 * limit), a reset connection, or the token.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  type Clock,
  DateTime,
  Duration,
  Effect,
  Exit,
  Fiber,
  Option,
  Redacted,
  TestClock,
  TestServices,
} from "effect"
import * as Hyper from "../src/Hyper.js"
import { transports } from "./support/transports.js"

type Answer =
  | "pending"
  | "token"
  /** Never answers: the client's time limit ends the poll. */
  | "hang"
  /** TCP RST without an answer. */
  | "reset"
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>> }

/** The per-request time limit in these tests: odd, so that no wait of the poller ends where a time limit does. */
const limitMillis = 9_999

interface Endpoint {
  readonly origin: string
  /** TestClock time of each poll's arrival. */
  readonly polledAt: ReadonlyArray<number>
  /** Arrival time of the poll the server is holding, if any. */
  readonly hanging: () => number | undefined
}

/** A token endpoint answering `script` in order (the last answer repeats). */
const tokenEndpoint = (clock: Clock.Clock, script: ReadonlyArray<Answer>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Server; readonly endpoint: Endpoint }>((resume) => {
      const polledAt: Array<number> = []
      let hanging: number | undefined
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          const now = clock.unsafeCurrentTimeMillis()
          polledAt.push(now)
          const answer = script[Math.min(polledAt.length - 1, script.length - 1)] ?? "token"
          if (answer === "hang") {
            hanging = now
            req.socket.once("close", () => {
              hanging = undefined
            })
            return
          }
          if (answer === "reset") return req.socket.resetAndDestroy()
          const [status, headers, body] =
            answer === "pending"
              ? [400, {}, { error: "authorization_pending" }]
              : answer === "token"
                ? [200, {}, { access_token: "at-loopback-0123456789", token_type: "Bearer", expires_in: 3600 }]
                : [answer.status, answer.headers ?? {}, { message: "unavailable" }]
          res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body))
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({
            server,
            endpoint: { origin: `http://127.0.0.1:${port}`, polledAt, hanging: () => hanging },
          }),
        )
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }),
  ).pipe(Effect.map(({ endpoint }) => endpoint))

/** Waits in real time (the endpoint answers over real sockets) until `condition` holds. */
const eventually = <A>(condition: Effect.Effect<Option.Option<A>>, what: () => string) =>
  Effect.gen(function* () {
    for (let tries = 0; tries < 2_000; tries++) {
      const found = yield* condition
      if (Option.isSome(found)) return found.value
      yield* TestServices.provideLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.dieMessage(`waited 10 s for ${what()}`)
  })

/**
 * Runs the poller to its end, moving the TestClock to each wait it starts:
 * the earliest one that is not a request's time limit (the one a poll in
 * flight started now, or that of a poll that has arrived), or the time
 * limit of the poll the server holds.
 */
const drive = <A, E>(endpoint: Endpoint, fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function* () {
    for (;;) {
      const next = yield* eventually(
        Effect.gen(function* () {
          if (Option.isSome(yield* Fiber.poll(fiber))) return Option.some(Option.none<number>())
          const now = yield* TestClock.currentTimeMillis
          const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
          const held = endpoint.hanging()
          if (held !== undefined) {
            return sleeps.includes(held + limitMillis) ? Option.some(Option.some(held + limitMillis)) : Option.none()
          }
          const limits = new Set([now + limitMillis, ...endpoint.polledAt.map((t) => t + limitMillis)])
          const waits = sleeps.filter((t) => t > now && !limits.has(t))
          return waits.length === 0 ? Option.none() : Option.some(Option.some(Math.min(...waits)))
        }),
        () => "the poller to wait or end",
      )
      if (Option.isNone(next)) return yield* Fiber.await(fiber)
      yield* TestClock.setTime(next.value)
    }
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - (times[i] ?? 0))

const describeExit = <A, E>(exit: Exit.Exit<A, E>) => (Exit.isSuccess(exit) ? "" : Cause.pretty(exit.cause))

const failureCode = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error.code
  return assert.fail(`expected a typed failure, got ${describeExit(exit)}`)
}

for (const [transportName, transport] of transports) {
  /** Polls a 5 s device code against `script`, to its end. */
  const pollAgainst = (script: ReadonlyArray<Answer>, expiresIn: Duration.DurationInput = "10 minutes") =>
    Effect.gen(function* () {
      const endpoint = yield* tokenEndpoint(yield* Effect.clock, script)
      const service = yield* Effect.provide(
        Hyper.make({ baseUrl: endpoint.origin, clientId: "hyper-poll", timeout: Duration.millis(limitMillis) }),
        transport,
      )
      const expiresAt = DateTime.addDuration(yield* DateTime.now, expiresIn)
      const fiber = yield* Effect.fork(
        service.provider.resumeDevice({
          deviceCode: Redacted.make("dc-loopback"),
          interval: Duration.seconds(5),
          expiresAt,
        }),
      )
      const exit = yield* drive(endpoint, fiber)
      return { exit, polledAt: [...endpoint.polledAt] }
    })

  describe(`device polling over ${transportName}`, () => {
    it.scoped("a 503 is not retried within the interval: the next poll comes after twice the interval", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst([{ status: 503 }, "pending", "pending", "token"])
        assert.isTrue(Exit.isSuccess(exit), describeExit(exit))
        assert.deepStrictEqual(polledAt, [5_000, 15_000, 20_000, 25_000])
      }),
    )

    it.scoped("a 429's Retry-After longer than the backoff is waited out", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst([{ status: 429, headers: { "retry-after": "30" } }, "token"])
        assert.isTrue(Exit.isSuccess(exit), describeExit(exit))
        assert.deepStrictEqual(gaps(polledAt), [30_000])
      }),
    )

    it.scoped("a poll slower than the time limit does not end the login: polling goes on, backed off", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst(["hang", "pending", "token"])
        assert.isTrue(Exit.isSuccess(exit), describeExit(exit))
        // The hung poll times out at 5 s + the limit; the next waits twice the interval from then.
        assert.deepStrictEqual(polledAt, [5_000, 5_000 + limitMillis + 10_000, 5_000 + limitMillis + 15_000])
      }),
    )

    it.scoped("a reset connection does not end the login", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst(["pending", "reset", "token"])
        assert.isTrue(Exit.isSuccess(exit), describeExit(exit))
        assert.deepStrictEqual(polledAt, [5_000, 10_000, 20_000])
      }),
    )

    it.scoped("failures until the device code expires end with expired_token, and no poll after it", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst([{ status: 502 }], "60 seconds")
        assert.strictEqual(failureCode(exit), "expired_token")
        // Waits of 10, 20, then 40 s cut to the 25 s left: the last try is when the code expires.
        assert.deepStrictEqual(polledAt, [5_000, 15_000, 35_000, 60_000])
        for (const gap of gaps(polledAt)) assert.isAtLeast(gap, 5_000)
      }),
    )

    it.scoped("an answer that is not transient still ends the login at once", () =>
      Effect.gen(function* () {
        const { exit, polledAt } = yield* pollAgainst(["pending", { status: 404 }, "token"])
        assert.strictEqual(failureCode(exit), "http_error")
        assert.deepStrictEqual(polledAt, [5_000, 10_000])
      }),
    )
  })
}
