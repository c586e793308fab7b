/**
 * Calls that present the same one-time grant at once share one
 * presentation: an authorization code, a rotated refresh token or a device
 * code sent twice is a reuse, which ends the login at the provider (RFC
 * 6749 §4.1.2, §10.4), so the second call must wait for the first one's
 * answer instead of sending its own.
 *
 * Only the same presentation is shared: the grant and everything the
 * provider checks with it (the PKCE verifier, the redirect URI, the client
 * and its secret, the provider's origin), its `Presentation`. A call with
 * the grant but other proof (a code read off a leaked redirect URL, without
 * the login's verifier) would have been refused by the provider, so it is
 * never handed the answer: while the grant's presentation runs, it waits
 * for its end, sending nothing (sent, the code would be a reuse); once the
 * grant was spent here, it fails with `otherProof`, given nothing and
 * sending nothing. A presentation that failed spent nothing: the grant is
 * presented afresh for the next call, whoever's.
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
 * `abortGrace` at most, and takes the tokens it brought; any other end
 * (a refusal, a failure) is the abort's, as nothing was issued. Should the answer
 * come later, nobody is there to take it: it is kept for `keptFor`, and a
 * call that makes the same presentation meanwhile resolves with it,
 * sending nothing. An answer a caller took is kept for `keepTaken` (none
 * unless the maker says), for the same presentation made again just after.
 *
 * A kept answer is handed out however old it is within that time, and the
 * access token in it may have expired meanwhile. It is still handed out:
 * it is the one copy of what the spent grant brought (a rotated refresh
 * token, a login's first tokens), and nothing else gets them back. A call
 * may say what to make of a kept answer first (`fromKept`), which cannot
 * fail: the facade's refreshes renew one whose access token has expired,
 * once, with the refresh token the answer holds (a refresh should resolve
 * with an access token still valid), and hand it out as it is should that
 * renewal fail. A completion or a poll hands its kept answer out as it is:
 * its `expiresIn` is then 0 and its `expiresAt` past, and the caller's next
 * refresh renews it.
 *
 * The grants and presentations are kept as SHA-256 digests, never as the
 * secrets themselves; at most `keptAtMost` answers and `spentAtMost` spent
 * grants (the oldest forgotten first).
 */
import { createHash } from "node:crypto"
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

/** The most spent grants remembered at once (the oldest forgotten first). */
const spentAtMost = 10_000

/**
 * What a call presents: the one-time grant, and everything the provider
 * checks with it. Each is digested at once; neither is kept.
 */
export interface Presentation {
  /** What is spent once presented: a code (with the login and URL it came in), a refresh token, a device code. */
  readonly grant: string
  /** What the provider checks with the grant: the PKCE verifier, the redirect URI, the client id and secret, the origin. */
  readonly proof: ReadonlyArray<string>
}

/** How the calls of one kind of grant are shared. */
export interface Options<A, E> {
  /**
   * The failure of a call whose grant was spent here by a presentation
   * with other proof: it is given nothing, and nothing is sent.
   */
  readonly otherProof: () => E
  /**
   * The failure of a call that makes a presentation again after its grant
   * was spent here and no answer is kept for it; without one, it is
   * presented again and the provider judges.
   */
  readonly again?: (() => E) | undefined
  /** Whether an answer spent the grant presented: a code's always (the default); a refresh token's when it was rotated. */
  readonly spends?: ((answer: A, grant: string) => boolean) | undefined
  /** How long an answer that spent its grant is kept for the same presentation made again, once a caller took it; none by default. */
  readonly keepTaken?: number | undefined
}

/** A presentation's digests: of its grant alone (what runs are shared by), and of the grant with its proof. */
interface Digests {
  readonly grant: string
  readonly presentation: string
}

const digest = (text: string): string => createHash("sha256").update(text).digest("base64url")

