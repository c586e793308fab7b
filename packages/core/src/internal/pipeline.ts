/**
 * The one HTTP pipeline every provider request goes through, as middleware
 * around the caller's `HttpClient`.
 *
 * It owns what no provider should get wrong on its own: `Accept`,
 * `User-Agent` and no redirects, set once on the client; the per-attempt
 * time limit; retrying only what is safe to repeat, on a `Schedule` that
 * honours `Retry-After`; and reading at most a bounded body. What an answer
 * means (a decoded result or a typed, secret-free error) is `classify.ts`'s.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { TransientFailure } from "../DeviceFlow.js"
import type * as PublicLimits from "../Limits.js"
import * as NodeHttpTransport from "../NodeHttpTransport.js"
import { ConnectionError, InvalidInput, type RequestFailure, Timeout } from "../OAuthError.js"
import * as Classify from "./classify.js"
import { defaultHttpTimeout } from "./config.js"
import { displayUrl } from "./scrub.js"
import { traced } from "./tracing.js"

export { defaultMaxBodyBytes, type Exchange } from "./classify.js"

/** When and how often a failed request is tried again, in numbers; `Limits.RetryOptions` publicly. */
export type RetryOptions = PublicLimits.RetryOptions

/**
 * What sending one request can fail with, before any answer is read:
 * the connection, the time limit, or a request that could not be sent at all.
 */
export type SendFailure = ConnectionError | Timeout | InvalidInput

/** Whether node's HTTP parser failed on what the server sent (`HPE_HEADER_OVERFLOW`, `HPE_INVALID_…`): it did answer. */
const unreadable = (cause: unknown): boolean =>
  cause instanceof Error && "code" in cause && typeof cause.code === "string" && cause.code.startsWith("HPE_")

/**
 * A failed attempt the pipeline would try again, as a schedule is fed it
 * (`Limits.Failed`): a copy of the answer's status and headers, never its
 * body nor the request's secrets. Which failures get this far is the
 * pipeline's decision (what is safe to repeat); when and how often, the
 * schedule's.
 */
export type Failed = PublicLimits.Failed

/** The schedule of retries: fed each failed attempt, it says whether and when to try again. */
export type RetrySchedule = Schedule.Schedule<unknown, Failed>

/** Numbers for the standard schedule, or a schedule of one's own (tests inject one). */
export type RetryPolicy = RetryOptions | RetrySchedule

export const defaultRetryPolicy: RetryOptions = {
  retries: 3,
  baseDelay: Duration.millis(250),
  maxDelay: Duration.seconds(10),
  maxRetryAfter: Duration.seconds(30),
  maxTotalDelay: Duration.seconds(30),
}

/** When `maxTotalDelay` is not given: a caller (an MCP client gives up after 60 s) hears back in time. */
const defaultMaxTotalDelay = Duration.seconds(30)

/**
 * Exponential backoff from `baseDelay`, capped at `maxDelay`, scaled by a
 * jitter in [0.5, 1], at most `retries` times; a `Retry-After` replaces the
 * backoff, and one past `maxRetryAfter` ends the retries, as does a wait
 * that would end past `maxTotalDelay` after the first attempt was sent
 * (`Failed.elapsed`). Outputs the delay it is about to wait.
 */
export const retrySchedule = (policy: RetryOptions): Schedule.Schedule<Duration.Duration, Failed> =>
  Schedule.exponential(policy.baseDelay).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, policy.maxDelay)),
    Schedule.jitteredWith({ min: 0.5, max: 1 }),
    Schedule.intersect(Schedule.recurs(policy.retries)),
    Schedule.intersect(Schedule.identity<Failed>()),
    Schedule.whileInput((failed: Failed) =>
      Option.match(failed.retryAfter, {
        onNone: () => true,
        onSome: (wait) => Duration.lessThanOrEqualTo(wait, policy.maxRetryAfter),
      }),
    ),
    Schedule.modifyDelay(([, failed], delay) => Option.getOrElse(failed.retryAfter, () => delay)),
    Schedule.delays,
    Schedule.intersect(Schedule.elapsed),
    // The slow attempts count too: a schedule's own `elapsed` starts at the first failure it is fed.
    Schedule.check((failed: Failed, [delay, elapsed]) =>
      Duration.lessThanOrEqualTo(
        Duration.sum(failed.elapsed ?? elapsed, delay),
        policy.maxTotalDelay ?? defaultMaxTotalDelay,
      ),
    ),
    Schedule.map(([delay]) => delay),
  )

