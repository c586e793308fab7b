/**
 * How long one call to a provider may take, and how a failed one is tried
 * again: the two options every provider's `make`, `AuthorizedClient` and
 * `ApiClient` take, in one place.
 *
 * Only transport failures and 408, 429 and 5xx answers are retried, and
 * only requests that are safe to repeat (never one that redeems a one-time
 * code, except after a 429 or 503). A `Retry-After` replaces the backoff.
 *
 * @example
 * ```ts
 * import { Hyper, Limits } from "@hyperauth/core"
 * import * as Duration from "effect/Duration"
 *
 * const limits: Limits.Options = {
 *   timeout: "10 seconds",
 *   retryPolicy: { ...Limits.defaultRetryPolicy, retries: 1, maxDelay: Duration.seconds(2) },
 * }
 * const hyper = Hyper.make({ baseUrl: Hyper.defaultBaseUrl, clientId: "cli", ...limits })
 * ```
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Schedule from "effect/Schedule"
import * as Pipeline from "./internal/pipeline.js"

/**
 * The time limit of one attempt and the retry policy.
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 *
 * const patient: Limits.Options = { timeout: "1 minute", retryPolicy: { ...Limits.defaultRetryPolicy, retries: 5 } }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Limit of one attempt, from sending to the last byte of the body (`Settings.defaultHttpTimeout` by default). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Numbers for the standard backoff, or a `Schedule` of one's own (`defaultRetryPolicy` by default). */
  readonly retryPolicy?: RetryPolicy | undefined
}

/**
 * When and how often a failed request is tried again, in numbers.
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 * import * as Duration from "effect/Duration"
 *
 * const quick: Limits.RetryOptions = { ...Limits.defaultRetryPolicy, baseDelay: Duration.millis(50) }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type RetryOptions = Pipeline.RetryOptions

/**
 * A failed attempt that may be tried again, as a retry schedule is fed it:
 * the failure (a `ConnectionError` or the answer) and the `Retry-After` the
 * server asked for, when it asked.
 *
 * @example
 * ```ts
 * import type { Limits } from "@hyperauth/core"
 * import * as Option from "effect/Option"
 *
 * const askedToWait = (failed: Limits.Failed) => Option.isSome(failed.retryAfter)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Failed = Pipeline.Failed

/**
 * Numbers for the standard schedule (`retrySchedule`), or a `Schedule` of
 * one's own, fed each `Failed` attempt.
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 * import * as Schedule from "effect/Schedule"
 *
 * const twiceAtOnce: Limits.RetryPolicy = Schedule.recurs(2)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type RetryPolicy = RetryOptions | Schedule.Schedule<unknown, Failed>

/**
 * Three retries, from 250 ms doubling up to 10 s with jitter; a
 * `Retry-After` over 30 s is not waited for, nor is a retry made that
 * would begin more than 30 s after the first attempt was sent, its slow
 * failures included (an MCP client gives up on a call after 60 s).
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 *
 * const once: Limits.RetryOptions = { ...Limits.defaultRetryPolicy, retries: 1 }
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultRetryPolicy: RetryOptions = Pipeline.defaultRetryPolicy

/**
 * The schedule `RetryOptions` stand for: exponential backoff from
 * `baseDelay`, capped at `maxDelay`, scaled by a jitter in [0.5, 1], at
 * most `retries` times; a `Retry-After` replaces the backoff, and one past
 * `maxRetryAfter` ends the retries, as does a wait that would end past
 * `maxTotalDelay` after the first attempt was sent (`Failed.elapsed`, or
 * from the first failure fed when absent). Outputs the delay it is about to
 * wait.
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 * import * as Schedule from "effect/Schedule"
 *
 * // The standard backoff, and never more than 5 seconds of waiting in all.
 * const bounded = Limits.retrySchedule(Limits.defaultRetryPolicy).pipe(Schedule.upTo("5 seconds"))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const retrySchedule: (policy: RetryOptions) => Schedule.Schedule<Duration.Duration, Failed> =
  Pipeline.retrySchedule
