/**
 * The RFC 8628 device authorization grant's polling loop, generic over the
 * token request so that any provider's device flow can use it.
 *
 * @since 0.1.0
 */

import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { OAuthProtocolError, type RequestFailure } from "./OAuthError.js"

/**
 * RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * Duration.toSeconds(Duration.sum(DeviceFlow.defaultInterval, DeviceFlow.slowDownIncrement)) // 10
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const slowDownIncrement: Duration.Duration = Duration.seconds(5)

/**
 * RFC 8628 §3.2: the interval when the server gives none.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * Duration.toSeconds(DeviceFlow.defaultInterval) // 5
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultInterval: Duration.Duration = Duration.seconds(5)

/**
 * The shortest interval honoured: RFC 8628 counts it in whole seconds, and
 * a server's `0` (or a fraction) must not make hyperauth poll in a loop.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * Duration.toSeconds(DeviceFlow.minimumInterval) // 1
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const minimumInterval: Duration.Duration = Duration.seconds(1)

/**
 * The interval to poll at for a device code's `interval` in seconds:
 * `defaultInterval` when absent, never below `minimumInterval`.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * Duration.toSeconds(DeviceFlow.intervalOf(undefined)) // 5
 * Duration.toSeconds(DeviceFlow.intervalOf(0)) // 1
 * Duration.toSeconds(DeviceFlow.intervalOf(10)) // 10
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const intervalOf = (seconds: number | undefined): Duration.Duration =>
  seconds === undefined ? defaultInterval : Duration.max(Duration.seconds(seconds), minimumInterval)

/**
 * The longest wait between polls that transient failures back off to; a
 * `slow_down` interval or a `Retry-After` may still be longer.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * Duration.toSeconds(DeviceFlow.maximumBackoff) // 60
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const maximumBackoff: Duration.Duration = Duration.seconds(60)

/**
 * What a poll fails with when it failed in a way worth trying again later:
 * a timeout, a connection error, or a 408, 429 or 5xx answer (the
 * pipeline's own notion of a retryable failure). `poll` then backs off and
 * goes on; `failure` is what went wrong, `retryAfter` the wait the server
 * asked for, if any.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { DeviceFlow, OAuthError } from "@hyperauth/core"
 *
 * const failure = new OAuthError.HttpError({ provider: "hyper", url: "https://api.hyper.io/oauth/token", status: 503, excerpt: "" })
 * const transient = new DeviceFlow.TransientFailure({ failure, retryAfter: Option.none() })
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class TransientFailure extends Data.TaggedError("TransientFailure")<{
  readonly failure: RequestFailure
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

/**
 * Told each longer interval a `slow_down` brings: a `Context.Reference`
 * whose default does nothing, so `poll` needs nothing. RFC 8628 §3.5 keeps
 * the increase "for this and all subsequent requests": a pending login's
 * record keeps it, so that a process taking the polling over (a restarted
 * server, another replica) asks no sooner.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { DeviceFlow } from "@hyperauth/core"
 *
 * const logged = <A, E>(polling: Effect.Effect<A, E>) =>
 *   Effect.provideService(polling, DeviceFlow.SlowDowns, {
 *     record: (interval) => Effect.logInfo(`polling every ${Duration.format(interval)} from now on`),
 *   })
 * ```
 *
 * @since 0.2.0
 * @category services
 */
export class SlowDowns extends Context.Reference<SlowDowns>()("@hyperauth/core/DeviceFlow/SlowDowns", {
  // Nobody told: the longer interval is kept by the polling alone.
  defaultValue: (): { readonly record: (interval: Duration.Duration) => Effect.Effect<void> } => ({
    record: () => Effect.void,
  }),
}) {}

/**
 * What `poll` needs: the token request to repeat, the device code's
 * interval and when it expires.
 *
 * @example
 * ```ts
 * import { DateTime, type Effect } from "effect"
 * import type { DeviceFlow, OAuthError, Token } from "@hyperauth/core"
 *
 * declare const tokenRequest: Effect.Effect<Token.TokenSet, OAuthError.OAuthProtocolError>
 *
 * const options: DeviceFlow.PollOptions<Token.TokenSet, never> = {
 *   request: tokenRequest,
 *   interval: "5 seconds",
 *   expiresAt: DateTime.unsafeMake("2030-01-01T00:10:00Z"),
 *   provider: "hyper",
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PollOptions<A, E> {
  /**
   * One token request, sent once (no retries of its own: `poll` keeps the
   * interval); fails with `OAuthProtocolError` for RFC 8628 answers and
   * `TransientFailure` for a failure to poll again after backing off.
   */
  readonly request: Effect.Effect<A, E | OAuthProtocolError | TransientFailure>
  /** The device code's `interval`; `defaultInterval` when absent, `minimumInterval` at least. */
  readonly interval?: Duration.DurationInput | undefined
  /** When the device code expires; no poll is sent after it. */
  readonly expiresAt: DateTime.Utc
  readonly provider?: string | undefined
}

