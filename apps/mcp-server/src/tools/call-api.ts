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

/** Bodies past this are cut and `truncated` is set. */
const maxBodyBytes = 1024 * 1024

/** JSON bodies parsed; any other, a cut one or one nested too deep to handle safely, as text. */
const parseBody = (response: ApiClient.ApiResponse): unknown =>
  /\bjson\b/i.test(response.headers["content-type"] ?? "")
    ? Option.getOrElse(ApiClient.jsonBody(response), () => response.body)
    : response.body

export const callApi = defineTool({
  name: "call_api",
  title: "Call a provider API",
  description:
    "Sends an authenticated request to the provider's API base and returns status, headers and body (JSON parsed; other bodies, and JSON nested deeper than 64 levels, as text; cut at 1 MiB with truncated: true). path must start with / and stay on the API base. Authorization, Cookie, Host and hop-by-hop headers (Connection, Transfer-Encoding, Content-Length, Proxy-*, ...) cannot be set, and header values must be single-line Latin-1 text. company_id (hyperline) becomes Hyperline-CompanyId. A body nested deeper than 64 levels is refused. A 401 is retried once after a token refresh. The token is [redacted] wherever the answer echoes it.",
  input: Schema.Struct({
    provider: ProviderId,
    account: Account,
    method: Schema.Literal("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    path: NonEmpty.pipe(atMostChars(8192)).annotations({ description: "e.g. /v1/customers" }),
    query: Schema.optional(
      Schema.Record({
        key: Schema.String,
        value: Schema.Union(Schema.String.pipe(atMostChars(8192)), Schema.Number, Schema.Boolean),
      }).pipe(atMostEntries(256)),
    ),
    headers: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.String.pipe(atMostChars(8192)) }).pipe(atMostEntries(64)),
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
        body: parseBody(response),
        truncated: response.truncated,
      }
    }),
})
