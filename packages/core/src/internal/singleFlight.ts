/**
 * Single flight: callers that ask for the same key while its work runs
 * share that one run and its result, instead of queuing for runs of their
 * own. The work runs in its own fiber, so a caller that stops waiting does
 * not stop it for the others.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"

export type SingleFlight<K, A, E> = (key: K, work: Effect.Effect<A, E>) => Effect.Effect<A, E>

export const make = <K, A, E>(): SingleFlight<K, A, E> => {
  const inFlight = new Map<K, Deferred.Deferred<A, E>>()
  return (key, work) =>
    Effect.flatMap(
      // Registering and starting happen together, or a caller interrupted in
      // between would leave a run that never ends.
      Effect.uninterruptible(
        Effect.suspend(() => {
          const running = inFlight.get(key)
          if (running !== undefined) return Effect.succeed(running)
          const done = Deferred.unsafeMake<A, E>(FiberId.none)
          inFlight.set(key, done)
          return work.pipe(
            Effect.interruptible,
            Effect.exit,
            // Later callers start afresh: they may need a newer result than this one.
            Effect.tap(() => Effect.sync(() => inFlight.delete(key))),
            Effect.flatMap((exit) => Deferred.done(done, exit)),
            Effect.forkDaemon,
            Effect.as(done),
          )
        }),
      ),
      Deferred.await,
    )
}
