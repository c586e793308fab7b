/**
 * hyperline: authorization code with `state`, a JSON token endpoint,
 * refresh and revocation, and the Bearer API with `Hyperline-CompanyId`.
 * The Apps API, with its own key, is `HyperlineApps`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Accounts from "./Accounts.js"
import type * as ApiClient from "./ApiClient.js"
import * as AuthorizationCode from "./AuthorizationCode.js"
import * as AuthorizedClient from "./AuthorizedClient.js"
import * as Classify from "./internal/classify.js"
import * as settings from "./internal/config.js"
import { listOf } from "./internal/lists.js"
import * as Pipeline from "./internal/pipeline.js"
import {
  alreadyRevoked,
  define,
  noResume,
  redirectPending,
  refreshTokenOf,
  refuseOptions,
  refuseScope,
  sourceOf,
} from "./internal/provider.js"
import { traced } from "./internal/tracing.js"
import * as wire from "./internal/wire.js"
import type * as Limits from "./Limits.js"
import { type InvalidInput, NotSupported, type RequestFailure, type StateMismatch } from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import * as Requests from "./Requests.js"
import * as Token from "./Token.js"

/** This provider's id: in its errors, its store keys and the MCP tools. */
const providerId = "hyperline"

/**
 * "Access token: 24h", as the documentation lists it: the lifetime of a
 * token whose answer gives no `expires_in` (RFC 6749 §5.1 has a server
 * that leaves it out document the default).
 */
const accessTokenLifetime = 24 * 60 * 60

/**
 * The documented origins, picked by `HYPERLINE_ENVIRONMENT`.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 *
 * const origin = Hyperline.environments.sandbox // "https://sandbox.api.hyperline.co"
 * ```
 */
export const environments = {
  production: "https://api.hyperline.co",
  sandbox: "https://sandbox.api.hyperline.co",
} as const

/**
 * The name of one of `environments`.
 *
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 *
 * const environment: Hyperline.Environment = "sandbox"
 * Hyperline.environments[environment] // "https://sandbox.api.hyperline.co"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = keyof typeof environments

/**
 * The header that picks the company an API call acts on.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { Hyperline } from "@hyperauth/core"
 *
 * const request = HttpClientRequest.get("/v1/customers").pipe(HttpClientRequest.setHeader(Hyperline.companyHeader, "cmp_1"))
 * ```
 */
export const companyHeader = "Hyperline-CompanyId"

/**
 * What hyperline's service is made with: the API origin, the confidential
 * client, the redirect URI used when a login names none, and the default
 * company.
 *
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { Redacted } from "effect"
 *
 * const options: Hyperline.Options = {
 *   origin: Hyperline.environments.sandbox,
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   redirectUri: "http://127.0.0.1:8976/callback/hyperline",
 *   companyId: "cmp_acme", // Hyperline-CompanyId when a call names none
 * }
 * const live = Hyperline.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Limits.Options {
  readonly origin: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
  /** Default `Hyperline-CompanyId` for API calls that name none. */
  readonly companyId?: string | undefined
}

/**
 * A company of the logged-in user, as `GET /v1/companies` lists it.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { Schema } from "effect"
 *
 * const company = Schema.decodeUnknownSync(Hyperline.Company)({ id: "cmp_1", name: "Acme" })
 * ```
 */
export class Company extends Schema.Class<Company>("@hyperauth/core/Hyperline/Company")({
  id: Schema.String,
  /** A `null` name (a server's "none") is read as absent. */
  name: Schema.optionalWith(Schema.String, { nullable: true }),
}) {}

const Companies = listOf(Company)