const toSchedule = (policy: RetryPolicy | undefined): RetrySchedule =>
  policy === undefined ? defaultSchedule : Schedule.isSchedule(policy) ? policy : retrySchedule(policy)

const defaultSchedule = retrySchedule(defaultRetryPolicy)

export const defaultTimeout: Duration.Duration = defaultHttpTimeout

const userAgent = "hyperauth/0.1.0"

/** Whose requests these are. */
export interface Target {
  /** Provider id, named in every error. */
  readonly provider: string
  /** Prepended to every request URL that is a path (`/…`). */
  readonly baseUrl?: string | undefined
}

/** The time limit of one attempt (sending to the last byte of the body) and the retry policy; `Limits.Options` publicly. */
export interface Limits {
  readonly timeout?: Duration.DurationInput | undefined
  readonly retryPolicy?: RetryPolicy | undefined
}

export interface SendOptions {
  /**
   * Whether the request may be sent again after a failure. False for any
   * request that redeems a one-time grant (a code, a refresh token): it is
   * sent once, whatever the answer, since a second could redeem it twice
   * and a provider that rotates refresh tokens would end the login.
   */
  readonly idempotent: boolean
  /**
   * A request that may not be repeated is still sent again after a 429 or
   * 503, which say the server did not handle it (RFC 6585 §4, RFC 9110
   * §15.6.4): an API call's POST. Never set for a grant.
   */
  readonly retryUnhandled?: boolean | undefined
  /** Secrets the request carries, scrubbed from any excerpt of the answer. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /**
   * Read at most this many bytes of the (decompressed) body, 256 KiB by
   * default; the rest is not read and `truncated` set. A cut answer is
   * never decoded (`invalid_response`) and never retried.
   */
  readonly maxBodyBytes?: number | undefined
}

export interface Pipeline {
  /** Sends the request and reads the whole answer, whatever its status. */
  readonly execute: (
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions,
  ) => Effect.Effect<Classify.Exchange, SendFailure>
  /** Sends the request and decodes a 2xx JSON answer with `schema`. */
  readonly json: <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    options: SendOptions,
  ) => Effect.Effect<A, RequestFailure>
  /**
   * Sends the request exactly once and decodes a 2xx JSON answer with
   * `schema`, for a caller that repeats it on a schedule of its own (a
   * device poll: RFC 8628 §3.5 lets no poll come sooner than the interval).
   * A failure `json` would have tried again, or a timeout, fails as a
   * `TransientFailure` with the server's `Retry-After`.
   */
  readonly jsonOnce: <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    options: SendOptions,
  ) => Effect.Effect<A, RequestFailure | TransientFailure>
  /** Sends the request and succeeds on any 2xx answer, ignoring its body. */
  readonly ok: (
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions,
  ) => Effect.Effect<void, RequestFailure>
  /** Turns a complete answer into a typed result or error. */
  readonly decode: <A, I>(exchange: Classify.Exchange, schema: Schema.Schema<A, I>) => Effect.Effect<A, RequestFailure>
  /** The error a non-2xx answer stands for. */
  readonly failure: (exchange: Classify.Exchange) => RequestFailure
}

/**
 * `Accept` and `User-Agent` as the pipeline sends them: the caller's own, or
 * JSON and hyperauth's agent. For a caller that sets headers anyway, so
 * that the request is copied once, not once more by `withDefaults`.
 */
export const defaultHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => ({
  accept: headers.accept ?? "application/json",
  "user-agent": headers["user-agent"] ?? userAgent,
})

