import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { ApiClient, OAuthError } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ApiClients } from "../ApiClients.js"
import { forwardedResponseHeaders, headerProblem, pathProblem } from "../guards.js"
import { Account, atMostChars, atMostEntries, Integer, NonEmpty, ProviderId } from "../inputs.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

/**
 * Bodies past this are cut and `truncated` is set: the bytes read, and the
 * body as the result writes it in JSON, which is what goes on the wire.
 */
const maxBodyBytes = 1024 * 1024

/** The most bytes one UTF-16 unit takes written in JSON (`\u0000`): text this much shorter than a bound is within it. */
const maxJsonBytesPerUnit = 6

/**
 * The bytes the character at `i` takes in a JSON string as UTF-8 (a
 * control character `\u0000` 6, a quote or backslash 2, a lone surrogate
 * `\ud800` 6) and the UTF-16 units it spans.
 */
const jsonBytesAt = (text: string, i: number): readonly [bytes: number, units: number] => {
  const unit = text.charCodeAt(i)
  if (unit < 0x20) return [unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d ? 2 : 6, 1]
  if (unit === 0x22 || unit === 0x5c) return [2, 1]
  if (unit < 0x80) return [1, 1]
  if (unit < 0x800) return [2, 1]
  if (unit < 0xd800 || unit > 0xdfff) return [3, 1]
  const next = text.charCodeAt(i + 1)
  return unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? [4, 2] : [6, 1]
}

/**
 * `text` cut where written as a JSON string (quotes aside) it would pass
 * `maxBodyBytes`, never inside a surrogate pair; none when it is within.
 * A megabyte read can be six written (control bytes), three (bytes that are
 * no UTF-8 became U+FFFD), and the result's text copy writes it again.
 */
const cutToJsonBytes = (text: string): string | undefined => {
  if (text.length * maxJsonBytesPerUnit <= maxBodyBytes) return undefined
  let bytes = 0
  for (let i = 0; i < text.length; ) {
    const [size, units] = jsonBytesAt(text, i)
    if (bytes + size > maxBodyBytes) return text.slice(0, i)
    bytes += size
    i += units
  }
  return undefined
}

/**
 * JSON bodies parsed; any other, a cut one or one nested too deep to handle
 * safely, as text. JSON that grows when written again (`9e20` is 21
 * characters then) past `maxBodyBytes` comes back as its text too.
 */
const parseBody = (response: ApiClient.ApiResponse): unknown => {
  if (!/\bjson\b/i.test(response.headers["content-type"] ?? "")) return response.body
  const parsed = ApiClient.jsonBody(response)
  if (Option.isNone(parsed)) return response.body
  // Rewritten, a JSON text grows at most 6 times (a number's exponent spelled out): short ones need no look.
  if (response.body.length * maxJsonBytesPerUnit <= maxBodyBytes) return parsed.value
  return Buffer.byteLength(JSON.stringify(parsed.value)) <= maxBodyBytes ? parsed.value : response.body
}

/**
 * The body as the result carries it, and whether it was cut: a text body
 * longer than `maxBodyBytes` written in JSON is cut there.
 */
const resultBody = (response: ApiClient.ApiResponse): { readonly body: unknown; readonly truncated: boolean } => {
  const body = parseBody(response)
  const cut = typeof body === "string" ? cutToJsonBytes(body) : undefined
  return cut === undefined ? { body, truncated: response.truncated } : { body: cut, truncated: true }
}

export const callApi = defineTool({
  name: "call_api",
  title: "Call a provider API",
  description:
    "Sends an authenticated request to the provider's API base and returns status, headers and body (JSON parsed; other bodies, and JSON nested deeper than 64 levels or over 1 MiB once rewritten, as text; cut at 1 MiB, counted as written in JSON where a control byte takes 6, with truncated: true: ask for less, a page or a filter, to see the rest). path must start with / and stay on the API base. Authorization, Cookie, Host and hop-by-hop headers (Connection, Transfer-Encoding, Content-Length, Proxy-*, ...) cannot be set, and header values must be single-line Latin-1 text. company_id (hyperline) becomes Hyperline-CompanyId. A body nested deeper than 64 levels is refused. A 401 is retried once after a token refresh. The token is [redacted] wherever the answer echoes it.",
  input: Schema.Struct({
    provider: ProviderId,
    account: Account,
    method: Schema.Literal("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS").annotations({
      description: "The HTTP method.",
    }),
    path: NonEmpty.pipe(atMostChars(8192)).annotations({ description: "e.g. /v1/customers" }),
    query: Schema.optional(
      Schema.Record({
        key: Schema.String,
        value: Schema.Union(Schema.String.pipe(atMostChars(8192)), Schema.Number, Schema.Boolean),
      })
        .pipe(atMostEntries(256))
        .annotations({ description: 'Query parameters (path carries none), e.g. { "limit": 10 }.' }),
    ),
    headers: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.String.pipe(atMostChars(8192)) })
        .pipe(atMostEntries(64))
        .annotations({ description: 'Request headers by name, e.g. { "accept": "text/csv" }.' }),
    ),
    body: Schema.optional(Schema.Unknown.annotations({ description: "Sent as JSON (a string is sent as it is)." })),
    company_id: Schema.optional(
      Schema.String.pipe(atMostChars(256)).annotations({ description: "hyperline: the company to act on." }),
    ),
  }),
  output: Schema.Struct({
    status: Integer,
    headers: Schema.Record({ key: Schema.String, value: Schema.String }),
    body: Schema.Unknown,
    truncated: Schema.Boolean,
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      const refused = pathProblem(input.path) ?? headerProblem(input.headers ?? {})
      if (refused !== undefined)
        return yield* new OAuthError.InvalidInput({ provider: input.provider, reason: `${refused}.` })
      const provider = yield* (yield* Providers).get(input.provider)
      // The core's authorized client: Bearer token, provider headers, one shared refresh after a 401.
      const api = (yield* ApiClients).get(provider, input.account)

      // Each combinator copies the request: only what the call gave is applied.
      const bare = HttpClientRequest.make(input.method)(input.path)
      const withQuery =
        input.query === undefined
          ? bare
          : HttpClientRequest.setUrlParams(
              bare,
              Object.entries(input.query).map(([name, value]) => [name, String(value)] as const),
            )
      const base = input.headers === undefined ? withQuery : HttpClientRequest.setHeaders(withQuery, input.headers)
      // The caller's headers and the provider's (a company_id that cannot be a header is refused
      // too), checked before the body adds the ones the HTTP client owns (content-length).
      const checked = yield* ApiClient.validateHeaders(
        input.provider,
        provider.decorate(base, { companyId: input.company_id }),
      )
      const request =
        input.body === undefined
          ? checked
          : typeof input.body === "string"
            ? HttpClientRequest.bodyText(checked, input.body, checked.headers["content-type"] ?? "text/plain")
            : HttpClientRequest.bodyUnsafeJson(checked, input.body)

      // An API may reflect the request (a debugging endpoint, an error page): the token stays on the server.
      const response = ApiClient.withoutSecrets(
        yield* api.exchange(request, { maxBodyBytes, companyId: input.company_id }),
      )
      return {
        status: response.status,
        headers: forwardedResponseHeaders(response.headers),
        ...resultBody(response),
      }
    }),
})