/**
 * A started login: the URL to open, and what finishing it needs.
 *
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const login = Effect.gen(function* () {
 *   const hyperline = yield* Hyperline.Hyperline
 *   const request: Hyperline.AuthorizationRequest = yield* hyperline.authorizationUrl()
 *   // Send the user to request.url; the redirect must come back with request.state.
 *   return yield* hyperline.completeLogin(request, `${request.redirectUri}?code=c0de&state=${request.state}`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizationRequest {
  readonly url: string
  readonly redirectUri: string
  readonly state: string
  readonly expiresAt: DateTime.Utc
}

/**
 * hyperline's service: authorization URL, code exchange, refresh,
 * revocation, API calls with the company header, and the uniform `Provider`.
 *
 * @example
 * ```ts
 * import type { Hyperline, Token } from "@hyperauth/core"
 *
 * const companies = (hyperline: Hyperline.Service, token: Token.TokenSet) => hyperline.listCompanies(token.accessToken)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly baseUrl: string
  /** The authorization URL with `client_id`, `redirect_uri`, `response_type=code` and a fresh `state`. */
  readonly authorizationUrl: (request?: {
    readonly redirectUri?: string | undefined
  }) => Effect.Effect<AuthorizationRequest>
  /** Checks `state` (the code is never sent on a mismatch), then exchanges the code. */
  readonly completeLogin: (
    request: Pick<AuthorizationRequest, "redirectUri" | "state">,
    redirectUrl: string,
  ) => Effect.Effect<Token.TokenSet, RequestFailure | StateMismatch | InvalidInput>
  readonly refresh: (token: Token.TokenSet) => Effect.Effect<Token.TokenSet, RequestFailure | InvalidInput>
  /**
   * Revokes a refresh token (`POST /v1/oauth/revoke`). One the server no
   * longer knows is revoked already (RFC 7009 §2.2), also when it answers
   * `invalid_grant`; any other refusal fails.
   */
  readonly revoke: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<void, RequestFailure>
  /**
   * An API call with `Hyperline-CompanyId` (this call's `companyId`, else
   * `HYPERLINE_COMPANY_ID`, else none: the oldest company), through
   * `AuthorizedClient`: with a login's client, a 401 renews its token once
   * and retries; with an access token you hold, a 401 is `invalid_token`.
   * A 401 after the renewal is `invalid_token` too, saying to log in again
   * (the refresh was tried). The body is read up to
   * `maxBodyBytes` (256 KiB by default); `truncated` says it was cut.
   */
  readonly request: (
    auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient,
    request: HttpClientRequest.HttpClientRequest,
    options?: { readonly companyId?: string | undefined; readonly maxBodyBytes?: number | undefined },
  ) => Effect.Effect<ApiClient.ApiResponse, Accounts.AccessError>
  /** `GET /v1/companies`, authorized as `request` is. */
  readonly listCompanies: (
    auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient,
  ) => Effect.Effect<ReadonlyArray<Company>, Accounts.AccessError>
  readonly provider: Provider
}

/**
 * The tag of hyperline's service.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const login = Effect.flatMap(Hyperline.Hyperline, (hyperline) => hyperline.authorizationUrl())
 * ```
 */
export class Hyperline extends Context.Tag("@hyperauth/core/Hyperline")<Hyperline, Service>() {}

