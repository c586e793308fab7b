/**
 * hyperid: a Keycloak-style OpenID Connect realm. Authorization code with
 * the KYC and social parameters (`flow_mode`, `ui_locales`, `login_hint`,
 * `verification_level`), refresh, introspection and logout.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuthorizationCode from "./AuthorizationCode.js"
import type { IntrospectionResponse } from "./Introspection.js"
import * as settings from "./internal/config.js"
import * as Pipeline from "./internal/pipeline.js"
import {
  alreadyRevoked,
  define,
  introspectionWithoutEchoes,
  noResume,
  redirectPending,
  refreshTokenOf,
  scopeOf,
  sourceOf,
} from "./internal/provider.js"
import { traced } from "./internal/tracing.js"
import * as wire from "./internal/wire.js"
import type * as Limits from "./Limits.js"
import { InvalidInput, type RequestFailure, type StateMismatch } from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import * as Requests from "./Requests.js"
import * as Token from "./Token.js"

/** This provider's id: in its errors, its store keys and the MCP tools. */
const providerId = "hyperid"

/**
 * The path of the realm's OpenID Connect endpoints below the origin.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * const tokenEndpoint = `${HyperId.environments.sandbox}${HyperId.realmPath}/token`
 * ```
 */
export const realmPath = "/auth/realms/HyperID/protocol/openid-connect"

/**
 * The realm's issuer path: `{origin}{issuerPath}` is the `iss` of its
 * tokens and of its authorization responses (RFC 9207).
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * const issuer = `${HyperId.environments.production}${HyperId.issuerPath}`
 * ```
 */
export const issuerPath = "/auth/realms/HyperID"

/**
 * The documented origins, picked by `HYPERID_ENVIRONMENT`.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * const origin = HyperId.environments.sandbox // "https://login-sandbox.hypersecureid.com"
 * ```
 */
export const environments = {
  production: "https://login.hypersecureid.com",
  sandbox: "https://login-sandbox.hypersecureid.com",
} as const

/**
 * The name of one of `environments`.
 *
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * const environment: HyperId.Environment = "sandbox"
 * HyperId.environments[environment] // "https://login-sandbox.hypersecureid.com"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = keyof typeof environments

/**
 * What hyperid's service is made with: the realm server's origin, the
 * confidential client and the redirect URI used when a login names none.
 *
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { Redacted } from "effect"
 *
 * const options: HyperId.Options = {
 *   origin: HyperId.environments.sandbox,
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   redirectUri: "http://127.0.0.1:8976/callback/hyperid",
 * }
 * const live = HyperId.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Limits.Options {
  /** Origin of the realm server: the environment's, or `HYPERID_BASE_URL`. */
  readonly origin: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
}

/**
 * The provider parameters of the authorization request, as the seed names
 * them. Unknown names are refused so that a typo is not silently dropped.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { Schema } from "effect"
 *
 * const params = Schema.decodeUnknownSync(HyperId.AuthorizationParams)({ verification_level: 3, ui_locales: "en" })
 * ```
 */
export const AuthorizationParams = Schema.Struct({
  flow_mode: Schema.optional(Schema.NonNegativeInt),
  // Bounded: they travel in the authorization URL and in the pending login's record.
  ui_locales: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  login_hint: Schema.optional(Schema.String.pipe(Schema.maxLength(1024))),
  /** 4 = KYC full, 3 = KYC basic, 2 = social (needs twitter-check or telegram-check in scope). */
  verification_level: Schema.optional(Schema.Literal(2, 3, 4)),
})

/**
 * The hyperid authorization parameters, as decoded by `AuthorizationParams`.
 *
 * @example
 * ```ts
 * import type { HyperId } from "@hyperauth/core"
 *
 * // KYC basic, the login page in French.
 * const params: HyperId.AuthorizationParams = { verification_level: 3, ui_locales: "fr" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizationParams = typeof AuthorizationParams.Type

/**
 * A started login: the URL to open, and what finishing it needs.
 *
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * // Keep the request (its state and PKCE verifier) until the browser comes back; send the user to its url.
 * const started = Effect.flatMap(HyperId.HyperId, (hyperid) => hyperid.authorizationUrl({ scope: "openid" })).pipe(
 *   Effect.map((request: HyperId.AuthorizationRequest) => request.url),
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizationRequest {
  readonly url: string
  readonly redirectUri: string
  readonly state: string
  readonly codeVerifier: Redacted.Redacted<string>
  readonly expiresAt: DateTime.Utc
  /** The scope asked for: what a token answer naming none grants (RFC 6749 §5.1), as the seed's does. */
  readonly scope?: string | undefined
}

