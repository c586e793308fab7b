/**
 * The one HTTP pipeline every provider request goes through.
 *
 * It owns what no provider should get wrong on its own: the per-request
 * timeout, retrying only what is safe to repeat, honouring `Retry-After`,
 * logging each retry at debug level (no secrets: the URL has no query),
 * reading at most a bounded body, never following a redirect, and turning
 * every platform failure and every unexpected answer into a typed,
 * secret-free error from `OAuthError`.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as NodeHttpTransport from "../NodeHttpTransport.js"
import {
  ConnectionError,
  HttpError,
  InvalidResponse,
  InvalidToken,
  OAuthProtocolError,
  type RequestFailure,
  Timeout,
} from "../OAuthError.js"
import { defaultHttpTimeout } from "./config.js"
import * as Json from "./json.js"
import { displayUrl, excerpt, withoutSecrets } from "./scrub.js"
import { ErrorResponse } from "./wire.js"

/**
 * When and how often a failed request is tried again.
 *
 * Only transport failures and 408, 429 and 5xx answers are retried, and only
 * for requests marked safe to repeat.
 */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number
  /** Delay before the first retry; doubles each time, with jitter. */
  readonly baseDelay: Duration.Duration
  /** Upper bound of one backoff delay. */
  readonly maxDelay: Duration.Duration
  /** A `Retry-After` longer than this is not waited for: the request fails. */
  readonly maxRetryAfter: Duration.Duration
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 3,
  baseDelay: Duration.millis(250),
  maxDelay: Duration.seconds(10),
  maxRetryAfter: Duration.seconds(60),
}

/** `HYPERAUTH_HTTP_TIMEOUT`'s default, defined once with the setting. */
export const defaultTimeout: Duration.Duration = defaultHttpTimeout

/**
 * The most of an answer read when the caller sets no limit, counted after
 * decompression: far more than any token, device or introspection answer,
 * and a bound on what a hostile or broken server can make hyperauth hold.
 */
export const defaultMaxBodyBytes = 256 * 1024

const userAgent = "hyperauth/0.1.0"

export interface PipelineOptions {
  /** Provider id, named in every error. */
  readonly provider: string
  /** Limit of one attempt, from sending to the last byte of the body. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly retryPolicy?: RetryPolicy | undefined
}

export interface SendOptions {
  /**
   * Whether the request may be sent again after a failure. False for any
   * request that redeems a one-time code: a retry could redeem it twice.
   * Such requests are retried only after a 429 or 503 answer.
   */
  readonly idempotent: boolean
  /** Secrets the request carries, scrubbed from any excerpt of the answer. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /**
   * Read at most this many bytes of the (decompressed) body, 256 KiB by
   * default; the rest is not read and `truncated` set. A cut answer is
   * never decoded (`invalid_response`) and never retried.
   */
  readonly maxBodyBytes?: number | undefined
}

/** A complete answer: status, headers and the whole body as text. */
export interface Exchange {
  /** Origin and path that answered (no query). */
  readonly url: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** Whether the body was cut at `maxBodyBytes`. */
  readonly truncated: boolean
  /** The secrets the request carried: no error built from this answer may repeat them. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

export interface Pipeline {
  /** Sends the request and reads the whole answer, whatever its status. */
  readonly execute: (
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions,
  ) => Effect.Effect<Exchange, ConnectionError | Timeout>
  /** Sends the request and decodes a 2xx JSON answer with `schema`. */
  readonly json: <A, I>(
    request: HttpClientRequest.HttpClientRequest,
    schema: Schema.Schema<A, I>,
    options: SendOptions,
  ) => Effect.Effect<A, RequestFailure>
  /** Sends the request and succeeds on any 2xx answer, ignoring its body. */
  readonly ok: (
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions,
  ) => Effect.Effect<void, RequestFailure>
  /** Turns a complete answer into a typed result or error. */
  readonly decode: <A, I>(exchange: Exchange, schema: Schema.Schema<A, I>) => Effect.Effect<A, RequestFailure>
  /** The error a non-2xx answer stands for. */
  readonly failure: (exchange: Exchange) => RequestFailure
}

