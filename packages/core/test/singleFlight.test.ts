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
