/**
 * The RFC 8628 device authorization grant's polling loop, generic over the
 * token request so that any provider's device flow can use it.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { OAuthProtocolError } from "./OAuthError.js"

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
 * What `poll` needs: the token request to repeat, the device code's
 * interval and when it expires.
 *
 * @since 0.1.0
 * @category models
 */
export interface PollOptions<A, E> {
  /** One token request; fails with `OAuthProtocolError` for RFC 8628 answers. */
  readonly request: Effect.Effect<A, E | OAuthProtocolError>
  /** The device code's `interval`; `defaultInterval` when absent, `minimumInterval` at least. */
  readonly interval?: Duration.DurationInput | undefined
  /** When the device code expires; no poll is sent after it. */
  readonly expiresAt: DateTime.Utc
  readonly provider?: string | undefined
}

const isProtocolError = (error: unknown, code: string): boolean =>
  error instanceof OAuthProtocolError && error.error === code

/**
 * Polls `request` until it yields a token.
 *
 * Each poll waits the interval first, so the server never sees two polls
 * closer than the interval (counting from the device authorization).
 * `authorization_pending` polls again; `slow_down` adds 5 s to this and
 * every later wait; any other error (`access_denied`, `expired_token`, a
 * transport failure the pipeline gave up on) stops the loop. When the next
 * poll would fall after `expiresAt`, the loop stops with `expired_token`
 * without asking the server again.
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
  const expired = new OAuthProtocolError({
    provider: options.provider,
    error: "expired_token",
    errorDescription: "the device code expired before the user approved the login",
  })
  const loop = (interval: Duration.Duration): Effect.Effect<A, E | OAuthProtocolError> =>
    Effect.gen(function* () {
      const now = yield* DateTime.now
      if (DateTime.greaterThan(DateTime.addDuration(now, interval), options.expiresAt)) return yield* expired
      yield* Effect.sleep(interval)
      const answer = yield* Effect.either(options.request)
      if (Either.isRight(answer)) return answer.right
      if (isProtocolError(answer.left, "authorization_pending")) return yield* loop(interval)
      if (isProtocolError(answer.left, "slow_down")) return yield* loop(Duration.sum(interval, slowDownIncrement))
      return yield* Effect.fail(answer.left)
    })
  return loop(
    options.interval === undefined ? defaultInterval : Duration.max(Duration.decode(options.interval), minimumInterval),
  )
}