/**
 * A finished login: its tokens and the `locale` the redirect carried.
 *
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const finish = (request: HyperId.AuthorizationRequest, landedOn: string) =>
 *   Effect.flatMap(HyperId.HyperId, (hyperid) => hyperid.completeLogin(request, landedOn)).pipe(
 *     Effect.map(({ token, locale }: HyperId.LoginResult) => ({ token, locale: locale ?? "en" })),
 *   )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginResult {
  readonly token: Token.TokenSet
  /** The `locale` the redirect carried. */
  readonly locale: string | undefined
}

/**
 * hyperid's service: authorization URL, code exchange, refresh,
 * introspection, logout, and the uniform `Provider`.
 *
 * @example
 * ```ts
 * import type { HyperId, Token } from "@hyperauth/core"
 *
 * // A new token set; the refresh token is kept when none comes back.
 * const renewed = (hyperid: HyperId.Service, token: Token.TokenSet) => hyperid.refresh(token)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly baseUrl: string
  /**
   * Builds the authorization URL with a fresh `state` and PKCE S256.
   * Refuses bad parameters with `invalid_input` before any network call.
   */
  readonly authorizationUrl: (
    request?: {
      readonly scope?: string | undefined
      readonly redirectUri?: string | undefined
    } & AuthorizationParams,
  ) => Effect.Effect<AuthorizationRequest, InvalidInput>
  /** Reads the redirect (`code`, `locale`, `state` or `error`) and exchanges the code. */
  readonly completeLogin: (
    request: Pick<AuthorizationRequest, "redirectUri" | "state" | "codeVerifier" | "scope">,
    redirectUrl: string,
  ) => Effect.Effect<LoginResult, RequestFailure | StateMismatch | InvalidInput>
  /** `POST /token`, `grant_type=refresh_token`; keeps the old refresh token if none comes back. */
  readonly refresh: (token: Token.TokenSet) => Effect.Effect<Token.TokenSet, RequestFailure | InvalidInput>
  /** `POST /token/introspect` with `token_type_hint=access_token`. */
  readonly introspect: (accessToken: Redacted.Redacted<string>) => Effect.Effect<IntrospectionResponse, RequestFailure>
  /**
   * `POST /logout` with the refresh token: ends the session and its access
   * tokens. A session that has already ended (the realm's `invalid_grant`)
   * is logged out too: it succeeds.
   */
  readonly logout: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<void, RequestFailure>
  readonly provider: Provider
}

/**
 * The tag of hyperid's service.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const login = Effect.flatMap(HyperId.HyperId, (hyperid) => hyperid.authorizationUrl({ scope: "openid" }))
 * ```
 */
export class HyperId extends Context.Tag("@hyperauth/core/HyperId")<HyperId, Service>() {}

const socialScopes = ["twitter-check", "telegram-check"]

/**
 * The realm's issuer, as it names itself in `iss`: the origin in its
 * canonical form (scheme and host in lower case, no default port), since
 * RFC 9207 §2.4 compares issuers as strings and an origin may be written
 * otherwise (`HTTPS://Login.HyperSecureID.com:443`).
 */
const issuerOf = (origin: string): string => {
  if (!URL.canParse(origin)) return `${origin}${issuerPath}`
  const url = new URL(origin)
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}${issuerPath}`
}

/**
 * Checks the parameters the seed constrains: only its names, and
 * `verification_level` 2 only with a social scope.
 *
 * @since 0.1.0
 * @category validation
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * const refused = HyperId.validateParams({ verification_level: 2 }, "openid") // fails: needs twitter-check or telegram-check
 * ```
 */
export const validateParams = (
  params: unknown,
  scope: string | undefined,
): Effect.Effect<AuthorizationParams, InvalidInput> =>
  Effect.gen(function* () {
    const decoded = yield* Schema.decodeUnknown(AuthorizationParams, { onExcessProperty: "error" })(params).pipe(
      Effect.mapError(() => {
        const unknown =
          typeof params === "object" && params !== null
            ? Object.keys(params).filter((name) => !Object.hasOwn(AuthorizationParams.fields, name))
            : []
        const named =
          unknown.length === 0 ? "" : `${unknown.join(", ")} is not a hyperid option (scope is its own argument). `
        return new InvalidInput({
          provider: providerId,
          reason: `${named}hyperid options are flow_mode (a whole number), ui_locales (text), login_hint (text) and verification_level (2, 3 or 4).`,
        })
      }),
    )
    const scopes = (scope ?? "").split(" ")
    if (decoded.verification_level === 2 && !socialScopes.some((s) => scopes.includes(s))) {
      return yield* new InvalidInput({
        provider: providerId,
        reason: "verification_level 2 (social) needs twitter-check or telegram-check in scope; add one to scope.",
      })
    }
    return decoded
  })