const digestsOf = (presented: Presentation): Digests => ({
  grant: digest(presented.grant),
  // JSON: no text of one member can pass for the boundary between two.
  presentation: digest(JSON.stringify([presented.grant, ...presented.proof])),
})

/** One presentation under way, and how many callers wait for it. */
interface Run<A, E> {
  readonly presentation: string
  readonly fiber: Fiber.RuntimeFiber<A, E>
  /**
   * How the work ended, kept from within it: a fiber interrupted while it
   * ran uninterruptibly ends interrupted as it leaves that region, whatever
   * the work brought, and the tokens would go with it.
   */
  readonly ended: { exit: Exit.Exit<A, E> | undefined }
  waiters: number
}

/** An answer kept for the presentation that brought it. */
interface Kept<A, E> {
  readonly presentation: string
  readonly exit: Exit.Exit<A, E>
  readonly until: number
}

/** What a caller's `signal` needs: an `AbortSignal`, of this realm or not. */
export interface Signal {
  readonly aborted: boolean
  readonly addEventListener: (type: "abort", listener: () => void, options?: { readonly once?: boolean }) => void
  readonly removeEventListener: (type: "abort", listener: () => void) => void
}

/**
 * Runs `work`, or waits for the run of the same presentation under way,
 * until the run ends or `signal` aborts. Without a presentation (no grant
 * to speak of: the input is refused anyway), `work` runs alone. An aborted
 * caller ends interrupted, unless it was the last and the run ended with
 * its answer within `abortGrace`. A caller handed a kept answer (an earlier
 * run's) is handed what `fromKept` makes of it, if given.
 */
export type SharedCalls<A, E> = (
  presented: Presentation | undefined,
  work: Effect.Effect<A, E>,
  signal?: Signal | undefined,
  fromKept?: ((answer: A) => Effect.Effect<A>) | undefined,
) => Effect.Effect<A, E>

/** Keeps at most `limit` entries of `map`, forgetting the oldest. */
const bound = <K, V>(map: Map<K, V>, limit: number): void => {
  while (map.size > limit) {
    const oldest = map.keys().next()
    if (oldest.done === true) return
    map.delete(oldest.value)
  }
}

/** Waits for `run` to end, or for `signal` to abort: not as one of its callers, whose answer is not this caller's. */
const endOf = <A, E>(run: Run<A, E>, signal: Signal | undefined): Effect.Effect<"ended" | "left"> =>
  Effect.async<"ended" | "left">((resume) => {
    const onEnd = () => {
      signal?.removeEventListener("abort", onAbort)
      resume(Effect.succeed("ended"))
    }
    let aborted = false
    const onAbort = () => {
      if (aborted) return
      aborted = true
      run.fiber.removeObserver(onEnd)
      resume(Effect.succeed("left"))
    }
    signal?.addEventListener("abort", onAbort, { once: true })
    run.fiber.addObserver(onEnd)
    return Effect.sync(() => {
      run.fiber.removeObserver(onEnd)
      signal?.removeEventListener("abort", onAbort)
    })
  })

