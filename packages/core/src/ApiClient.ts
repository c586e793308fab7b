/**
 * Authenticated calls to a provider's API whose answers are returned as
 * they are (status, headers, body), for tools that let an agent call any
 * endpoint. Timeouts, transport failures and retries follow the shared
 * pipeline; the body can be capped. `validateHeaders` refuses, before
 * anything is sent, headers that could not go on the wire as given.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Headers from "./internal/headers.js"
import * as Json from "./internal/json.js"
import * as Pipeline from "./internal/pipeline.js"
import * as Scrub from "./internal/scrub.js"
import type * as Limits from "./Limits.js"
import { type ConnectionError, InvalidInput, type Timeout } from "./OAuthError.js"

/**
 * The whole answer: origin and path that answered (no query), status,
 * headers, body, whether the body was cut, and the secrets the request
 * carried (the token), which no error built from the answer repeats.
 *
 * @example
 * ```ts
 * import type { ApiClient } from "@hyperauth/core"
 *
 * const summary = (answer: ApiClient.ApiResponse) =>
 *   `${answer.status} from ${answer.url}${answer.truncated ? ", body cut" : ""}: ${answer.headers["content-type"]}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiResponse {
  /** Origin and path that answered (no query). */
  readonly url: string
  /** The HTTP status, whatever it is: only a transport failure or a timeout is an error. */
  readonly status: number
  /** The answer's headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as text, up to `maxBodyBytes`. */
  readonly body: string
  /** Whether the body was cut at `maxBodyBytes`. */
  readonly truncated: boolean
  /** The secrets the request carried (the token): `withoutSecrets` takes them out of the body. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

/**
 * Sends a request with a Bearer token you hold and returns the whole
 * answer, whatever its status. `AuthorizedClient.exchange` is this with the
 * token of a login, renewed after a 401.
 *
 * @example
 * ```ts
 * import type { ApiClient } from "@hyperauth/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import type * as Redacted from "effect/Redacted"
 *
 * const programs = (api: ApiClient.ApiClient, accessToken: Redacted.Redacted<string>) =>
 *   api.send(HttpClientRequest.get("https://api.hyperproof.app/v1/programs"), { accessToken, maxBodyBytes: 65_536 })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiClient {
  /**
   * Sends `request` with `Authorization: Bearer`; only idempotent methods
   * (GET, HEAD, OPTIONS, PUT, DELETE) are retried. Headers that come from outside should pass `validateHeaders`
   * first.
   */
  readonly send: (
    request: HttpClientRequest.HttpClientRequest,
    options: { readonly accessToken: Redacted.Redacted<string>; readonly maxBodyBytes?: number | undefined },
  ) => Effect.Effect<ApiResponse, ConnectionError | Timeout | InvalidInput>
}

/**
 * Refuses a request whose headers could not go on the wire as they are: a
 * name that is not an HTTP token, a value with CR, LF, another control
 * character or a character beyond Latin-1, or a hop-by-hop or framing
 * header (`connection`, `transfer-encoding`, `content-length`, `proxy-*`, ...).
 * Values are never quoted in the error.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@hyperauth/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 *
 * const request = HttpClientRequest.get("/v1/customers").pipe(HttpClientRequest.setHeader("x-note", "a\r\nb"))
 * const checked = ApiClient.validateHeaders("hyperline", request) // fails with InvalidInput: nothing is sent
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validateHeaders = (
  provider: string,
  request: HttpClientRequest.HttpClientRequest,
): Effect.Effect<HttpClientRequest.HttpClientRequest, InvalidInput> =>
  Effect.suspend(() => {
    const problem = Headers.headersProblem(request.headers)
    return problem === undefined
      ? Effect.succeed(request)
      : Effect.fail(new InvalidInput({ provider, reason: `${problem}. Nothing was sent.` }))
  })

/** Methods that may be sent again (RFC 9110 §9.2.2): the safe ones, and PUT and DELETE. */
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])

