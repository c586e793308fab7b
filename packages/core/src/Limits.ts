/**
 * How long one call to a provider may take, and how a failed one is tried
 * again: the two options every provider's `make`, `AuthorizedClient` and
 * `ApiClient` take, in one place.
 *
 * Only transport failures and 408, 429 and 5xx answers are retried, and
 * only requests that are safe to repeat: never one that redeems a one-time
 * grant (a code, a refresh token), and an API call that is not (a POST)
 * only after a 429 or 503. A `Retry-After` replaces the backoff.
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
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Pipeline from "./internal/pipeline.js"
import type { ConnectionError } from "./OAuthError.js"

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
export interface RetryOptions {
  /** Retries after the first attempt. */
  readonly retries: number
  /** Delay before the first retry; doubles each time, with jitter. */
  readonly baseDelay: Duration.Duration
  /** Upper bound of one backoff delay. */
  readonly maxDelay: Duration.Duration
  /** A `Retry-After` longer than this is not waited for: the request fails. */
  readonly maxRetryAfter: Duration.Duration
  /**
   * Time since the first attempt was sent past which no retry ends (default
   * 30 s): a wait that would end later is not made, and the last failure
   * stands. The attempts' own time counts, so the last retry begins by then
   * and ends within its time limit after.
   */
  readonly maxTotalDelay?: Duration.Duration | undefined
}

/**
 * The answer of a failed attempt, as a retry schedule sees it: where it
 * came from, its status and its headers. Never its body, nor anything of
 * the request (its secrets stay with the pipeline).
 *
 * @example
 * ```ts
 * import type { Limits } from "@hyperauth/core"
 *
 * const overloaded = (answer: Limits.FailedAnswer) => answer.status === 503 || answer.status === 429
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface FailedAnswer {
  /** Origin and path that answered (no query). */
  readonly url: string
  /** The HTTP status: 408, 429 or 5xx (the only answers that are retried). */
  readonly status: number
  /** The answer's headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A failed attempt that may be tried again, as a retry schedule is fed it:
 * the failure (the `ConnectionError` of a transport failure, or the
 * answer's status and headers), the `Retry-After` the server asked for,
 * when it asked, and the time since the first attempt was sent. It carries
 * no secret and no body: a schedule of one's own sees what it needs to
 * decide, nothing of the request.
 *
 * @example
 * ```ts
 * import { Limits } from "@hyperauth/core"
 * import * as Duration from "effect/Duration"
 * import * as Option from "effect/Option"
 * import * as Schedule from "effect/Schedule"
 *
 * // Retry transport failures and 503s only, three times, waiting what the server asks for (1 s otherwise).
 * const patient: Limits.RetryPolicy = Schedule.recurs(3).pipe(
 *   Schedule.intersect(Schedule.identity<Limits.Failed>()),
 *   Schedule.whileInput((failed: Limits.Failed) => !("status" in failed.failure) || failed.failure.status === 503),
 *   Schedule.addDelay(([, failed]) => Option.getOrElse(failed.retryAfter, () => Duration.seconds(1))),
 * )
 * const askedToWait = (failed: Limits.Failed) => Option.isSome(failed.retryAfter)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Failed {
  /** The transport failure, or the answer that failed. */
  readonly failure: ConnectionError | FailedAnswer
  /** The wait the server asked for (`Retry-After`), if it asked. */
  readonly retryAfter: Option.Option<Duration.Duration>
  /**
   * Time since the request's first attempt was sent, attempts included (the
   * pipeline always gives it); where absent, a schedule counts from the
   * first failure it is fed.
   */
  readonly elapsed?: Duration.Duration | undefined
}

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
