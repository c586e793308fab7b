/**
 * hyperline: authorization code with `state`, a JSON token endpoint,
 * refresh and revocation, the Bearer API with `Hyperline-CompanyId`, and
 * the Apps API.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Accounts from "./Accounts.js"
import * as ApiClient from "./ApiClient.js"
import * as AuthorizationCode from "./AuthorizationCode.js"
import * as AuthorizedClient from "./AuthorizedClient.js"
import * as settings from "./internal/config.js"
import * as Pipeline from "./internal/pipeline.js"
import * as Requests from "./internal/requests.js"
import * as wire from "./internal/wire.js"
import { InvalidInput, NotConfigured, NotSupported, type RequestFailure, type StateMismatch } from "./OAuthError.js"
import { noResume, type Provider, refuseOptions } from "./Provider.js"
import * as Token from "./Token.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const environments = {
  production: "https://api.hyperline.co",
  sandbox: "https://sandbox.api.hyperline.co",
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Environment = keyof typeof environments

/**
 * The header that picks the company an API call acts on.
 *
 * @since 0.1.0
 * @category constants
 */
export const companyHeader = "Hyperline-CompanyId"

const loginLifetime = "10 minutes"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly origin: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
  /** Default `Hyperline-CompanyId` for API calls that name none. */
  readonly companyId?: string | undefined
  /** Key of the Apps API (`HYPERLINE_API_KEY`). */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retryPolicy?: Pipeline.RetryPolicy | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class Company extends Schema.Class<Company>("@hyperauth/core/Hyperline/Company")({
  id: Schema.String,
  name: Schema.optional(Schema.String),
}) {}

/** A list answer: a bare array, or wrapped in `{ data }` as Hyperline's list endpoints are. */
const listOf = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Union(
    Schema.Array(item),
    Schema.transform(Schema.Struct({ data: Schema.Array(item) }), Schema.Array(Schema.typeSchema(item)), {
      strict: true,
      decode: ({ data }) => data,
      encode: (data) => ({ data }),
    }),
  )

const Companies = listOf(Company)

/**
 * An app: an OAuth client of hyperline.
 *
 * @since 0.1.0
 * @category models
 */
export class App extends Schema.Class<App>("@hyperauth/core/Hyperline/App")({
  id: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.NullOr(Schema.String)),
  logo_uri: Schema.optional(Schema.NullOr(Schema.String)),
  callbacks: Schema.Array(Schema.String),
  client_id: Schema.optional(Schema.String),
  /** Returned once, when the app is created. */
  client_secret: Schema.optional(Schema.Redacted(Schema.String)),
}) {}

const Apps = listOf(App)

/**
 * @since 0.1.0
 * @category models
 */
export interface NewApp {
  readonly name: string
  readonly description?: string | undefined
  readonly logo_uri?: string | undefined
  /** The redirect URIs the app may use. */
  readonly callbacks: ReadonlyArray<string>
}

