import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, TestClock } from "effect"
import * as SingleFlight from "../src/internal/singleFlight.js"

/** Work that takes a second and counts its runs. */
const counted = () => {
  const runs = { started: 0, finished: 0 }
  const work = (result: string) =>
    Effect.sync(() => runs.started++).pipe(
      Effect.zipRight(Effect.sleep("1 second")),
      Effect.zipRight(Effect.sync(() => runs.finished++)),
      Effect.as(result),
    )
  return { runs, work }
}

describe("SingleFlight", () => {
  it.effect("callers of one key share the run under way; a later caller starts a new one", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, string, never>()
      const { runs, work } = counted()
      const callers = yield* Effect.fork(
        Effect.all([flight("a", work("first")), flight("a", work("second"))], { concurrency: "unbounded" }),
      )
      const other = yield* Effect.fork(flight("b", work("other")))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(callers), ["first", "first"])
      assert.strictEqual(yield* Fiber.join(other), "other")
      assert.strictEqual(runs.started, 2)
      const later = yield* Effect.fork(flight("a", work("third")))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(later), "third")
      assert.strictEqual(runs.started, 3)
    }),
  )

  it.effect("a caller that stops waiting does not stop the run for the others", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, string, never>()
      const { runs, work } = counted()
      const first = yield* Effect.fork(flight("a", work("done")))
      const second = yield* Effect.fork(flight("a", work("unused")))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("500 millis")
      assert.strictEqual(yield* Fiber.join(second), "done")
      assert.strictEqual(runs.finished, 1)
    }),
  )

  it.effect("a failure reaches every caller of that run", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, never, string>()
      const failing = Effect.zipRight(Effect.sleep("1 second"), Effect.fail("refused"))
      const callers = yield* Effect.fork(
        Effect.all([Effect.exit(flight("a", failing)), Effect.exit(flight("a", failing))], {
          concurrency: "unbounded",
        }),
      )
      yield* TestClock.adjust("1 second")
      for (const exit of yield* Fiber.join(callers)) assert.deepStrictEqual(exit, Exit.fail("refused"))
    }),
  )
})

describe("SingleFlight, for a crowd", () => {
  it.effect("the work starts before the fibers already scheduled run", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, string, never>()
      const order: Array<string> = []
      const work = Effect.sync(() => order.push("work")).pipe(
        Effect.zipRight(Effect.sleep("1 second")),
        Effect.as("done"),
      )
      const crowd = yield* Effect.fork(
        Effect.all(
          [flight("a", work), ...Array.from({ length: 3 }, (_, i) => Effect.sync(() => order.push(`caller ${i}`)))],
          { concurrency: "unbounded" },
        ),
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(crowd)
      assert.deepStrictEqual(order, ["work", "caller 0", "caller 1", "caller 2"])
    }),
  )

  it.effect("callers get the result before the work's scope closes", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, string, never>()
      let closed = false
      const work = Effect.addFinalizer(() =>
        Effect.zipRight(
          Effect.sleep("1 second"),
          Effect.sync(() => (closed = true)),
        ),
      ).pipe(Effect.as("done"))
      assert.strictEqual(yield* flight("a", work), "done")
      assert.isFalse(closed)
      yield* TestClock.adjust("1 second")
      assert.isTrue(closed)
    }),
  )

  it.effect("callers get the result before a synchronous finalizer of the work's scope runs", () =>
    Effect.gen(function* () {
      // A file store's lease is released with synchronous file calls: the callers must not wait behind them.
      const flight = SingleFlight.make<string, string, never>()
      const order: Array<string> = []
      const work = Effect.addFinalizer(() => Effect.sync(() => order.push("released"))).pipe(
        Effect.zipRight(Effect.sleep("10 millis")),
        Effect.as("done"),
      )
      const caller = (i: number) => Effect.tap(flight("a", work), () => Effect.sync(() => order.push(`caller ${i}`)))
      const crowd = yield* Effect.fork(Effect.all([0, 1, 2].map(caller), { concurrency: "unbounded" }))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(crowd)
      assert.deepStrictEqual(order, ["caller 0", "caller 1", "caller 2", "released"])
    }),
  )

  it.effect("join waits for the run under way, and is undefined when there is none", () =>
    Effect.gen(function* () {
      const flight = SingleFlight.make<string, string, never>()
      const { runs, work } = counted()
      assert.isUndefined(flight.join("a"))
      const first = yield* Effect.fork(flight("a", work("first")))
      yield* Effect.yieldNow()
      const joined = flight.join("a")
      if (joined === undefined) return assert.fail("a run is under way")
      const second = yield* Effect.fork(joined)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(first), "first")
      assert.strictEqual(yield* Fiber.join(second), "first")
      assert.strictEqual(runs.started, 1)
      assert.isUndefined(flight.join("a"))
    }),
  )
})