/**
 * The body as text, stopping (and closing the stream, so nothing more is
 * received or inflated) once it is past `max` bytes.
 */
const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
): Effect.Effect<{ readonly body: string; readonly truncated: boolean }, HttpClientError.ResponseError> =>
  // The core's own transport reads to the limit in one step, without a `Stream`.
  response instanceof NodeHttpTransport.NodeHttpResponse ? response.readCapped(max) : readStream(response, max)

const readStream = (
  response: HttpClientResponse.HttpClientResponse,
  max: number,
): Effect.Effect<{ readonly body: string; readonly truncated: boolean }, HttpClientError.ResponseError> =>
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

/**
 * The fetch options of the caller's context, with redirects returned as
 * answers: a 3xx from a token endpoint is not followed with the client's
 * secrets, nor an API call led off the provider's base. (Clients other
 * than fetch, such as Node's, do not follow redirects to begin with.)
 */
const noRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(effect, FetchHttpClient.RequestInit, {
      ...Option.getOrElse(init, () => ({})),
      redirect: "manual",
    }),
  )

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/**
 * 429 and 503 say the server did not handle the request (RFC 6585 §4,
 * RFC 9110 §15.6.4), so even a request that must not run twice may be sent again.
 */
const isUnhandledStatus = (status: number): boolean => status === 429 || status === 503

/** `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
const retryAfter = (headers: Readonly<Record<string, string>>, now: number): Option.Option<Duration.Duration> => {
  const value = headers["retry-after"]?.trim()
  if (value === undefined || value === "") return Option.none()
  if (/^\d+$/.test(value)) return Option.some(Duration.seconds(Number(value)))
  const date = Date.parse(value)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
}

/** RFC 6750 §3: `Bearer error="invalid_token", error_description="..."`. */
const bearerChallenge = (
  headers: Readonly<Record<string, string>>,
): Option.Option<{ readonly error: string; readonly description: string | undefined }> => {
  const header = headers["www-authenticate"]
  if (header === undefined || !/^\s*Bearer\b/i.test(header)) return Option.none()
  const param = (name: string) => new RegExp(`\\b${name}="([^"]*)"|\\b${name}=([^\\s,]+)`, "i").exec(header)
  const error = param("error")
  if (error === null) return Option.none()
  const description = param("error_description")
  return Option.some({
    error: error[1] ?? error[2] ?? "",
    description: description === null ? undefined : (description[1] ?? description[2]),
  })
}

/** Why a body that should be JSON is not. */
interface NotJson {
  readonly reason: string
}

const tooLarge: NotJson = { reason: `body larger than the ${defaultMaxBodyBytes / 1024} KiB read limit` }

const parseJson = (exchange: Exchange): Either.Either<unknown, NotJson> => {
  if (exchange.truncated) return Either.left(tooLarge)
  return Either.mapLeft(Json.parse(exchange.body), (refusal): NotJson => {
    if (refusal === "nested too deep") return { reason: "JSON nested too deep" }
    if (exchange.body.trim() === "") return { reason: "empty body" }
    const html = /html/i.test(exchange.headers["content-type"] ?? "") || /^\s*</.test(exchange.body)
    return { reason: html ? "an HTML page, not JSON" : "not JSON" }
  })
}

/** Which fields failed to decode: paths only, never the values (they may be tokens). */
const decodeFailure = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "(body)" : issue.path.map(String).join("."),
  )
  return `unexpected shape at ${[...new Set(paths)].join(", ")}`
}

const decodeErrorBody = Schema.decodeUnknownOption(ErrorResponse)

/** The error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and RFC 8628 §3.5. */
const registeredErrors: ReadonlySet<string> = new Set([
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "unsupported_response_type",
  "invalid_scope",
  "access_denied",
  "server_error",
  "temporarily_unavailable",
  "invalid_token",
  "insufficient_scope",
  "unsupported_token_type",
  "authorization_pending",
  "slow_down",
  "expired_token",
])