/**
 * The request defaults, applied once to the client: JSON unless the caller
 * asked for something else, a caller's own agent string wins, and a path
 * is resolved against the base URL.
 */
export const withDefaults =
  (baseUrl: string | undefined) =>
  (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
    const headers = request.headers
    const defaults =
      headers.accept !== undefined && headers["user-agent"] !== undefined
        ? request
        : HttpClientRequest.setHeaders(request, defaultHeaders(headers))
    return baseUrl !== undefined && defaults.url.startsWith("/")
      ? HttpClientRequest.prependUrl(defaults, baseUrl)
      : defaults
  }

/**
 * Redirects are answers: a 3xx from a token endpoint is not followed with
 * the client's secrets, nor an API call led off the provider's base. Node's
 * transport never follows one; fetch is told not to, through its options.
 */
const noRedirects = <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
  HttpClient.transform(client, (effect) =>
    Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
      Effect.provideService(effect, FetchHttpClient.RequestInit, {
        ...Option.getOrElse(init, () => ({})),
        redirect: "manual",
      }),
    ),
  )

/**
 * The body as text, stopping (and closing the stream, so nothing more is
 * received or inflated) once it is past `max` bytes.
 */
const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
): Effect.Effect<NodeHttpTransport.CappedBody, HttpClientError.ResponseError> =>
  // The core's own transport reads to the limit in one step, without a `Stream`.
  response instanceof NodeHttpTransport.NodeHttpResponse ? response.readCapped(max) : readStream(response, max)

const readStream = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
): Effect.Effect<NodeHttpTransport.CappedBody, HttpClientError.ResponseError> =>
  response.stream.pipe(
    // A body-less answer (204, 304, HEAD) is an empty body, not a failed read.
    Stream.catchTag("ResponseError", (error) => (error.reason === "EmptyBody" ? Stream.empty : Stream.fail(error))),
    Stream.runFoldWhile(
      { chunks: [] as Array<Uint8Array>, size: 0, truncated: false },
      (read) => !read.truncated,
      (read, chunk) => {
        const room = max - read.size
        const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
        read.chunks.push(kept)
        return { chunks: read.chunks, size: read.size + kept.length, truncated: chunk.length > room }
      },
    ),
    Effect.map(({ chunks, truncated }) => ({ body: Buffer.concat(chunks).toString("utf8"), truncated })),
  )

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

