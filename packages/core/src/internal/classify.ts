/**
 * What an answer means: the typed result a 2xx JSON answer decodes to, or
 * the typed, secret-free error any other answer stands for. Synchronous and
 * pure: the pipeline sends, this module reads.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { HttpError, InvalidResponse, InvalidToken, OAuthProtocolError, type RequestFailure } from "../OAuthError.js"
import * as Json from "./json.js"
import { lazy } from "./lazy.js"
import { asProse, excerpt, shortened, withoutSecrets } from "./scrub.js"
import { isServerError } from "./status.js"
import { ErrorResponse, noAccessToken } from "./wire.js"

/**
 * The most of an answer read when the caller sets no limit, counted after
 * decompression: far more than any token, device or introspection answer,
 * and a bound on what a hostile or broken server can make hyperauth hold.
 */
export const defaultMaxBodyBytes = 256 * 1024

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

export const isSuccess = (exchange: Exchange): boolean => exchange.status >= 200 && exchange.status <= 299

/** Statuses worth another try of a request that may be repeated. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || isServerError(status)

/**
 * 429 and 503 say the server did not handle the request (RFC 6585 §4,
 * RFC 9110 §15.6.4), so an API call that must not run twice may be sent
 * again; a grant never is.
 */
export const isUnhandledStatus = (status: number): boolean => status === 429 || status === 503

/** `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`. */
export const retryAfter = (
  headers: Readonly<Record<string, string>>,
  now: number,
): Option.Option<Duration.Duration> => {
  const value = headers["retry-after"]?.trim()
  if (value === undefined || value === "") return Option.none()
  if (/^\d+$/.test(value)) return Option.some(Duration.seconds(Number(value)))
  const date = Date.parse(value)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
}

/** RFC 9110 §5.6.2 token, and §5.6.4 quoted-string (its escapes kept). */
const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const quoted = '"(?:[^"\\\\]|\\\\.)*"'
/** One element of the list: up to the next comma outside quotes (an unclosed quote runs to the end). */
const element = new RegExp(`(?:${quoted}|"[^]*|[^",])+`, "g")
const param = new RegExp(`^(${token})\\s*=\\s*(${token}|${quoted})$`)
/** A scheme, then after whitespace its first parameter or a token68 (RFC 9110 §11.6.1). */
const scheme = new RegExp(`^(${token})(?:\\s+(.*))?$`)

/**
 * The parameters of the first Bearer challenge (RFC 9110 §11.6.1, was RFC
 * 7235 §4.1: a header may list several challenges, and each parameter
 * belongs to the challenge it follows),
 * names lower-cased; none when the header names no Bearer challenge.
 */
const bearerParams = (header: string): Option.Option<ReadonlyMap<string, string>> => {
  let params: Map<string, string> | undefined
  let found: Map<string, string> | undefined
  const add = (text: string) => {
    const [, name, value] = param.exec(text) ?? []
    if (params === undefined || name === undefined || value === undefined) return
    const unquoted = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value
    // A parameter given twice is malformed (RFC 9110 §11.2): the first stands.
    if (!params.has(name.toLowerCase())) params.set(name.toLowerCase(), unquoted)
  }
  for (const [raw] of header.matchAll(element)) {
    const text = raw.trim()
    if (param.test(text)) {
      add(text)
      continue
    }
    const start = scheme.exec(text)
    if (start === null) continue
    // A new challenge: the Bearer one found so far is complete.
    if (found !== undefined) break
    params = new Map()
    if (start[1]?.toLowerCase() === "bearer") found = params
    add(start[2] ?? "")
  }
  return Option.fromNullable(found)
}