/** RFC 6749 §5.2 errors come with 400 or 401; 2xx for servers that ignore it. */
const isOAuthErrorStatus = (status: number): boolean =>
  status === 400 || status === 401 || (status >= 200 && status <= 299)

export const make = (client: HttpClient.HttpClient, options: PipelineOptions): Pipeline => {
  const { provider } = options
  const timeout = Duration.decode(options.timeout ?? defaultTimeout)
  const policy = options.retryPolicy ?? defaultRetryPolicy

  const fromClientError = (error: HttpClientError.HttpClientError): ConnectionError =>
    new ConnectionError({
      provider,
      url: displayUrl(error.request.url),
      reason:
        error._tag === "RequestError"
          ? error.reason === "Transport"
            ? "the connection failed"
            : error.reason === "InvalidUrl"
              ? "the URL is not valid"
              : "the request could not be encoded"
          : "the answer was cut off",
    })

  /** One attempt: send, then read the body (up to `maxBodyBytes`), within the time limit. */
  const attempt = (
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Exchange, ConnectionError | Timeout> =>
    noRedirects(client.execute(request)).pipe(
      Effect.flatMap((response) =>
        Effect.map(readBody(response, send.maxBodyBytes ?? defaultMaxBodyBytes), ({ body, truncated }) => ({
          url: displayUrl(request.url),
          status: response.status,
          headers: response.headers,
          body,
          truncated,
          secrets: send.secrets ?? [],
        })),
      ),
      Effect.mapError(fromClientError),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new Timeout({ provider, url: displayUrl(request.url), timeoutMillis: Duration.toMillis(timeout) }),
      }),
    )

  const backoff = (retry: number): Effect.Effect<Duration.Duration> =>
    Effect.map(Random.nextRange(0.5, 1), (jitter) =>
      Duration.millis(
        Math.min(Duration.toMillis(policy.maxDelay), Duration.toMillis(policy.baseDelay) * 2 ** retry) * jitter,
      ),
    )

  /** How long to wait before retry number `retry`, or none to stop here. */
  const delayBefore = (
    retry: number,
    result: Either.Either<Exchange, ConnectionError | Timeout>,
    idempotent: boolean,
  ): Effect.Effect<Option.Option<Duration.Duration>> => {
    if (retry >= policy.retries) return Effect.succeedNone
    if (Either.isLeft(result)) {
      // A timed-out attempt has already used the whole limit; waiting it out
      // again would multiply the documented 30 s. Fail with `timeout` now.
      return idempotent && result.left._tag === "ConnectionError" ? Effect.asSome(backoff(retry)) : Effect.succeedNone
    }
    const exchange = result.right
    // An answer past the size limit says nothing about a second try, and reading it again is what a hostile server wants.
    if (exchange.truncated) return Effect.succeedNone
    const retryable = idempotent ? isRetryableStatus(exchange.status) : isUnhandledStatus(exchange.status)
    if (!retryable) return Effect.succeedNone
    return Effect.flatMap(
      Effect.clockWith((clock) => clock.currentTimeMillis),
      (now) =>
        Option.match(retryAfter(exchange.headers, now), {
          onNone: () => Effect.asSome(backoff(retry)),
          onSome: (wait) =>
            Effect.succeed(Duration.greaterThan(wait, policy.maxRetryAfter) ? Option.none() : Option.some(wait)),
        }),
    )
  }

  const execute = (
    request: HttpClientRequest.HttpClientRequest,
    send: SendOptions,
  ): Effect.Effect<Exchange, ConnectionError | Timeout> => {
    // JSON unless the caller asked for something else; a caller's own agent string wins.
    const prepared = HttpClientRequest.setHeaders(request, {
      accept: request.headers.accept ?? "application/json",
      "user-agent": request.headers["user-agent"] ?? userAgent,
    })
    const loop = (retry: number): Effect.Effect<Exchange, ConnectionError | Timeout> =>
      Effect.flatMap(Effect.either(attempt(prepared, send)), (result) =>
        delayBefore(retry, result, send.idempotent).pipe(
          Effect.flatMap(
            Option.match({
              onNone: () => result,
              onSome: (wait) =>
                Effect.logDebug("hyperauth: retrying a provider request").pipe(
                  Effect.annotateLogs({
                    provider,
                    url: displayUrl(request.url),
                    retry: retry + 1,
                    after: Either.match(result, { onLeft: (error) => error.code, onRight: (e) => `HTTP ${e.status}` }),
                    delayMillis: Duration.toMillis(wait),
                  }),
                  Effect.zipRight(Effect.sleep(wait)),
                  Effect.zipRight(loop(retry + 1)),
                ),
            }),
          ),
        ),
      )
    return loop(0).pipe(
      Effect.withSpan("hyperauth.http", {
        attributes: { provider, method: request.method, url: displayUrl(request.url) },
        // Always this line of this file: not worth an Error per request.
        captureStackTrace: false,
      }),
    )
  }

  const invalidResponse = (exchange: Exchange, reason: string): InvalidResponse =>
    new InvalidResponse({
      provider,
      url: exchange.url,
      status: exchange.status,
      reason,
      excerpt: excerpt(exchange.body, exchange.secrets),
    })

  const failure = (exchange: Exchange): RequestFailure => {
    // What the server wrote goes into messages: a secret it echoed must not.
    const prose = (text: string | undefined) =>
      text === undefined ? undefined : withoutSecrets(text, exchange.secrets)
    const challenge = bearerChallenge(exchange.headers)
    if (exchange.status === 401 && Option.isSome(challenge) && challenge.value.error === "invalid_token") {
      return new InvalidToken({ provider, description: prose(challenge.value.description) })
    }
    const parsed = parseJson(exchange)
    const oauth = isOAuthErrorStatus(exchange.status) ? decodeErrorBody(Either.getOrUndefined(parsed)) : Option.none()
    if (Option.isSome(oauth)) {
      const { error, error_description, error_uri } = oauth.value
      if (error === "invalid_token") return new InvalidToken({ provider, description: prose(error_description) })
      return new OAuthProtocolError({
        provider,
        // A registered code is no echo; anything else is prose like the rest.
        error: registeredErrors.has(error) ? error : withoutSecrets(error, exchange.secrets),
        errorDescription: prose(error_description),
        errorUri: prose(error_uri),
        status: exchange.status,
      })
    }
    // An error page (a proxy's HTML, plain text) where the endpoint promises
    // JSON is an answer the client cannot read; an empty or JSON one is plain HTTP.
    if (Either.isLeft(parsed) && parsed.left.reason !== "empty body") {
      return invalidResponse(exchange, parsed.left.reason)
    }
    return new HttpError({
      provider,
      url: exchange.url,
      status: exchange.status,
      excerpt: excerpt(exchange.body, exchange.secrets),
    })
  }

  const decode = <A, I>(exchange: Exchange, schema: Schema.Schema<A, I>): Effect.Effect<A, RequestFailure> => {
    if (exchange.status < 200 || exchange.status > 299) return Effect.fail(failure(exchange))
    return Either.match(parseJson(exchange), {
      onLeft: ({ reason }) => Effect.fail(invalidResponse(exchange, reason)),
      onRight: (json) =>
        Schema.decodeUnknown(schema)(json).pipe(
          // Some servers answer an OAuth error with 200: the body decides, not the status.
          Effect.mapError((error) =>
            Option.isSome(decodeErrorBody(json)) ? failure(exchange) : invalidResponse(exchange, decodeFailure(error)),
          ),
        ),
    })
  }

  return {
    execute,
    decode,
    failure,
    json: (request, schema, send) => Effect.flatMap(execute(request, send), (exchange) => decode(exchange, schema)),
    ok: (request, send) =>
      Effect.flatMap(execute(request, send), (exchange) =>
        exchange.status >= 200 && exchange.status <= 299 ? Effect.void : Effect.fail(failure(exchange)),
      ),
  }
}