/**
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
  /** Revokes a refresh token (`POST /v1/oauth/revoke`). */
  readonly revoke: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<void, RequestFailure>
  /**
   * An API call with `Hyperline-CompanyId` (this call's `companyId`, else
   * `HYPERLINE_COMPANY_ID`, else none: the oldest company), through
   * `AuthorizedClient`: with a login's client, a 401 renews its token once
   * and retries; with an access token you hold, a 401 is `invalid_token`.
   * A 401 after the renewal fails too.
   */
  readonly request: (
    auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient,
    request: HttpClientRequest.HttpClientRequest,
    options?: { readonly companyId?: string | undefined },
  ) => Effect.Effect<Pipeline.Exchange, Accounts.AccessError>
  /** `GET /v1/companies`, authorized as `request` is. */
  readonly listCompanies: (
    auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient,
  ) => Effect.Effect<ReadonlyArray<Company>, Accounts.AccessError>
  /** The Apps API, authenticated with the API key. */
  readonly apps: {
    readonly create: (app: NewApp) => Effect.Effect<App, RequestFailure | NotConfigured>
    readonly list: Effect.Effect<ReadonlyArray<App>, RequestFailure | NotConfigured>
    readonly update: (id: string, patch: Partial<NewApp>) => Effect.Effect<App, RequestFailure | NotConfigured>
    readonly delete: (id: string) => Effect.Effect<void, RequestFailure | NotConfigured>
  }
  readonly provider: Provider
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Hyperline extends Context.Tag("@hyperauth/core/Hyperline")<Hyperline, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const http = Pipeline.make(client, {
      provider: "hyperline",
      timeout: options.timeout,
      retryPolicy: options.retryPolicy,
    })
    const url = (path: string) => `${options.origin}${path}`
    const auth = { clientId: options.clientId, clientSecret: options.clientSecret }

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
          expiresAt: DateTime.addDuration(yield* DateTime.now, loginLifetime),
        }
      })

    const completeLogin: Service["completeLogin"] = (request, redirectUrl) =>
      Effect.gen(function* () {
        const redirect = yield* AuthorizationCode.parseRedirect(redirectUrl, {
          expectedState: request.state,
          provider: "hyperline",
        })
        const built = Requests.authorizationCodeToken(url("/v1/oauth/tokens"), "json", {
          ...auth,
          code: redirect.code,
          redirectUri: request.redirectUri,
        })
        return yield* Token.fromResponse(yield* http.json(built.request, wire.BearerTokenResponse, built))
      }).pipe(Effect.withSpan("Hyperline.completeLogin"))

    const refresh: Service["refresh"] = (token) =>
      Effect.gen(function* () {
        if (token.refreshToken === undefined) {
          return yield* new InvalidInput({
            provider: "hyperline",
            reason: "this login has no refresh token; log in again.",
          })
        }
        const built = Requests.refreshToken(url("/v1/oauth/tokens"), "json", {
          ...auth,
          refreshToken: token.refreshToken,
        })
        return yield* Token.fromResponse(yield* http.json(built.request, wire.BearerTokenResponse, built), token)
      }).pipe(Effect.withSpan("Hyperline.refresh"))

    const revoke: Service["revoke"] = (refreshToken) => {
      const built = Requests.revocation(url("/v1/oauth/revoke"), "json", { ...auth, token: refreshToken })
      return http.ok(built.request, built).pipe(Effect.withSpan("Hyperline.revoke"))
    }

    const decorate: Provider["decorate"] = (request, context) => {
      const companyId = context.companyId ?? options.companyId
      return companyId === undefined ? request : HttpClientRequest.setHeader(request, companyHeader, companyId)
    }

    const api = ApiClient.make(client, {
      provider: "hyperline",
      timeout: options.timeout,
      retryPolicy: options.retryPolicy,
    })
    /** A call with the Apps API key; a relative URL goes to the API origin. */
    const authenticated = (accessToken: Redacted.Redacted<string>, request: HttpClientRequest.HttpClientRequest) =>
      api.send(/^https?:\/\//.test(request.url) ? request : HttpClientRequest.prependUrl(request, options.origin), {
        accessToken,
      })

    /** A login's client as it is; an access token held by the caller, sent as it is. */
    const authorizedBy = (auth: Redacted.Redacted<string> | AuthorizedClient.AuthorizedClient) =>
      Redacted.isRedacted(auth)
        ? Effect.map(DateTime.now, (receivedAt) =>
            AuthorizedClient.makeWith(
              client,
              provider,
              AuthorizedClient.fromToken(
                "hyperline",
                new Token.TokenSet({ accessToken: auth, tokenType: "Bearer", receivedAt }),
              ),
              { timeout: options.timeout, retryPolicy: options.retryPolicy },
            ),
          )
        : Effect.succeed(auth)

    const request: Service["request"] = (auth, raw, callOptions = {}) =>
      authorizedBy(auth).pipe(
        Effect.flatMap((authorized) => authorized.exchange(raw, { companyId: callOptions.companyId })),
        Effect.flatMap((exchange) =>
          exchange.status === 401 ? Effect.fail(http.failure(exchange)) : Effect.succeed(exchange),
        ),
        Effect.withSpan("Hyperline.request"),
      )

    const listCompanies: Service["listCompanies"] = (auth) =>
      authorizedBy(auth).pipe(
        Effect.flatMap((authorized) => authorized.exchange(HttpClientRequest.get("/v1/companies"))),
        Effect.flatMap((exchange) => http.decode(exchange, Companies)),
        Effect.withSpan("Hyperline.listCompanies"),
      )

    const apiKey: Effect.Effect<Redacted.Redacted<string>, NotConfigured> = options.apiKey === undefined
      ? Effect.fail(new NotConfigured({ provider: "hyperline", missing: ["HYPERLINE_API_KEY"] }))
      : Effect.succeed(options.apiKey)

    /** An Apps API call, authenticated with the API key. */
    const appsCall = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(apiKey, (key) => authenticated(key, request))

    const appsDecode = <A, I>(request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>) =>
      Effect.flatMap(appsCall(request), (exchange) => http.decode(exchange, schema))

    const appBody = (app: Partial<NewApp>) => HttpClientRequest.bodyUnsafeJson({ ...app })

    const apps: Service["apps"] = {
      create: (app) => appsDecode(HttpClientRequest.post("/v1/apps").pipe(appBody(app)), App),
      list: appsDecode(HttpClientRequest.get("/v1/apps"), Apps),
      update: (id, patch) =>
        appsDecode(HttpClientRequest.put(`/v1/apps/${encodeURIComponent(id)}`).pipe(appBody(patch)), App),
      delete: (id) =>
        Effect.flatMap(appsCall(HttpClientRequest.del(`/v1/apps/${encodeURIComponent(id)}`)), (exchange) =>
          exchange.status >= 200 && exchange.status <= 299 ? Effect.void : Effect.fail(http.failure(exchange)),
        ),
    }

    const provider: Provider = {
      id: "hyperline",
      flow: "authorization_code",
      apiBaseUrl: options.origin,
      startLogin: (login) =>
        Effect.gen(function* () {
          yield* refuseOptions("hyperline", login)
          const started = yield* authorizationUrl({ redirectUri: login.redirectUri })
          return {
            _tag: "RedirectPending" as const,
            authorizationUrl: started.url,
            redirectUri: started.redirectUri,
            state: started.state,
            expiresAt: started.expiresAt,
            complete: (redirectUrl: string) => completeLogin(started, redirectUrl),
          }
        }),
      resumeDevice: () => noResume("hyperline", "device_code"),
      resumeRedirect: (login, redirectUrl) => completeLogin(login, redirectUrl),
      refresh,
      introspect: () => Effect.fail(new NotSupported({ provider: "hyperline", operation: "token introspection" })),
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
      apps,
      provider,
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Hyperline, never, HttpClient.HttpClient> =>
  Layer.effect(Hyperline, make(options))

/**
 * `HYPERLINE_ENVIRONMENT` (`production` default, or `sandbox`),
 * `HYPERLINE_BASE_URL` (replaces the environment's origin),
 * `HYPERLINE_CLIENT_ID`, `HYPERLINE_CLIENT_SECRET`, `HYPERLINE_REDIRECT_URI`,
 * `HYPERLINE_COMPANY_ID`, `HYPERLINE_API_KEY`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  origin: settings.environmentOrigin("HYPERLINE", environments),
  clientId: Config.nonEmptyString("HYPERLINE_CLIENT_ID"),
  clientSecret: Config.redacted("HYPERLINE_CLIENT_SECRET"),
  redirectUri: settings.redirectUri("HYPERLINE_REDIRECT_URI", "hyperline"),
  companyId: Config.option(Config.nonEmptyString("HYPERLINE_COMPANY_ID")).pipe(Config.map(Option.getOrUndefined)),
  apiKey: Config.option(Config.redacted("HYPERLINE_API_KEY")).pipe(Config.map(Option.getOrUndefined)),
  timeout: settings.httpTimeout,
})

/**
 * @since 0.1.0
 * @category config
 */
export const requiredSettings: ReadonlyArray<string> = ["HYPERLINE_CLIENT_ID", "HYPERLINE_CLIENT_SECRET"]

/**
 * @since 0.1.0
 * @category config
 */
export const loadConfig: Effect.Effect<Options, NotConfigured> = settings.load("hyperline", config, requiredSettings)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Hyperline, NotConfigured, HttpClient.HttpClient> = Layer.effect(
  Hyperline,
  Effect.flatMap(loadConfig, make),
)