/** RFC 6750 §3: `Bearer error="invalid_token", error_description="..."`, wherever it is in the list. */
const bearerChallenge = (
  headers: Readonly<Record<string, string>>,
): Option.Option<{ readonly error: string; readonly description: string | undefined }> => {
  const header = headers["www-authenticate"]
  if (header === undefined) return Option.none()
  return Option.flatMap(bearerParams(header), (params) => {
    const error = params.get("error")
    return error === undefined ? Option.none() : Option.some({ error, description: params.get("error_description") })
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
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  // A message of hyperauth's own words, not the schema's (those may quote a value).
  if (issues.some((issue) => issue.message === noAccessToken)) return noAccessToken
  const paths = issues.map((issue) => (issue.path.length === 0 ? "(body)" : issue.path.map(String).join(".")))
  return `unexpected shape at ${[...new Set(paths)].join(", ")}`
}

/** Compiled on the first error answer, not when the module loads. */
const errorBodyDecoder = lazy(() => Schema.decodeUnknownOption(ErrorResponse))

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

/**
 * RFC 6749 §5.2 errors come with 400 or 401, RFC 6750 §3.1 adds 403
 * (insufficient_scope, and servers' access_denied); 2xx for servers that
 * ignore it. Other statuses are HTTP's own: an API's `{"error": ...}` with
 * 404, 429 or 5xx is no OAuth error, and keeps `http_error`.
 */
const isOAuthErrorStatus = (status: number): boolean =>
  status === 400 || status === 401 || status === 403 || (status >= 200 && status <= 299)

const invalidResponse = (provider: string, exchange: Exchange, reason: string): InvalidResponse =>
  new InvalidResponse({
    provider,
    url: exchange.url,
    status: exchange.status,
    reason,
    excerpt: excerpt(exchange.body, exchange.secrets),
  })

/** The error a non-2xx answer (or a 2xx one carrying an OAuth error) stands for. */
export const failure = (provider: string, exchange: Exchange): RequestFailure => {
  // What the server wrote goes into messages: a secret it echoed must not, nor lines or length without bound.
  const prose = (text: string | undefined) => (text === undefined ? undefined : asProse(text, exchange.secrets))
  const challenge = bearerChallenge(exchange.headers)
  if (exchange.status === 401 && Option.isSome(challenge) && challenge.value.error === "invalid_token") {
    return new InvalidToken({ provider, description: prose(challenge.value.description) })
  }
  const parsed = parseJson(exchange)
  const oauth = isOAuthErrorStatus(exchange.status) ? errorBodyDecoder()(Either.getOrUndefined(parsed)) : Option.none()
  if (Option.isSome(oauth)) {
    const { error, error_description, error_uri } = oauth.value
    if (error === "invalid_token") return new InvalidToken({ provider, description: prose(error_description) })
    return new OAuthProtocolError({
      provider,
      // A registered code is no echo; anything else is prose like the rest.
      // (The schema keeps it to printable ASCII: it is cut, not reworded.)
      error: registeredErrors.has(error) ? error : shortened(withoutSecrets(error, exchange.secrets)),
      errorDescription: prose(error_description),
      errorUri: prose(error_uri),
      status: exchange.status,
    })
  }
  // An error page (a proxy's HTML, plain text) where the endpoint promises
  // JSON is an answer the client cannot read; an empty or JSON one is plain HTTP.
  if (Either.isLeft(parsed) && parsed.left.reason !== "empty body") {
    return invalidResponse(provider, exchange, parsed.left.reason)
  }
  return new HttpError({
    provider,
    url: exchange.url,
    status: exchange.status,
    excerpt: excerpt(exchange.body, exchange.secrets),
  })
}

/**
 * An API's 401 to a token just renewed: the API refuses the login whatever
 * the answer says (a challenge, an error body or nothing), so `invalid_token`.
 * Renewing was what a refusal is answered with, so it is not `renewable`;
 * the login's `flow` says what is left (a new login, or the client's access).
 */
export const refusedToken = (
  provider: { readonly id: string; readonly flow: NonNullable<InvalidToken["flow"]> },
  exchange: Exchange,
): InvalidToken => {
  const classified = failure(provider.id, exchange)
  return new InvalidToken({
    provider: provider.id,
    description: classified._tag === "InvalidToken" ? classified.description : undefined,
    renewable: false,
    flow: provider.flow,
  })
}

/** A 2xx JSON answer decoded with `schema`, or the typed error the answer stands for. */
export const decode = <A, I>(
  provider: string,
  exchange: Exchange,
  schema: Schema.Schema<A, I>,
): Either.Either<A, RequestFailure> => {
  if (!isSuccess(exchange)) return Either.left(failure(provider, exchange))
  const parsed = parseJson(exchange)
  if (Either.isLeft(parsed)) return Either.left(invalidResponse(provider, exchange, parsed.left.reason))
  const json = parsed.right
  // Synchronous: no Effect step; the parser is compiled once per schema (ParseResult memoises it).
  return Either.mapLeft(Schema.decodeUnknownEither(schema)(json), (error) =>
    // Some servers answer an OAuth error with 200: the body decides, not the status.
    Option.isSome(errorBodyDecoder()(json))
      ? failure(provider, exchange)
      : invalidResponse(provider, exchange, decodeFailure(error)),
  )
}
