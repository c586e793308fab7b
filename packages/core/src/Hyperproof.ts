/**
 * hyperproof: the client credentials grant (RFC 6749 §4.4) and the
 * Bearer-authenticated API, with a typed `getControl`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Accounts from "./Accounts.js"
import type * as ApiClient from "./ApiClient.js"
import * as AuthorizedClient from "./AuthorizedClient.js"
import * as Classify from "./internal/classify.js"
import * as settings from "./internal/config.js"
import * as Pipeline from "./internal/pipeline.js"
import { define, noResume, refuseOptions, scopeOf, sourceOf } from "./internal/provider.js"
import * as SingleFlight from "./internal/singleFlight.js"
import { traced } from "./internal/tracing.js"
import * as wire from "./internal/wire.js"
import type * as Limits from "./Limits.js"
import { type InvalidInput, NotSupported, type RequestFailure } from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import * as Requests from "./Requests.js"
import * as Token from "./Token.js"
import * as TokenStore from "./TokenStore.js"

/** This provider's id: in its errors, its store keys and the MCP tools. */
const providerId = "hyperproof"

/**
 * The documented authorization server, when `HYPERPROOF_AUTH_URL` is unset.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 *
 * const tokenEndpoint = `${Hyperproof.defaultAuthUrl}/oauth/token`
 * ```
 */
export const defaultAuthUrl = "https://accounts.hyperproof.app"

/**
 * The documented API origin, when `HYPERPROOF_API_URL` is unset.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 *
 * const controls = `${Hyperproof.defaultApiUrl}/v1/controls`
 * ```
 */
export const defaultApiUrl = "https://api.hyperproof.app"

/**
 * What hyperproof's service is made with: the client's credentials, the
 * two origins and the scopes to ask for.
 *
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 * import { Redacted } from "effect"
 *
 * const options: Hyperproof.Options = {
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   authUrl: Hyperproof.defaultAuthUrl,
 *   apiUrl: Hyperproof.defaultApiUrl,
 *   scope: "controls:read",
 * }
 * const live = Hyperproof.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Limits.Options {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** Origin of the authorization server (`/oauth/token` is appended). */
  readonly authUrl: string
  /** Origin of the API. */
  readonly apiUrl: string
  /** Space-separated scopes; the client's defaults when absent. */
  readonly scope?: string | undefined
}

const Text = Schema.optional(Schema.NullOr(Schema.String))

/** A list servers may write as `null` for none: decoded as absent. */
const List = Schema.optionalWith(Schema.Array(Schema.String), { nullable: true })

/**
 * A hyperproof user, as embedded in resources.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 * import { Schema } from "effect"
 *
 * const owner = Schema.decodeUnknownSync(Hyperproof.User)({ id: "usr_1", givenName: "Ada" })
 * ```
 */
export class User extends Schema.Class<User>("@hyperauth/core/Hyperproof/User")({
  id: Schema.String,
  email: Text,
  givenName: Text,
  surname: Text,
  profilePhotoName: Text,
  userId: Text,
  roleIds: List,
  state: Text,
}) {}

/**
 * A control, as `GET /v1/controls/{controlId}` returns it. Identity fields
 * are required; descriptive ones may be absent or null.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 * import { Schema } from "effect"
 *
 * const control = Schema.decodeUnknownSync(Hyperproof.Control)({ id: "ctl_1", orgId: "org_1", name: "Access review" })
 * ```
 */
export class Control extends Schema.Class<Control>("@hyperauth/core/Hyperproof/Control")({
  id: Schema.String,
  orgId: Schema.String,
  controlIdentifier: Text,
  name: Schema.String,
  description: Text,
  notes: Text,
  domainId: Text,
  domainName: Text,
  workStatus: Text,
  owner: Schema.optional(Schema.NullOr(User)),
  freshnessPolicy: Text,
  freshForDuration: Text,
  createdBy: Schema.optional(Schema.NullOr(User)),
  createdOn: Text,
  updatedBy: Schema.optional(Schema.NullOr(User)),
  updatedOn: Text,
  status: Text,
  permissions: List,
}) {}

