/**
 * hyperauth's core: each provider's OAuth flow as an Effect service, with
 * schema-validated answers, typed errors (`OAuthError`), token sets that
 * keep their secrets `Redacted`, and a `TokenStore` of logins that
 * `Accounts` keeps fresh. `@hyperauth/core/promise` is the same without
 * Effect.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyper } from "@hyperauth/core"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function* () {
 *   const hyper = yield* Hyper.Hyper
 *   const device = yield* hyper.initiateDeviceFlow({ scope: "read" })
 *   yield* Effect.log(`Open ${device.verificationUri} and enter ${device.userCode}`)
 *   const token = yield* hyper.pollForToken(device)
 *   return yield* hyper.introspectToken(token.accessToken)
 * }).pipe(
 *   // Typed errors say what happened: access_denied, expired_token, connection_error, ...
 *   Effect.catchTag("OAuthProtocolError", (error) => Effect.logWarning(`login ended: ${error.code}`)),
 * )
 *
 * program.pipe(Effect.provide(Hyper.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */

/**
 * Logins by provider and account label, refreshed when needed, one refresh
 * at a time per account.
 *
 * @since 0.1.0
 */
export * as Accounts from "./Accounts.js"

/**
 * Authenticated calls to a provider's API, answered as they are (status,
 * headers, body).
 *
 * @since 0.1.0
 */
export * as ApiClient from "./ApiClient.js"

/**
 * The authorization code grant's helpers: `state`, PKCE and reading the
 * redirect.
 *
 * @since 0.1.0
 */
export * as AuthorizationCode from "./AuthorizationCode.js"

/**
 * An `HttpClient` for one login: API base, provider headers, the Bearer
 * token from `Accounts`, and one shared renewal after a 401.
 *
 * @since 0.2.0
 */
export * as AuthorizedClient from "./AuthorizedClient.js"

/**
 * The RFC 8628 device grant's polling loop.
 *
 * @since 0.1.0
 */
export * as DeviceFlow from "./DeviceFlow.js"

/**
 * hyper: the device authorization grant and token introspection.
 *
 * @since 0.1.0
 */
export * as Hyper from "./Hyper.js"

/**
 * hyperid: a Keycloak-style realm; authorization code with KYC and social
 * parameters, refresh, introspection and logout.
 *
 * @since 0.1.0
 */
export * as HyperId from "./HyperId.js"

/**
 * hyperline: authorization code with `state`, refresh, revocation and the
 * company API.
 *
 * @since 0.1.0
 */
export * as Hyperline from "./Hyperline.js"

/**
 * hyperline's Apps API, with the account's API key.
 *
 * @since 0.2.0
 */
export * as HyperlineApps from "./HyperlineApps.js"

/**
 * hyperproof: the client credentials grant and its API.
 *
 * @since 0.1.0
 */
export * as Hyperproof from "./Hyperproof.js"

/**
 * Token introspection answers (RFC 7662).
 *
 * @since 0.1.0
 */
export * as Introspection from "./Introspection.js"

/**
 * How long one call to a provider may take, and how a failed one is tried again.
 *
 * @since 0.2.0
 */
export * as Limits from "./Limits.js"

/**
 * The core's `HttpClient` on Node's `node:http`/`node:https`.
 *
 * @since 0.1.0
 */
export * as NodeHttpTransport from "./NodeHttpTransport.js"

/**
 * hyperauth's errors: a `Schema.Union` of tagged errors with stable codes.
 *
 * @since 0.1.0
 */
export * as OAuthError from "./OAuthError.js"

/**
 * The uniform face of the providers, for apps that serve them all, and
 * their definitions, from which ids, flows and settings derive.
 *
 * @since 0.1.0
 */
export * as Provider from "./Provider.js"

/**
 * Requests to OAuth endpoints, built by piping; client authentication as a value.
 *
 * @since 0.2.0
 */
export * as Requests from "./Requests.js"

/**
 * Settings every provider shares, read through `Config`.
 *
 * @since 0.1.0
 */
export * as Settings from "./Settings.js"

/**
 * Token sets: what a login or refresh yields, tokens held as `Redacted`.
 *
 * @since 0.1.0
 */
export * as Token from "./Token.js"

/**
 * Where logins live: memory, an encrypted file, or Redis.
 *
 * @since 0.1.0
 */
export * as TokenStore from "./TokenStore.js"
