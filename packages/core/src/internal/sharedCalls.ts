/**
 * Calls that present the same one-time grant at once share one
 * presentation: an authorization code, a rotated refresh token or a device
 * code sent twice is a reuse, which ends the login at the provider (RFC
 * 6749 §4.1.2, §10.4), so the second call must wait for the first one's
 * answer instead of sending its own.
 *
 * Unlike `singleFlight`, a run is its callers' alone: each may stop waiting
 * (an abort) and leave it to the others, and once every caller has left,
 * the run is stopped, so an abort still stops the polling.
 *
 * A run is stopped only where it waits (a poll's interval, a retry's
 * backoff: the waits the services make interruptible), never while a
 * request is on its way: the provider may have acted on the grant already,
 * and its answer is then the one copy of the tokens. So the last caller to
 * abort waits for the run to reach its next wait or its end, for
 * `abortGrace` at most, and takes the tokens it brought. Should the answer
 * come later, nobody is there to take it: it is kept for `keptFor`, and a
 * call that presents the same grant meanwhile resolves with it, sending
 * nothing. Otherwise a run that ended is forgotten: a later call presents
 * the grant afresh.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"

/** How long the last caller to abort waits for a request on its way to answer. */
export const abortGrace = 1_000

/** How long the answer of a run that every caller left is kept for the next call with its grant. */
export const keptFor = 5 * 60_000

/** The most answers kept at once (the oldest forgotten first). */
const keptAtMost = 1_000

/** One presentation under way, and how many callers wait for it. */
interface Run<A, E> {
  readonly fiber: Fiber.RuntimeFiber<A, E>
  /**
   * How the work ended, kept from within it: a fiber interrupted while it
   * ran uninterruptibly ends interrupted as it leaves that region, whatever
   * the work brought, and the tokens would go with it.
   */
  readonly ended: { exit: Exit.Exit<A, E> | undefined }
  waiters: number
}

/** What a caller's `signal` needs: an `AbortSignal`, of this realm or not. */
export interface Signal {
  readonly aborted: boolean
  readonly addEventListener: (type: "abort", listener: () => void, options?: { readonly once?: boolean }) => void
  readonly removeEventListener: (type: "abort", listener: () => void) => void
}

/**
 * Runs `work`, or waits for the run of `key` under way, until the run ends
 * or `signal` aborts. Without a key (no grant to speak of: the input is
 * refused anyway), `work` runs alone. An aborted caller ends interrupted,
 * unless it was the last and the run ended with its answer within
 * `abortGrace`.
 */
export interface SharedCalls<A, E> {
  (key: string | undefined, work: Effect.Effect<A, E>, signal?: Signal | undefined): Effect.Effect<A, E>
  /** Whether an answer nobody took is kept for `key`: the next call with it resolves with that answer. */
  readonly holds: (key: string) => boolean
}

export const make = <A, E>(): SharedCalls<A, E> => {
  const runs = new Map<string, Run<A, E>>()
  const kept = new Map<string, { readonly exit: Exit.Exit<A, E>; readonly until: number }>()

  const keptExit = (key: string): Exit.Exit<A, E> | undefined => {
    const held = kept.get(key)
    if (held === undefined) return undefined
    if (held.until > Date.now()) return held.exit
    kept.delete(key)
    return undefined
  }

  const start = (key: string, work: Effect.Effect<A, E>): Run<A, E> => {
    // Its own fiber, with every service provided: no caller's scope holds it.
    // Uninterruptible but for the waits the work marks interruptible.
    const ended: Run<A, E>["ended"] = { exit: undefined }
    const recorded = Effect.onExit(work, (exit) =>
      Effect.sync(() => {
        ended.exit = exit
      }),
    )
    const run: Run<A, E> = { fiber: Effect.runFork(Effect.uninterruptible(recorded)), ended, waiters: 0 }
    runs.set(key, run)
    run.fiber.addObserver(() => {
      if (runs.get(key) === run) runs.delete(key)
      // Every caller left before the answer came: kept for the next call with the grant, which would present it again.
      if (run.waiters === 0 && ended.exit !== undefined && Exit.isSuccess(ended.exit)) {
        kept.set(key, { exit: ended.exit, until: Date.now() + keptFor })
        if (kept.size > keptAtMost) {
          const oldest = kept.keys().next()
          if (oldest.done !== true) kept.delete(oldest.value)
        }
      }
    })
    return run
  }

  const share = (key: string, work: Effect.Effect<A, E>, signal: Signal | undefined): Effect.Effect<A, E> =>
    // Joining and counting happen together, or an abort in between would miscount.
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        // What fetch does: an aborted signal starts nothing.
        if (signal?.aborted === true) return Effect.interrupt
        const held = keptExit(key)
        if (held !== undefined) return held
        const run = runs.get(key) ?? start(key, work)
        run.waiters += 1
        let left = false
        /** Leaves the run; the last to leave stops it (at its next wait). Whether this caller was the last. */
        const leave = (): boolean => {
          if (left) return false
          left = true
          run.waiters -= 1
          if (run.waiters > 0) return false
          run.fiber.unsafeInterruptAsFork(FiberId.none)
          return true
        }
        const waited = Effect.async<Exit.Exit<A, E> | "left">((resume) => {
          let grace: ReturnType<typeof setTimeout> | undefined
          const onExit = (exit: Exit.Exit<A, E>) => {
            clearTimeout(grace)
            signal?.removeEventListener("abort", onAbort)
            const answer = run.ended.exit ?? exit
            // The last caller, aborted, took the answer after all: nobody is left to keep it for.
            if (kept.get(key)?.exit === answer) kept.delete(key)
            resume(Effect.succeed(answer))
          }
          const stopWaiting = () => {
            run.fiber.removeObserver(onExit)
            resume(Effect.succeed("left"))
          }
          const onAbort = () => {
            // Others wait for the run: it goes on for them.
            if (!leave()) return stopWaiting()
            // The last caller: the run stops at its next wait, or answers first, which is then this caller's answer.
            grace = setTimeout(stopWaiting, abortGrace)
          }
          signal?.addEventListener("abort", onAbort, { once: true })
          run.fiber.addObserver(onExit)
          return Effect.sync(() => {
            clearTimeout(grace)
            run.fiber.removeObserver(onExit)
            signal?.removeEventListener("abort", onAbort)
          })
        })
        return restore(waited).pipe(
          Effect.flatMap((outcome) => {
            if (outcome === "left") return Effect.interrupt
            // A run its earlier callers all left ended stopped before this caller's answer: present the grant afresh.
            if (!left && Exit.isInterrupted(outcome)) return share(key, work, signal)
            return outcome
          }),
          Effect.onInterrupt(() => Effect.sync(leave)),
        )
      }),
    )

  const shared = (key: string | undefined, work: Effect.Effect<A, E>, signal?: Signal | undefined) =>
    key === undefined ? work : share(key, work, signal)
  return Object.assign(shared, { holds: (key: string) => keptExit(key) !== undefined })
}
