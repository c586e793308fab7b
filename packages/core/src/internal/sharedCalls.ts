/**
 * Calls that present the same one-time grant at once share one
 * presentation: an authorization code, a rotated refresh token or a device
 * code sent twice is a reuse, which ends the login at the provider (RFC
 * 6749 §4.1.2, §10.4), so the second call must wait for the first one's
 * answer instead of sending its own.
 *
 * Unlike `singleFlight`, a run is its callers' alone: each may stop waiting
 * (an abort) and leave it to the others, and once every caller has left,
 * the run is stopped, so an abort still stops the polling or the request.
 * A run that ended is forgotten: a later call presents the grant afresh.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** One presentation under way, and how many callers wait for it. */
interface Run<A, E> {
  readonly fiber: Fiber.RuntimeFiber<A, E>
  waiters: number
}

/**
 * Runs `work`, or waits for the run of `key` under way. Without a key
 * (no grant to speak of: the input is refused anyway), `work` runs alone.
 */
export type SharedCalls<A, E> = (key: string | undefined, work: Effect.Effect<A, E>) => Effect.Effect<A, E>

export const make = <A, E>(): SharedCalls<A, E> => {
  const runs = new Map<string, Run<A, E>>()

  const start = (key: string, work: Effect.Effect<A, E>): Run<A, E> => {
    // Its own fiber, with every service provided: no caller's scope holds it.
    const run: Run<A, E> = { fiber: Effect.runFork(work), waiters: 0 }
    runs.set(key, run)
    run.fiber.addObserver(() => {
      if (runs.get(key) === run) runs.delete(key)
    })
    return run
  }

  const leave = (key: string, run: Run<A, E>) =>
    Effect.suspend(() => {
      run.waiters -= 1
      if (run.waiters > 0) return Effect.void
      if (runs.get(key) === run) runs.delete(key)
      return Fiber.interruptFork(run.fiber)
    })

  return (key, work) =>
    key === undefined
      ? work
      : // Joining and counting happen together, or an abort in between would miscount.
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() => {
            const run = runs.get(key) ?? start(key, work)
            run.waiters += 1
            return restore(Fiber.join(run.fiber)).pipe(Effect.onInterrupt(() => leave(key, run)))
          }),
        )
}
