/**
 * Single flight: callers that ask for the same key while its work runs
 * share that one run and its result, instead of queuing for runs of their
 * own. The work runs in its own fiber, so a caller that stops waiting does
 * not stop it for the others.
 *
 * The work starts at once, on the caller's stack, rather than after every
 * fiber already scheduled: when a thousand callers arrive together, its
 * first request is on its way while the others are still arriving. Its
 * result reaches the callers as soon as the work returns, before its scope
 * closes (a lease released, a file unlocked): they need not wait for that.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"

export interface SingleFlight<K, A, E> {
  /** Joins the run of `key` under way, or starts `work` as that run. */
  (key: K, work: Effect.Effect<A, E, Scope.Scope>): Effect.Effect<A, E>
  /** Waits for the run of `key` under way, if there is one. */
  readonly join: (key: K) => Effect.Effect<A, E> | undefined
  /** Waits until no run is under way (those that start meanwhile included), whatever their results. */
  readonly drain: Effect.Effect<void>
}

export const make = <K, A, E>(): SingleFlight<K, A, E> => {
  const inFlight = new Map<K, Deferred.Deferred<A, E>>()
  const run = (key: K, work: Effect.Effect<A, E, Scope.Scope>): Effect.Effect<A, E> =>
    Effect.flatMap(
      // Registering and starting happen together, or a caller interrupted in
      // between would leave a run that never ends.
      Effect.uninterruptible(
        Effect.suspend(() => {
          const running = inFlight.get(key)
          if (running !== undefined) return Effect.succeed(running)
          const done = Deferred.unsafeMake<A, E>(FiberId.none)
          inFlight.set(key, done)
          const publish = (exit: Exit.Exit<A, E>) =>
            Effect.suspend(() => {
              // Later callers start afresh: they may need a newer result than this one.
              inFlight.delete(key)
              return Deferred.done(done, exit)
            })
          const shared = Effect.flatMap(Scope.make(), (scope) =>
            work.pipe(
              Scope.extend(scope),
              Effect.interruptible,
              Effect.exit,
              Effect.tap(publish),
              // The callers resume in turn after this: a scope closed with synchronous
              // work (a file store's lease release) would otherwise keep them waiting.
              Effect.zipLeft(Effect.yieldNow()),
              Effect.flatMap((exit) => Scope.close(scope, exit)),
            ),
          )
          // A daemon started now: `forkDaemon` would queue it behind every fiber already scheduled.
          return Effect.map(Effect.runtime<never>(), (runtime) => {
            Runtime.runFork(runtime, shared, { immediate: true })
            return done
          })
        }),
      ),
      Deferred.await,
    )
  const join = (key: K) => {
    const running = inFlight.get(key)
    return running === undefined ? undefined : Deferred.await(running)
  }
  const drain: Effect.Effect<void> = Effect.suspend(() => {
    const running = [...inFlight.values()]
    if (running.length === 0) return Effect.void
    return Effect.zipRight(
      Effect.forEach(running, (done) => Effect.exit(Deferred.await(done)), { discard: true }),
      drain,
    )
  })
  return Object.assign(run, { join, drain })
}