/**
 * hyperid's service over the `HttpClient` in context. Nothing is sent until a method runs.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { HyperId } from "@hyperauth/core"
 * import { Effect, Redacted } from "effect"
 *
 * const login = Effect.gen(function* () {
 *   const hyperid = yield* HyperId.make({
 *     origin: HyperId.environments.sandbox,
 *     clientId: "cli",
 *     clientSecret: Redacted.make("secret"),
 *     redirectUri: "http://127.0.0.1:8976/callback/hyperid",
 *   })
 *   return yield* hyperid.authorizationUrl({ scope: "openid", verification_level: 3 })
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const http = Pipeline.make(client, { provider: providerId }, options)
    const baseUrl = `${options.origin}${realmPath}`
    const issuer = issuerOf(options.origin)
    const source = sourceOf(providerId, options.clientId, [baseUrl])
    const clientAuth = Requests.secretPostOrNone(options.clientId, options.clientSecret)

    /** The URL for already-decoded parameters; the protocol's own members are set last, so nothing overrides them. */
    const buildAuthorizationUrl = (asked: string | undefined, redirectUri: string, params: AuthorizationParams) =>
      Effect.gen(function* () {
        // A blank scope is none: the parameter is left out.
        const scope = scopeOf(asked)
        const state = yield* AuthorizationCode.makeState
        const pkce = yield* AuthorizationCode.makePkce
        const url = new URL(`${baseUrl}/auth`)
        const query: Record<string, string | number | undefined> = {
          ...params,
          response_type: "code",
          client_id: options.clientId,
          redirect_uri: redirectUri,
          scope,
          state,
          code_challenge: pkce.challenge,
          code_challenge_method: pkce.method,
        }
        for (const [name, value] of Object.entries(query)) {
          // An empty value means the parameter is not sent (RFC 6749 §3.1): it is left out, not sent empty.
          if (value !== undefined && value !== "") url.searchParams.set(name, String(value))
        }
        return {
          url: url.toString(),
          redirectUri,
          state,
          codeVerifier: pkce.verifier,
          expiresAt: DateTime.addDuration(yield* DateTime.now, AuthorizationCode.loginLifetime),
          scope,
        }
      })

    const authorizationUrl: Service["authorizationUrl"] = (request = {}) =>
      Effect.gen(function* () {
        const { scope, redirectUri = options.redirectUri, ...rest } = request
        return yield* buildAuthorizationUrl(scope, redirectUri, yield* validateParams(rest, scope))
      })

    const completeLogin: Service["completeLogin"] = (request, redirectUrl) =>
      Effect.gen(function* () {
        // The documented redirect shows `code` and `locale`; the `state` every
        // login sends must come back too (the contract's CSRF guard: PKCE binds
        // the code only where the server refuses a downgrade, which the seed does
        // not promise). Keycloak adds `iss` (RFC 9207), which must be this realm.
        const redirect = yield* AuthorizationCode.parseRedirect(redirectUrl, {
          expectedState: request.state,
          provider: providerId,
          redirectUri: request.redirectUri,
          expectedIssuer: issuer,
        })
        const built = Requests.token(`${baseUrl}/token`).pipe(
          Requests.grant("authorization_code", {
            code: redirect.code,
            redirect_uri: request.redirectUri,
            code_verifier: request.codeVerifier,
          }),
          Requests.clientAuth(clientAuth),
          Requests.build,
        )
        const answer = yield* http.json(built.request, wire.TokenResponse, built)
        // The seed's token answer names no scope: the one asked for is granted (RFC 6749 §5.1).
        const token = yield* Token.fromResponse(answer, undefined, {
          scope: request.scope,
          secrets: built.secrets,
          source,
        })
        return { token, locale: redirect.params.locale }
      }).pipe(traced("HyperId.completeLogin"))

    const refresh: Service["refresh"] = (token) =>
      Effect.gen(function* () {
        const refreshToken = yield* refreshTokenOf(providerId, token)
        const built = Requests.token(`${baseUrl}/token`).pipe(
          Requests.grant("refresh_token", { refresh_token: refreshToken }),
          Requests.clientAuth(clientAuth),
          Requests.build,
        )
        const answer = yield* http.json(built.request, wire.TokenResponse, built)
        return yield* Token.fromResponse(answer, token, { secrets: built.secrets, source })
      }).pipe(traced("HyperId.refresh"))

    const introspect: Service["introspect"] = (accessToken) => {
      const built = Requests.introspection(`${baseUrl}/token/introspect`).pipe(
        Requests.params({ token: accessToken, token_type_hint: "access_token" }),
        Requests.clientAuth(clientAuth),
        Requests.build,
      )
      return http
        .json(built.request, wire.IntrospectionResponse, built)
        .pipe(Effect.map(introspectionWithoutEchoes(built.secrets)), traced("HyperId.introspect"))
    }

    const logout: Service["logout"] = (refreshToken) => {
      const built = Requests.make(`${baseUrl}/logout`, { idempotent: true }).pipe(
        Requests.params({ refresh_token: refreshToken }),
        Requests.clientAuth(clientAuth),
        Requests.build,
      )
      return http.ok(built.request, built).pipe(
        // Keycloak answers a refresh token whose session has ended (logged out
        // before, expired, ended by an admin) with `invalid_grant`. The seed is
        // silent; as RFC 7009 §2.2 has it for revocation, the purpose of the
        // request is already achieved, so the session is logged out, not failed.
        Effect.catchIf(alreadyRevoked, () => Effect.void),
        traced("HyperId.logout"),
      )
    }

    const provider: Provider = {
      id: providerId,
      flow: "authorization_code",
      apiBaseUrl: baseUrl,
      source,
      // The options are decoded on their own: they hold provider parameters
      // only, never the scope or redirect URI of the login itself.
      startLogin: (login) =>
        Effect.map(
          Effect.flatMap(validateParams(login.options ?? {}, login.scope), (params) =>
            buildAuthorizationUrl(login.scope, login.redirectUri ?? options.redirectUri, params),
          ),
          (request) =>
            redirectPending({
              authorizationUrl: request.url,
              redirectUri: request.redirectUri,
              state: request.state,
              codeVerifier: request.codeVerifier,
              expiresAt: request.expiresAt,
              complete: (redirectUrl) => Effect.map(completeLogin(request, redirectUrl), (result) => result.token),
            }),
        ),
      resumeDevice: () => noResume(providerId, "device_code"),
      resumeRedirect: ({ codeVerifier, ...login }, redirectUrl) =>
        codeVerifier === undefined
          ? Effect.fail(
              new InvalidInput({
                provider: providerId,
                reason: "this login was recorded without its PKCE verifier; start a new login.",
              }),
            )
          : Effect.map(completeLogin({ ...login, codeVerifier }, redirectUrl), (result) => result.token),
      refresh,
      introspect: (token) => introspect(token.accessToken),
      revoke: (token) =>
        token.refreshToken === undefined ? Effect.succeed(false) : Effect.as(logout(token.refreshToken), true),
      decorate: (request) => request,
    }

    return { baseUrl, authorizationUrl, completeLogin, refresh, introspect, logout, provider }
  })