const isProtocolError = (error: unknown, code: string): boolean =>
  error instanceof OAuthProtocolError && error.error === code

/** Where the loop is: the interval (with any `slow_down` increases) and the transient failures in a row. */
interface State {
  readonly interval: Duration.Duration
  readonly failures: number
  readonly lastFailure: RequestFailure | undefined
  /** The wait before the next poll. */
  readonly wait: Duration.Duration
}

/**
 * Polls `request` until it yields a token.
 *
 * Each poll waits first, so the server never sees two polls closer than
 * the interval (counting from the device authorization).
 * `authorization_pending` polls again after the interval; `slow_down` adds
 * 5 s to this and every later wait. A `TransientFailure` (timeout,
 * connection error, 408, 429, 5xx) does not end the login: RFC 8628 §3.5
 * asks for a lower polling frequency, so the wait doubles with each such
 * failure in a row, up to `maximumBackoff`, and is at least a `Retry-After`
 * the server sent; the next normal answer goes back to the interval. Any
 * other error (`access_denied`, `expired_token`, `invalid_client`, an
 * unreadable answer) stops the loop. Each longer interval is told to
 * `SlowDowns`, when the context has it. When the next poll would fall after
 * `expiresAt`, the loop stops with `expired_token` without asking the
 * server again; a backed-off wait is cut to the time left, so that the last
 * try comes no later than the expiry. The waits are interruptible even when
 * the loop runs uninterruptibly: run so, it can be stopped between polls
 * but never drops a poll's answer, which may be the token.
 *
 * @example
 * ```ts
 * import { DateTime, Effect } from "effect"
 * import { DeviceFlow, type OAuthError } from "@hyperauth/core"
 *
 * // `request` is one RFC 8628 token request for the device code the user is approving.
 * const waitForApproval = <A, E>(request: Effect.Effect<A, E | OAuthError.OAuthProtocolError>) =>
 *   Effect.gen(function* () {
 *     const expiresAt = DateTime.addDuration(yield* DateTime.now, "10 minutes")
 *     return yield* DeviceFlow.poll({ request, interval: "5 seconds", expiresAt, provider: "hyper" })
 *   })
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const poll = <A, E>(options: PollOptions<A, E>): Effect.Effect<A, E | OAuthProtocolError> => {
  const expired = (state: State) =>
    new OAuthProtocolError({
      provider: options.provider,
      error: "expired_token",
      errorDescription:
        state.lastFailure === undefined
          ? "the device code expired before the user approved the login"
          : `the device code expired while polling kept failing (last: ${state.lastFailure.code})`,
    })
  const regular = (interval: Duration.Duration): State => ({
    interval,
    failures: 0,
    lastFailure: undefined,
    wait: interval,
  })
  const backedOff = (state: State, transient: TransientFailure, left: Duration.Duration): State => {
    const failures = state.failures + 1
    const backoff = Duration.min(Duration.min(Duration.times(state.interval, 2 ** failures), maximumBackoff), left)
    const wait = Duration.max(state.interval, backoff)
    return {
      interval: state.interval,
      failures,
      lastFailure: transient.failure,
      wait: Option.match(transient.retryAfter, { onNone: () => wait, onSome: (asked) => Duration.max(wait, asked) }),
    }
  }
  const loop = (state: State): Effect.Effect<A, E | OAuthProtocolError> =>
    Effect.gen(function* () {
      const now = yield* DateTime.now
      if (DateTime.greaterThan(DateTime.addDuration(now, state.wait), options.expiresAt)) return yield* expired(state)
      // Interruptible even where the poll runs uninterruptibly (the Promise facade's polling): nothing is on its way
      // while it waits, whereas a poll sent may have redeemed the code, and its answer is then the one copy of the token.
      yield* Effect.interruptible(Effect.sleep(state.wait))
      const answer = yield* Effect.either(options.request)
      if (Either.isRight(answer)) return answer.right
      const error = answer.left
      if (isProtocolError(error, "authorization_pending")) return yield* loop(regular(state.interval))
      // RFC 8628 §3.5: the increase holds "for this and all subsequent requests".
      if (isProtocolError(error, "slow_down")) {
        const slower = Duration.sum(state.interval, slowDownIncrement)
        yield* (yield* SlowDowns).record(slower)
        return yield* loop(regular(slower))
      }
      if (error instanceof TransientFailure) {
        const left = DateTime.distanceDuration(yield* DateTime.now, options.expiresAt)
        const next = backedOff(state, error, left)
        yield* Effect.logDebug("hyperauth: a device poll failed; polling again after backing off").pipe(
          Effect.annotateLogs({
            provider: options.provider,
            after: error.failure.code,
            failures: next.failures,
            wait: Duration.format(next.wait),
          }),
        )
        return yield* loop(next)
      }
      return yield* Effect.fail(error)
    })
  return loop(
    regular(
      options.interval === undefined
        ? defaultInterval
        : Duration.max(Duration.decode(options.interval), minimumInterval),
    ),
  )
}