/**
 * hyperline's service over the `HttpClient` in context. Nothing is sent until a method runs.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyperline } from "@hyperauth/core"
 * import { Effect, Redacted } from "effect"
 *
 * const login = Effect.gen(function* () {
 *   const hyperline = yield* Hyperline.make({
 *     origin: Hyperline.environments.sandbox,
 *     clientId: "cli",
 *     clientSecret: Redacted.make("secret"),
 *     redirectUri: "http://127.0.0.1:8976/callback/hyperline",
 *   })
 *   return yield* hyperline.authorizationUrl()
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const http = Pipeline.make(client, { provider: providerId }, options)
    const url = (path: string) => `${options.origin}${path}`
    const source = sourceOf(providerId, options.clientId, [options.origin])
    const clientAuth = Requests.secretPostOrNone(options.clientId, options.clientSecret)

    const authorizationUrl: Service["authorizationUrl"] = (request = {}) =>
      Effect.gen(function* () {
        const redirectUri = request.redirectUri ?? options.redirectUri
        const state = yield* AuthorizationCode.makeState
        const target = new URL(url("/v1/oauth/authorize"))
        target.searchParams.set("client_id", options.clientId)
        target.searchParams.set("redirect_uri", redirectUri)
        target.searchParams.set("response_type", "code")
        target.searchParams.set("state", state)
        return {
          url: target.toString(),
          redirectUri,
          state,
          expiresAt: DateTime.addDuration(yield* DateTime.now, AuthorizationCode.loginLifetime),
        }
      })

    const completeLogin: Service["completeLogin"] = (request, redirectUrl) =>
      Effect.gen(function* () {
        const redirect = yield* AuthorizationCode.parseRedirect(redirectUrl, {
          expectedState: request.state,
          provider: providerId,
          redirectUri: request.redirectUri,
        })
        const built = Requests.token(url("/v1/oauth/tokens")).pipe(
          Requests.grant("authorization_code", { code: redirect.code, redirect_uri: request.redirectUri }),
          Requests.clientAuth(clientAuth),
          Requests.json,
          Requests.build,
        )
        return yield* Token.fromResponse(yield* http.json(built.request, wire.BearerTokenResponse, built), undefined, {
          defaultExpiresIn: accessTokenLifetime,
          secrets: built.secrets,
          source,
        })
      }).pipe(traced("Hyperline.completeLogin"))

    const refresh: Service["refresh"] = (token) =>
      Effect.gen(function* () {
        const refreshToken = yield* refreshTokenOf(providerId, token)
        const built = Requests.token(url("/v1/oauth/tokens")).pipe(
          Requests.grant("refresh_token", { refresh_token: refreshToken }),
          Requests.clientAuth(clientAuth),
          Requests.json,
          Requests.build,
        )
        return yield* Token.fromResponse(yield* http.json(built.request, wire.BearerTokenResponse, built), token, {
          defaultExpiresIn: accessTokenLifetime,
          secrets: built.secrets,
          source,
        })
      }).pipe(traced("Hyperline.refresh"))

    const revoke: Service["revoke"] = (refreshToken) => {
      const built = Requests.revocation(url("/v1/oauth/revoke")).pipe(
        Requests.params({ token: refreshToken }),
        Requests.clientAuth(clientAuth),
        Requests.json,
        Requests.build,
      )
      // The seed says nothing of a token already revoked; as RFC 7009 §2.2 has it, it is revoked.
      return http.ok(built.request, built).pipe(
        Effect.catchIf(alreadyRevoked, () => Effect.void),
        traced("Hyperline.revoke"),
      )
    }

    const decorate: Provider["decorate"] = (request, context) => {
      const companyId = context.companyId ?? options.companyId
      return companyId === undefined ? request : HttpClientRequest.setHeader(request, companyHeader, companyId)
    }

    /** A login's client as it is; an access token held by the caller, sent as it is. */
    const authorizedBy = (auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient) =>
      Redacted.isRedacted(auth)
        ? Effect.map(DateTime.now, (receivedAt) =>
            AuthorizedClient.makeWith(
              client,
              provider,
              AuthorizedClient.fromToken(
                providerId,
                new Token.TokenSet({ accessToken: auth, tokenType: "Bearer", receivedAt }),
              ),
              options,
            ),
          )
        : Effect.succeed(auth)

    const request: Service["request"] = (auth, raw, callOptions = {}) =>
      authorizedBy(auth).pipe(
        Effect.flatMap((authorized) =>
          authorized.exchange(raw, { companyId: callOptions.companyId, maxBodyBytes: callOptions.maxBodyBytes }),
        ),
        // A 401 after the renewal: the same error as hyperproof's.
        Effect.flatMap((exchange) =>
          exchange.status === 401 ? Effect.fail(Classify.refusedToken(provider, exchange)) : Effect.succeed(exchange),
        ),
        traced("Hyperline.request"),
      )

    const listCompanies: Service["listCompanies"] = (auth) =>
      request(auth, HttpClientRequest.get("/v1/companies")).pipe(
        Effect.flatMap((exchange) => http.decode(exchange, Companies)),
        traced("Hyperline.listCompanies"),
      )

    const provider: Provider = {
      id: providerId,
      flow: "authorization_code",
      apiBaseUrl: options.origin,
      source,
      startLogin: (login) =>
        Effect.gen(function* () {
          yield* refuseOptions(providerId, login)
          yield* refuseScope(providerId, login)
          const started = yield* authorizationUrl({ redirectUri: login.redirectUri })
          return redirectPending({
            authorizationUrl: started.url,
            redirectUri: started.redirectUri,
            state: started.state,
            expiresAt: started.expiresAt,
            complete: (redirectUrl) => completeLogin(started, redirectUrl),
          })
        }),
      resumeDevice: () => noResume(providerId, "device_code"),
      resumeRedirect: (login, redirectUrl) => completeLogin(login, redirectUrl),
      refresh,
      introspect: () => Effect.fail(new NotSupported({ provider: providerId, operation: "token introspection" })),
      revoke: (token) =>
        token.refreshToken === undefined ? Effect.succeed(false) : Effect.as(revoke(token.refreshToken), true),
      decorate,
    }

    return {
      baseUrl: options.origin,
      authorizationUrl,
      completeLogin,
      refresh,
      revoke,
      request,
      listCompanies,
      provider,
    }
  })