/**
 * hyperproof's service: the cached client-credentials token, API calls
 * with it, `getControl`, and the uniform `Provider`.
 *
 * @example
 * ```ts
 * import type { Hyperproof } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const controlName = (hyperproof: Hyperproof.Service) =>
 *   Effect.map(hyperproof.getControl("ctl_access_review"), (control) => control.name)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly apiUrl: string
  /**
   * A valid access token: the service's own login (kept by `Accounts` on a
   * memory store of its own) until `Accounts.refreshMargin` before it
   * expires, then a new one, fetched once however many callers ask at the
   * same moment.
   */
  readonly token: Effect.Effect<Token.TokenSet, RequestFailure>
  /** A new token now, replacing the service's own. */
  readonly fetchToken: Effect.Effect<Token.TokenSet, RequestFailure>
  /**
   * An authenticated request through `AuthorizedClient`; a relative URL is
   * resolved against the API origin, and one elsewhere is `invalid_input`
   * (the token goes nowhere else). A 401 fetches a new token (one for all
   * callers refused at once) and retries once, then fails with
   * `invalid_token`, pointing at the client's access (a token just issued
   * was refused). Other statuses are returned as they are. The body is
   * read up to `maxBodyBytes` (256 KiB by default); `truncated` says it was cut.
   */
  readonly request: (
    request: HttpClientRequest.HttpClientRequest,
    options?: { readonly maxBodyBytes?: number | undefined },
  ) => Effect.Effect<ApiClient.ApiResponse, RequestFailure | InvalidInput>
  /** `GET /v1/controls/{controlId}`, decoded. */
  readonly getControl: (controlId: string) => Effect.Effect<Control, RequestFailure>
  readonly provider: Provider
}

/**
 * The tag of hyperproof's service.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const control = Effect.flatMap(Hyperproof.Hyperproof, (hyperproof) => hyperproof.getControl("ctl_access_review"))
 * ```
 */
export class Hyperproof extends Context.Tag("@hyperauth/core/Hyperproof")<Hyperproof, Service>() {}

/**
 * hyperproof's service over the `HttpClient` in context. Nothing is sent until a method runs.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyperproof } from "@hyperauth/core"
 * import { Effect, Redacted } from "effect"
 *
 * const control = Effect.gen(function* () {
 *   const hyperproof = yield* Hyperproof.make({
 *     clientId: "cli",
 *     clientSecret: Redacted.make("secret"),
 *     authUrl: Hyperproof.defaultAuthUrl,
 *     apiUrl: Hyperproof.defaultApiUrl,
 *   })
 *   return yield* hyperproof.getControl("ctl_access_review")
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const http = Pipeline.make(client, { provider: providerId }, options)
    const source = sourceOf(providerId, options.clientId, [options.authUrl, options.apiUrl])

    const buildToken = (scope: string | undefined) =>
      Requests.token(`${options.authUrl}/oauth/token`).pipe(
        Requests.grant("client_credentials", { scope }),
        Requests.clientAuth(Requests.ClientSecretPost(options.clientId, options.clientSecret)),
        Requests.build,
      )
    // A blank scope is none: the client's default scopes.
    const configuredScope = scopeOf(options.scope)
    // Requests are values: the one for the configured scope is built once.
    const configured = buildToken(configuredScope)
    const requestToken = (asked: string | undefined) => {
      const scope = scopeOf(asked)
      const built = scope === configuredScope ? configured : buildToken(scope)
      // An answer without `scope` (the seed's has none) grants the one asked for (RFC 6749 §5.1), so
      // that a renewal asks for the login's scope again, not for the configured one.
      return Effect.flatMap(http.json(built.request, wire.BearerTokenResponse, built), (answer) =>
        Token.fromResponse(answer, undefined, { scope, secrets: built.secrets, source }),
      )
    }

    // The service's own login is kept by `Accounts`, on a memory store of its
    // own: renewed 60 s early and once for all callers; its API calls go
    // through the core's authorized client, like every other login's.
    const key = { provider: providerId, account: "default" }
    const store = yield* TokenStore.makeMemory
    const accounts = yield* Accounts.make(() => Effect.succeed(provider)).pipe(
      Effect.provideService(TokenStore.TokenStore, store),
    )
    // A memory store of its own and a provider always there: these cannot happen.
    // (InvalidInput can: a request the transport cannot send is a RequestFailure.)
    const impossible = {
      TokenStoreError: Effect.die,
      NotConfigured: Effect.die,
      NotSupported: Effect.die,
    }

    // Written straight to the store, not through `Accounts.save`: the store is
    // this service's alone, so no other process takes its lease, and a renewal
    // under way that read the older record loses its commit to this one (it is
    // conditional on the version it read) and returns this token. A lease per
    // grant would cost more than the grant's own decoding.
    const fetchToken: Service["fetchToken"] = Effect.tap(requestToken(configuredScope), (fresh) =>
      Effect.catchTags(store.set(key, fresh), { TokenStoreError: Effect.die, StoreConflict: Effect.die }),
    )
    // The first callers, who find no token yet, share one request for it.
    const logins = SingleFlight.make<"login", Token.TokenSet, RequestFailure>()
    const login = Effect.suspend(() => logins.join("login") ?? logins("login", fetchToken))
    const current = Effect.catchTag(accounts.accessToken(key), "NotLoggedIn", () => login)
    const credentials: AuthorizedClient.Credentials = {
      current,
      replace: (rejected) => Effect.catchTag(accounts.replaceRejected(key, rejected), "NotLoggedIn", () => login),
    }
    const token: Service["token"] = current.pipe(Effect.catchTags(impossible), traced("Hyperproof.token"))

    const provider: Provider = {
      id: providerId,
      flow: "client_credentials",
      apiBaseUrl: options.apiUrl,
      source,
      startLogin: (login) =>
        Effect.map(
          Effect.zipRight(refuseOptions(providerId, login), requestToken(scopeOf(login.scope) ?? configuredScope)),
          (fresh) => ({
            _tag: "Authenticated" as const,
            token: fresh,
          }),
        ),
      resumeDevice: () => noResume(providerId, "device_code"),
      resumeRedirect: () => noResume(providerId, "authorization_code"),
      // No refresh token in this grant: a new token is simply requested.
      refresh: (previous) => requestToken(scopeOf(previous.scope) ?? configuredScope),
      introspect: () => Effect.fail(new NotSupported({ provider: providerId, operation: "token introspection" })),
      revoke: () => Effect.succeed(false),
      decorate: (request) => request,
    }

    const api = AuthorizedClient.makeWith(client, provider, credentials, options)
    const request: Service["request"] = (raw, requestOptions) =>
      Effect.gen(function* () {
        const exchange = yield* Effect.catchTags(api.exchange(raw, { maxBodyBytes: requestOptions?.maxBodyBytes }), {
          TokenStoreError: Effect.die,
          NotConfigured: Effect.die,
          NotSupported: Effect.die,
          NotLoggedIn: Effect.die,
        })
        return exchange.status === 401 ? yield* Classify.refusedToken(provider, exchange) : exchange
      }).pipe(traced("Hyperproof.request"))

    const getControl: Service["getControl"] = (controlId) =>
      request(HttpClientRequest.get(`/v1/controls/${encodeURIComponent(controlId)}`)).pipe(
        Effect.flatMap((exchange) => http.decode(exchange, Control)),
        traced("Hyperproof.getControl"),
      )

    return { apiUrl: options.apiUrl, token, fetchToken, request, getControl, provider }
  })

const apiUrl = settings.origin("HYPERPROOF_API_URL").pipe(Config.withDefault(defaultApiUrl))

/**
 * `HYPERPROOF_CLIENT_ID`, `HYPERPROOF_CLIENT_SECRET`, `HYPERPROOF_AUTH_URL`
 * (default `https://accounts.hyperproof.app`), `HYPERPROOF_API_URL`
 * (default `https://api.hyperproof.app`), `HYPERPROOF_SCOPE` (optional),
 * `HYPERAUTH_HTTP_TIMEOUT`.
 *
 * @since 0.1.0
 * @category config
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = Effect.withConfigProvider(Hyperproof.config, ConfigProvider.fromJson({ HYPERPROOF_CLIENT_ID: "cli", HYPERPROOF_CLIENT_SECRET: "secret" }))
 * ```
 */