export const make = <A, E>(options: Options<A, E>): SharedCalls<A, E> => {
  const { otherProof, again, spends = () => true, keepTaken = 0 } = options
  /** By grant: one presentation of a grant at a time, whoever's. */
  const runs = new Map<string, Run<A, E>>()
  const kept = new Map<string, Kept<A, E>>()
  /** The grants spent here, each with the presentation that spent it. */
  const spent = new Map<string, string>()

  const keptOf = (grant: string): Kept<A, E> | undefined => {
    const held = kept.get(grant)
    if (held === undefined) return undefined
    if (held.until > Date.now()) return held
    kept.delete(grant)
    return undefined
  }

  const keep = (grant: string, held: Kept<A, E>): void => {
    kept.delete(grant)
    kept.set(grant, held)
    bound(kept, keptAtMost)
  }

  /** Starts the presentation; of what was presented, it holds the grant alone, until the answer is checked against it. */
  const start = (grant: string, digests: Digests, work: Effect.Effect<A, E>): Run<A, E> => {
    // Its own fiber, with every service provided: no caller's scope holds it.
    // Uninterruptible but for the waits the work marks interruptible.
    const ended: Run<A, E>["ended"] = { exit: undefined }
    const recorded = Effect.onExit(work, (exit) =>
      Effect.sync(() => {
        ended.exit = exit
      }),
    )
    const run: Run<A, E> = {
      presentation: digests.presentation,
      fiber: Effect.runFork(Effect.uninterruptible(recorded)),
      ended,
      waiters: 0,
    }
    runs.set(digests.grant, run)
    run.fiber.addObserver(() => {
      if (runs.get(digests.grant) === run) runs.delete(digests.grant)
      const exit = ended.exit
      if (exit === undefined || !Exit.isSuccess(exit) || !spends(exit.value, grant)) return
      spent.delete(digests.grant)
      spent.set(digests.grant, digests.presentation)
      bound(spent, spentAtMost)
      // Every caller left before the answer came: kept for the next call with the presentation, which would make it again.
      const until = Date.now() + (run.waiters === 0 ? keptFor : keepTaken)
      if (run.waiters === 0 || keepTaken > 0) keep(digests.grant, { presentation: digests.presentation, exit, until })
    })
    return run
  }

  const share = (
    presented: Presentation,
    digests: Digests,
    work: Effect.Effect<A, E>,
    signal: Signal | undefined,
    fromKept: ((answer: A) => Effect.Effect<A>) | undefined,
  ): Effect.Effect<A, E> =>
    // Joining and counting happen together, or an abort in between would miscount.
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        // What fetch does: an aborted signal starts nothing.
        if (signal?.aborted === true) return Effect.interrupt
        const held = keptOf(digests.grant)
        if (held !== undefined) {
          if (held.presentation !== digests.presentation) return Effect.fail(otherProof())
          // Interruptible like every wait for an answer: what `fromKept` makes of it may be a request.
          return fromKept !== undefined && Exit.isSuccess(held.exit) ? restore(fromKept(held.exit.value)) : held.exit
        }
        const spentBy = spent.get(digests.grant)
        if (spentBy !== undefined && spentBy !== digests.presentation) return Effect.fail(otherProof())
        if (spentBy !== undefined && again !== undefined) return Effect.fail(again())
        const current = runs.get(digests.grant)
        // Another presentation of the grant is on its way: its answer is not this call's, and sent now, the grant would be a reuse.
        if (current !== undefined && current.presentation !== digests.presentation) {
          return Effect.flatMap(restore(endOf(current, signal)), (outcome) =>
            outcome === "left" ? Effect.interrupt : share(presented, digests, work, signal, fromKept),
          )
        }
        const run = current ?? start(presented.grant, digests, work)
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
            // The last caller, aborted, took the answer after all: nobody is left to keep it for but a call made again just after.
            const held = kept.get(digests.grant)
            if (held?.exit === answer) {
              if (keepTaken > 0) keep(digests.grant, { ...held, until: Date.now() + keepTaken })
              else kept.delete(digests.grant)
            }
            // Aborted, this caller waited for tokens only: anything else (a refusal, a failure) ends it as the abort.
            resume(Effect.succeed(left && !Exit.isSuccess(answer) ? "left" : answer))
          }
          const stopWaiting = () => {
            run.fiber.removeObserver(onExit)
            resume(Effect.succeed("left"))
          }
          let aborted = false
          const onAbort = () => {
            // Once: a polyfill may fire again (ignoring `once`), which must not end the grace early.
            if (aborted) return
            aborted = true
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
            if (!left && Exit.isInterrupted(outcome)) return share(presented, digests, work, signal, fromKept)
            return outcome
          }),
          Effect.onInterrupt(() => Effect.sync(leave)),
        )
      }),
    )

  return (presented, work, signal, fromKept) =>
    presented === undefined ? work : share(presented, digestsOf(presented), work, signal, fromKept)
}