/**
 * The API origin from the settings: `HYPERLINE_BASE_URL` when set, else the
 * origin of `HYPERLINE_ENVIRONMENT` (`production` by default). The Apps API
 * (`HyperlineApps`) reads the same.
 *
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const sandbox = Hyperline.origin.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromJson({ HYPERLINE_ENVIRONMENT: "sandbox" })),
 * ) // https://sandbox.api.hyperline.co
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const origin: Config.Config<string> = settings.environmentOrigin("HYPERLINE", environments)

/**
 * `HYPERLINE_ENVIRONMENT` (`production` default, or `sandbox`),
 * `HYPERLINE_BASE_URL` (replaces the environment's origin),
 * `HYPERLINE_CLIENT_ID`, `HYPERLINE_CLIENT_SECRET`, `HYPERLINE_REDIRECT_URI`,
 * `HYPERLINE_COMPANY_ID`.
 *
 * @since 0.1.0
 * @category config
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = Effect.withConfigProvider(Hyperline.config, ConfigProvider.fromJson({ HYPERLINE_CLIENT_ID: "cli", HYPERLINE_CLIENT_SECRET: "secret" }))
 * ```
 */
export const config: Config.Config<Options> = Config.all({
  origin,
  clientId: settings.required("HYPERLINE_CLIENT_ID"),
  clientSecret: Config.redacted(settings.required("HYPERLINE_CLIENT_SECRET")),
  redirectUri: settings.redirectUri(providerId),
  companyId: Config.option(Config.nonEmptyString("HYPERLINE_COMPANY_ID")).pipe(Config.map(Option.getOrUndefined)),
  timeout: settings.httpTimeout,
})

/**
 * hyperline in one value: its flow, API base, `config` and the settings it
 * reads (`HYPERLINE_CLIENT_ID` and `HYPERLINE_CLIENT_SECRET` required),
 * `make` and its layers.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Hyperline } from "@hyperauth/core"
 *
 * Hyperline.definition.flow // "authorization_code"
 * ```
 */
export const definition = define(providerId, "authorization_code", Hyperline, {
  config,
  // A valid HYPERLINE_BASE_URL names the API base whatever the environment.
  apiBaseUrl: settings.environmentApiOrigin("HYPERLINE", environments),
  introspection: false,
  make,
})

/**
 * The service from options given in code.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyperline } from "@hyperauth/core"
 * import { Layer, Redacted } from "effect"
 *
 * const live = Hyperline.layer({
 *   origin: Hyperline.environments.sandbox,
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   redirectUri: "http://127.0.0.1:8976/callback/hyperline",
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layer = definition.layer

/**
 * The service from the settings (`config`); a missing or malformed one is
 * `NotConfigured`, naming all of them.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyperline } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = Hyperline.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layerConfig = definition.layerConfig