export const config: Config.Config<Options> = Config.all({
  clientId: settings.required("HYPERPROOF_CLIENT_ID"),
  clientSecret: Config.redacted(settings.required("HYPERPROOF_CLIENT_SECRET")),
  authUrl: settings.origin("HYPERPROOF_AUTH_URL").pipe(Config.withDefault(defaultAuthUrl)),
  apiUrl,
  // Set empty (an env file's HYPERPROOF_SCOPE=) is unset: the client's default scopes.
  scope: Config.string("HYPERPROOF_SCOPE").pipe(
    Config.option,
    Config.map((scope) => scopeOf(Option.getOrUndefined(scope))),
  ),
  timeout: settings.httpTimeout,
})

/**
 * hyperproof in one value: its flow, API base, `config` and the settings it
 * reads (`HYPERPROOF_CLIENT_ID` and `HYPERPROOF_CLIENT_SECRET` required),
 * `make` and its layers.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Hyperproof } from "@hyperauth/core"
 *
 * Hyperproof.definition.flow // "client_credentials"
 * ```
 */
export const definition = define(providerId, "client_credentials", Hyperproof, {
  config,
  apiBaseUrl: apiUrl,
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
 * import { Hyperproof } from "@hyperauth/core"
 * import { Layer, Redacted } from "effect"
 *
 * const live = Hyperproof.layer({
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   authUrl: Hyperproof.defaultAuthUrl,
 *   apiUrl: Hyperproof.defaultApiUrl,
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
 * import { Hyperproof } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = Hyperproof.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layerConfig = definition.layerConfig