export const make = (client: HttpClient.HttpClient, destination: Target, limits: Limits = {}): Pipeline => {
  const { provider } = destination
  const timeout = Duration.decode(limits.timeout ?? defaultTimeout)
  const timeoutMillis = Duration.toMillis(timeout)
  const schedule = toSchedule(limits.retryPolicy)
  const defaults = withDefaults(destination.baseUrl)
  // Node's transport keeps the time limit itself, on a timer of its own, and
  // never follows a redirect; any other client is raced against a `Clock`
  // sleep, and fetch is told not to follow.
  const limited = Option.map(NodeHttpTransport.timeLimited(client, timeoutMillis), (own) =>
    HttpClient.mapRequest(own, defaults),
  )
  const http = Option.isSome(limited)
    ? HttpClient.mapRequest(client, defaults)
    : noRedirects(HttpClient.mapRequest(client, defaults))

  // A client mostly calls the same few URLs: parsing one again for its display form is waste.
  let lastUrl = ""
  let lastDisplay = ""
  const display = (url: string): string => {
    if (url !== lastUrl) {
      lastDisplay = displayUrl(url)
      lastUrl = url
    }
    return lastDisplay
  }

  /** Where a request goes: its URL after the defaults (a path resolved against the base), without its query. */
  const target = (request: HttpClientRequest.HttpClientRequest) => display(defaults(request).url)

  const timedOut = (request: HttpClientRequest.HttpClientRequest) =>
    new Timeout({ provider, url: target(request), timeoutMillis })

  const fromClientError = (error: HttpClientError.HttpClientError): SendFailure => {
    if (NodeHttpTransport.isTimeLimitExceeded(error.cause)) return timedOut(error.request)
    // Refused before anything went out: the request itself is wrong, and no retry or network can mend it.
    if (error._tag === "RequestError" && error.reason !== "Transport") {
      return new InvalidInput({
        provider,
        reason:
          error.reason === "InvalidUrl"
            ? "the request's URL is not a valid http or https URL. Nothing was sent."
            : "the request could not be encoded (a header value or body HTTP cannot carry). Nothing was sent.",
      })
    }
    return new ConnectionError({
      provider,
      url: display(error.request.url),
      reason: unreadable(error.cause)
        ? "an answer came that could not be read as HTTP: headers past 16 KiB, or malformed"
        : error._tag === "RequestError"
          ? "the connection failed"
          : "the answer was cut off",
    })
  }

  /** One attempt: send, then read the body (up to `maxBodyBytes`). */
  const exchange = (
    http: HttpClient.HttpClient,
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Classify.Exchange, SendFailure> =>
    Effect.flatMap(http.execute(request), (response) =>
      Effect.map(readBody(response, send.maxBodyBytes ?? Classify.defaultMaxBodyBytes), ({ body, truncated }) => ({
        // The request as sent: its URL is the absolute one.
        url: display(response.request.url),
        status: response.status,
        headers: response.headers,
        body,
        truncated,
        secrets: send.secrets ?? [],
      })),
    ).pipe(Effect.mapError(fromClientError))

  /** One attempt within the time limit, from sending to the last byte of the body, on `clock`. */
  const attemptOn = (
    clock: Clock.Clock,
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Classify.Exchange, SendFailure> =>
    // On the live clock the transport's own timer is the limit: no fiber
    // is forked to watch it. Under another clock (the TestClock), the
    // attempt races that clock's sleep.
    Option.isSome(limited) && clock === liveClock
      ? exchange(limited.value, request, send)
      : Effect.timeoutFail(exchange(http, request, send), { duration: timeout, onTimeout: () => timedOut(request) })

  /** One attempt within the time limit, from sending to the last byte of the body. */
  const attempt = (
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Classify.Exchange, SendFailure> => Effect.clockWith((clock) => attemptOn(clock, request, send))

  /** A failed attempt that may be tried again, or none: the pipeline's rule, whatever the schedule. */
  const repeatable = (
    result: Either.Either<Classify.Exchange, SendFailure>,
    { idempotent, retryUnhandled }: SendOptions,
  ): Option.Option<Either.Either<Classify.Exchange, ConnectionError>> => {
    if (Either.isLeft(result)) {
      // A timed-out attempt has already used the whole limit; waiting it out
      // again would multiply the documented 30 s. Fail with `timeout` now.
      const error = result.left
      return idempotent && error._tag === "ConnectionError" ? Option.some(Either.left(error)) : Option.none()
    }
    const answer = result.right
    // An answer past the size limit says nothing about a second try, and reading it again is what a hostile server wants.
    if (answer.truncated) return Option.none()
    const again = idempotent
      ? Classify.isRetryableStatus(answer.status)
      : retryUnhandled === true && Classify.isUnhandledStatus(answer.status)
    return again ? Option.some(Either.right(answer)) : Option.none()
  }

  /** The failed attempt as a schedule is fed it; `startedAt`: when the first attempt was sent. */
  const failedOf = (
    result: Either.Either<Classify.Exchange, ConnectionError>,
    now: number,
    startedAt = now,
  ): Failed => {
    const elapsed = Duration.millis(Math.max(0, now - startedAt))
    return Either.match(result, {
      onLeft: (failure) => ({ failure, retryAfter: Option.none(), elapsed }),
      // A copy: a schedule of the caller's own is no place for the request's secrets or the body.
      onRight: (answer) => ({
        failure: { url: answer.url, status: answer.status, headers: answer.headers },
        retryAfter: Classify.retryAfter(answer.headers, now),
        elapsed,
      }),
    })
  }

  /** Retries after a first failure that may be repeated, as long as the schedule goes on. */
  const retrying = (
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
    first: Either.Either<Classify.Exchange, ConnectionError>,
    startedAt: number,
  ): Effect.Effect<Classify.Exchange, SendFailure> =>
    Effect.flatMap(Schedule.driver(schedule), (driver) => {
      const loop = (
        result: Either.Either<Classify.Exchange, ConnectionError>,
        retry: number,
      ): Effect.Effect<Classify.Exchange, SendFailure> =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          // The backoff is interruptible even where the request runs uninterruptibly: nothing is on its way then.
          Effect.matchEffect(Effect.interruptible(driver.next(failedOf(result, now, startedAt))), {
            // The schedule is done: the last answer or failure stands.
            onFailure: () => result,
            onSuccess: () =>
              Effect.logDebug("hyperauth: retrying a provider request").pipe(
                Effect.annotateLogs({
                  provider,
                  url: target(request),
                  retry,
                  after: Either.match(result, { onLeft: (error) => error.code, onRight: (e) => `HTTP ${e.status}` }),
                }),
                Effect.zipRight(Effect.either(attempt(request, send))),
                Effect.flatMap((next) =>
                  Option.match(repeatable(next, send), {
                    onNone: () => next,
                    onSome: (again) => loop(again, retry + 1),
                  }),
                ),
              ),
          }),
        )
      return loop(first, 1)
    })

  const execute = (
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Classify.Exchange, SendFailure> => {
    // Most requests succeed at once: no schedule is started unless one fails.
    const sent = Effect.clockWith((clock) => {
      const startedAt = clock.unsafeCurrentTimeMillis()
      return Effect.flatMap(Effect.either(attemptOn(clock, request, send)), (result) =>
        Option.match(repeatable(result, send), {
          onNone: () => result,
          onSome: (failed) => retrying(request, send, failed, startedAt),
        }),
      )
    })
    return traced(sent, "hyperauth.http", () => ({
      attributes: { provider, method: request.method, url: target(request) },
    }))
  }

  const failure = (answer: Classify.Exchange): RequestFailure => Classify.failure(provider, answer)

  /** What one attempt stands for when its caller, not the pipeline, decides whether and when to send it again. */
  const once = <A, I>(
    result: Either.Either<Classify.Exchange, SendFailure>,
    schema: Schema.Schema<A, I>,
    send: SendOptions,
  ): Effect.Effect<A, RequestFailure | TransientFailure> => {
    // A timeout ends the pipeline's retries (see `repeatable`), not a caller's: it waits longer and tries again.
    if (Either.isLeft(result) && result.left._tag === "Timeout") {
      return Effect.fail(
        send.idempotent ? new TransientFailure({ failure: result.left, retryAfter: Option.none() }) : result.left,
      )
    }
    return Option.match(repeatable(result, send), {
      onNone: () =>
        Either.isLeft(result) ? Effect.fail(result.left) : Classify.decode(provider, result.right, schema),
      onSome: (again) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const failed = failedOf(again, now)
          return Effect.fail(
            new TransientFailure({
              failure: Either.match(again, { onLeft: (error) => error, onRight: failure }),
              retryAfter: failed.retryAfter,
            }),
          )
        }),
    })
  }

  return {
    execute,
    failure,
    // An `Either` is an `Effect`: decoding takes no step of its own.
    decode: (answer, schema) => Classify.decode(provider, answer, schema),
    json: (request, schema, send) =>
      Effect.flatMap(execute(request, send), (answer) => Classify.decode(provider, answer, schema)),
    jsonOnce: (request, schema, send) =>
      Effect.flatMap(
        Effect.either(
          traced(attempt(request, send), "hyperauth.http", () => ({
            attributes: { provider, method: request.method, url: target(request) },
          })),
        ),
        (result) => once(result, schema, send),
      ),
    ok: (request, send) =>
      Effect.flatMap(execute(request, send), (answer) =>
        Classify.isSuccess(answer) ? Effect.void : Effect.fail(failure(answer)),
      ),
  }
}