const origin = settings.environmentOrigin("HYPERID", environments)

/** Where the realm's endpoints are, the API base of hyperid (a valid `HYPERID_BASE_URL` names it whatever the environment). */
const realm = Config.map(settings.environmentApiOrigin("HYPERID", environments), (server) => `${server}${realmPath}`)

/**
 * `HYPERID_ENVIRONMENT` (`production` default, or `sandbox`) picks the
 * documented origin, `HYPERID_BASE_URL` replaces it; `HYPERID_CLIENT_ID`,
 * `HYPERID_CLIENT_SECRET`, `HYPERID_REDIRECT_URI` (default: the loopback
 * callback `http://127.0.0.1:{HYPERAUTH_CALLBACK_PORT}/callback/hyperid`).
 *
 * @since 0.1.0
 * @category config
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = Effect.withConfigProvider(HyperId.config, ConfigProvider.fromJson({ HYPERID_CLIENT_ID: "cli", HYPERID_CLIENT_SECRET: "secret" }))
 * ```
 */
export const config: Config.Config<Options> = Config.all({
  origin,
  clientId: settings.required("HYPERID_CLIENT_ID"),
  clientSecret: Config.redacted(settings.required("HYPERID_CLIENT_SECRET")),
  redirectUri: settings.redirectUri(providerId),
  timeout: settings.httpTimeout,
})

/**
 * hyperid in one value: its flow, API base (the realm's endpoints),
 * `config` and the settings it reads (`HYPERID_CLIENT_ID` and
 * `HYPERID_CLIENT_SECRET` required), `make` and its layers.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { HyperId } from "@hyperauth/core"
 *
 * HyperId.definition.settings.map((setting) => setting.name) // ["HYPERID_ENVIRONMENT", "HYPERID_BASE_URL", ...]
 * ```
 */
export const definition = define(providerId, "authorization_code", HyperId, {
  config,
  apiBaseUrl: realm,
  introspection: true,
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
 * import { HyperId } from "@hyperauth/core"
 * import { Layer, Redacted } from "effect"
 *
 * const live = HyperId.layer({
 *   origin: HyperId.environments.sandbox,
 *   clientId: "cli",
 *   clientSecret: Redacted.make("secret"),
 *   redirectUri: "http://127.0.0.1:8976/callback/hyperid",
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
 * import { HyperId } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = HyperId.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layerConfig = definition.layerConfig