/**
 * An `ApiClient` on `client`, through the core's pipeline: a time limit per
 * attempt, retries of safe methods (`retryPolicy`), failures as
 * `ConnectionError` or `Timeout` that never repeat the token.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@hyperauth/core"
 * import * as HttpClient from "@effect/platform/HttpClient"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * const status = Effect.gen(function* () {
 *   const api = ApiClient.make(yield* HttpClient.HttpClient, { provider: "hyperproof", timeout: "10 seconds" })
 *   const request = HttpClientRequest.get("https://api.hyperproof.app/v1/programs")
 *   const answer = yield* api.send(request, { accessToken: Redacted.make("a token you hold") })
 *   return answer.status
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  client: HttpClient.HttpClient,
  options: Limits.Options & { readonly provider: string },
): ApiClient => {
  const http = Pipeline.make(client, { provider: options.provider }, options)
  return {
    send: (request, { accessToken, maxBodyBytes }) =>
      // The token and the pipeline's defaults in one copy of the headers.
      http.execute(
        HttpClientRequest.setHeaders(request, {
          ...Pipeline.defaultHeaders(request.headers),
          authorization: `Bearer ${Redacted.value(accessToken)}`,
        }),
        {
          idempotent: idempotentMethods.has(request.method),
          retryUnhandled: true,
          secrets: [accessToken],
          maxBodyBytes,
        },
      ),
  }
}

/**
 * The body parsed as JSON, or none when it is not JSON, was cut at the size
 * limit, or nests deeper than 64 levels: such a body is best handed on as
 * text, since whatever walks a parsed value recursively (`JSON.stringify`
 * among them) would overflow the stack on it.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@hyperauth/core"
 * import * as Option from "effect/Option"
 *
 * const shown = (answer: ApiClient.ApiResponse): unknown =>
 *   Option.getOrElse(ApiClient.jsonBody(answer), () => answer.body)
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const jsonBody = (response: ApiResponse): Option.Option<unknown> =>
  response.truncated ? Option.none() : Either.getRight(Json.parse(response.body))

/**
 * The answer with every spelling of the secrets its request carried (the
 * Bearer token: raw; percent-, JSON- or HTML-escaped, in any mix of escaped
 * and raw characters; base64; UTF-16 read as UTF-8) replaced by
 * `[redacted]` in its body, its header values and (lowered, as they
 * arrive) its header names: for handing an answer on to
 * someone who must not see the token, as an API that reflects its request
 * (a debugging endpoint, an error page) would show it. Nothing else in the
 * answer changes.
 *
 * @example
 * ```ts
 * import { ApiClient } from "@hyperauth/core"
 *
 * const shown = (answer: ApiClient.ApiResponse) => ApiClient.withoutSecrets(answer).body
 * ```
 *
 * @since 0.2.0
 * @category redaction
 */
export const withoutSecrets = (response: ApiResponse): ApiResponse => {
  if (response.secrets.length === 0) return response
  // Header names arrive in lower case: one that carries a secret carries it lowered.
  const lowered = response.secrets.map((secret) => Redacted.value(secret).toLowerCase()).filter((s) => s.length > 0)
  // A secret too short to find safely: the headers are withheld whole, as the body's text is.
  if (lowered.some((secret) => secret.length < Scrub.minScrubbableLength))
    return { ...response, headers: {}, body: Scrub.withoutKnownSecrets(response.body, response.secrets) }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    const shown = lowered.reduce((n, secret) => (n.includes(secret) ? n.split(secret).join("[redacted]") : n), name)
    headers[shown] = Scrub.withoutKnownSecrets(value, response.secrets)
  }
  return {
    ...response,
    headers,
    body: withoutEscapedSecrets(
      Scrub.withoutKnownSecrets(response.body, response.secrets, response.truncated),
      response,
    ),
  }
}

/**
 * A JSON body written anew from its parsed value, scrubbed, when parsing
 * it shows a secret whole that no spelling of the text matched: a `\u`
 * escape may stand for any character, letters too (`\u0061` for `a`),
 * and the text's patterns match letters only as themselves. Only a body
 * with a `\u` escape is parsed to see; any other is returned as it is.
 */
const withoutEscapedSecrets = (body: string, response: ApiResponse): string => {
  if (response.truncated || !body.includes("\\u")) return body
  return Either.match(Json.parse(body), {
    onLeft: () => body,
    onRight: (parsed) => {
      const written = JSON.stringify(parsed)
      const scrubbed = JSON.stringify(Scrub.withoutKnownSecretsIn(parsed, response.secrets))
      return scrubbed === written ? body : scrubbed
    },
  })
}
