/**
 * The uniform face of the providers, so that an app (the MCP server) logs
 * in, refreshes, introspects, revokes and calls APIs without ever switching
 * on a provider id; and the list of their definitions, from which their ids,
 * flows and settings are all read.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Arr from "effect/Array"
import type * as Config from "effect/Config"
import type * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Hyper from "./Hyper.js"
import * as HyperId from "./HyperId.js"
import * as Hyperline from "./Hyperline.js"
import * as Hyperproof from "./Hyperproof.js"
import type { IntrospectionResponse } from "./Introspection.js"
import * as internal from "./internal/provider.js"
import type { InvalidInput, NotConfigured, NotSupported, RequestFailure, StateMismatch } from "./OAuthError.js"
import type { TokenSet } from "./Token.js"

/**
 * Every provider, by its definition. Adding a provider is its module (whose
 * `definition` comes from `define`) and one line here.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * for (const definition of Provider.definitions) {
 *   console.log(definition.id, definition.flow, definition.requiredSettings)
 * }
 * ```
 */
export const definitions = [Hyper.definition, HyperId.definition, Hyperline.definition, Hyperproof.definition] as const

/**
 * The id of one of `definitions`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * const id: Provider.ProviderId = "hyperline"
 * ```
 */
export type ProviderId = (typeof definitions)[number]["id"]

/**
 * The ids of `definitions`, in their order.
 *
 * @since 0.1.0
 * @category definitions
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * console.log(Provider.providerIds.join(", ")) // hyper, hyperid, hyperline, hyperproof
 * ```
 */
export const providerIds: Arr.NonEmptyReadonlyArray<ProviderId> = Arr.map(definitions, (definition) => definition.id)

/**
 * The login flows, in the order `FlowKind` names them.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * Provider.flowKinds.includes("device_code") // true
 * ```
 */
export const flowKinds = ["device_code", "authorization_code", "client_credentials"] as const

/**
 * How a provider logs in: one of `flowKinds`.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * const flow: Provider.FlowKind = "device_code"
 * ```
 */
export type FlowKind = (typeof flowKinds)[number]

/**
 * A setting a provider reads (`HYPERLINE_CLIENT_ID`, ...), and whether it
 * cannot work without it. Read off the provider's `Config`, never listed by
 * hand.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * const setting: Provider.Setting = { name: "HYPER_CLIENT_ID", required: true }
 * ```
 */
export interface Setting {
  /** The environment variable (`HYPERLINE_CLIENT_ID`, ...). */
  readonly name: string
  /** Whether the provider cannot work without it (no default, no fallback). */
  readonly required: boolean
}

/**
 * A provider in one value: its id and flow, where its API is, its `Config`
 * and the settings that `Config` reads, how to make its service, and the
 * service's layers.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyperproof } from "@hyperauth/core"
 * import { Effect, Layer } from "effect"
 *
 * const { definition } = Hyperproof
 * console.log(definition.requiredSettings) // ["HYPERPROOF_CLIENT_ID", "HYPERPROOF_CLIENT_SECRET"]
 * const program = Effect.flatMap(definition.tag, (hyperproof) => hyperproof.getControl("ctl_1"))
 * program.pipe(Effect.provide(definition.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))))
 * ```
 */
export interface Definition<Id extends string, Options, Service extends { readonly provider: Provider }, Tag> {
  readonly id: Id
  readonly flow: FlowKind
  /** The service's tag. */
  readonly tag: Context.Tag<Tag, Service>
  /** Every setting the provider reads, with its defaults and checks. */
  readonly config: Config.Config<Options>
  /** Origin of the provider's API, readable even while other settings are missing. */
  readonly apiBaseUrl: Config.Config<string>
  /**
   * Whether the provider introspects tokens (RFC 7662); `Provider.introspect`
   * of one that does not is `NotSupported`, whatever the token.
   */
  readonly introspection: boolean
  /** The settings `config` reads, in its order, each with whether it is required. */
  readonly settings: ReadonlyArray<Setting>
  /** The names of the required ones. */
  readonly requiredSettings: ReadonlyArray<string>
  /**
   * The redirect URI the user set (`{ID}_REDIRECT_URI`), for an
   * authorization-code provider; none when the loopback default applies.
   */
  readonly configuredRedirectUri: Config.Config<Option.Option<string>>
  /** `config`, with every missing or malformed setting reported at once as `NotConfigured`. */
  readonly loadConfig: Effect.Effect<Options, NotConfigured>
  /**
   * `apiBaseUrl`, or `NotConfigured` whose `reason` names the setting that
   * keeps it from being known, what that setting accepts, and the base
   * with that setting unset.
   */
  readonly loadApiBaseUrl: Effect.Effect<string, NotConfigured>
  readonly make: (options: Options) => Effect.Effect<Service, never, HttpClient.HttpClient>
  /** The provider behind the uniform interface, made from the settings. */
  readonly provider: Effect.Effect<Provider, NotConfigured, HttpClient.HttpClient>
  readonly layer: (options: Options) => Layer.Layer<Tag, never, HttpClient.HttpClient>
  readonly layerConfig: Layer.Layer<Tag, NotConfigured, HttpClient.HttpClient>
}

/**
 * Any provider's definition, as `definitions` holds them.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * const authorizationCode: ReadonlyArray<Provider.AnyDefinition> = Provider.definitions.filter(
 *   (definition) => definition.flow === "authorization_code",
 * )
 * ```
 */
export type AnyDefinition = (typeof definitions)[number]

/**
 * A provider's definition from its `Config` and `make`: the settings, the
 * required ones, `loadConfig`, `layer` and `layerConfig` are derived.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 * import { Config, Context, Effect } from "effect"
 *
 * interface Service { readonly provider: Provider.Provider }
 * class Acme extends Context.Tag("Acme")<Acme, Service>() {}
 * declare const make: (options: { readonly clientId: string }) => Effect.Effect<Service>
 *
 * export const definition = Provider.define("acme", "client_credentials", Acme, {
 *   config: Config.all({ clientId: Config.nonEmptyString("ACME_CLIENT_ID") }),
 *   apiBaseUrl: Config.succeed("https://api.acme.example"),
 *   introspection: false, // its provider.introspect is NotSupported
 *   make,
 * })
 * definition.requiredSettings // ["ACME_CLIENT_ID"]
 * ```
 */
export const define = internal.define

/**
 * What a login asks for.
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * const request: Provider.LoginRequest = { scope: "openid", options: { verification_level: 3, ui_locales: "en" } }
 * const started = (provider: Provider.Provider) => provider.startLogin(request)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginRequest {
  readonly scope?: string | undefined
  /** Provider parameters, e.g. hyperid's `verification_level`. */
  readonly options?: Readonly<Record<string, unknown>> | undefined
  /** Overrides the configured redirect URI (authorization-code providers). */
  readonly redirectUri?: string | undefined
}

/**
 * A login that finished at once (client credentials).
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * const tokenOf = (started: Provider.LoginStart) => (started._tag === "Authenticated" ? started.token : undefined)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Authenticated {
  readonly _tag: "Authenticated"
  readonly token: TokenSet
}

/**
 * A device-code login waiting for the user (RFC 8628).
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * // Show the code, then wait for the user's approval.
 * const approved = (pending: Provider.DevicePending) =>
 *   Effect.zipRight(Effect.log(`Open ${pending.verificationUri} and enter ${pending.userCode}`), pending.complete)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DevicePending {
  readonly _tag: "DevicePending"
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete?: string | undefined
  readonly expiresAt: DateTime.Utc
  readonly interval: Duration.Duration
  /** What the client polls with (RFC 8628 §3.4): part of the pending login's record. */
  readonly deviceCode: Redacted.Redacted<string>
  /** Polls until the user approves, refuses or the code expires. */
  readonly complete: Effect.Effect<TokenSet, RequestFailure>
}

/**
 * Where on this machine a loopback redirect URI (RFC 8252 §7.3) is
 * received: the port to listen on and the path the browser asks for.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * const callback: Provider.LoopbackCallback = { port: 8976, path: "/callback/hyperid" }
 * ```
 */
export interface LoopbackCallback {
  readonly port: number
  readonly path: string
}

/**
 * The loopback callback a redirect URI points at: an `http` URI on
 * `127.0.0.1` or `localhost` with an explicit port. None for any other.
 *
 * @since 0.2.0
 * @category constructors
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * Provider.loopbackCallback("http://127.0.0.1:8976/callback/hyperid") // { port: 8976, path: "/callback/hyperid" }
 * Provider.loopbackCallback("https://app.example/callback") // undefined
 * ```
 */
export const loopbackCallback: (redirectUri: string) => LoopbackCallback | undefined = internal.loopbackCallback

/**
 * An authorization-code login waiting for the browser's redirect.
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * // The user opens authorizationUrl; the URL the browser lands on finishes the login.
 * const finish = (pending: Provider.RedirectPending, landedOn: string) => pending.complete(landedOn)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedirectPending {
  readonly _tag: "RedirectPending"
  readonly authorizationUrl: string
  readonly redirectUri: string
  /** Where on this machine the redirect arrives, when `redirectUri` is a loopback one. */
  readonly callback?: LoopbackCallback | undefined
  /** The `state` the authorization URL carries: the redirect must bring it back. */
  readonly state: string
  /** The PKCE verifier, where the provider uses PKCE. */
  readonly codeVerifier?: Redacted.Redacted<string> | undefined
  readonly expiresAt: DateTime.Utc
  /** Checks the redirect's `state`, then exchanges its code. */
  readonly complete: (redirectUrl: string) => Effect.Effect<TokenSet, RequestFailure | StateMismatch | InvalidInput>
}

/**
 * What polling a device login needs, as the pending login's record keeps
 * it: enough for another process (a restarted server, another replica) to
 * take the polling over.
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * // What to keep of a device login to poll it again after a restart.
 * const kept = ({ deviceCode, interval, expiresAt }: Provider.DevicePending): Provider.DeviceLogin => ({
 *   deviceCode,
 *   interval,
 *   expiresAt,
 * })
 * const resumed = (provider: Provider.Provider, login: Provider.DeviceLogin) => provider.resumeDevice(login)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface DeviceLogin {
  readonly deviceCode: Redacted.Redacted<string>
  readonly interval: Duration.Duration
  readonly expiresAt: DateTime.Utc
  /** The scope the login asked for, which a token answer naming none grants (RFC 6749 §5.1). */
  readonly scope?: string | undefined
}

/**
 * What finishing an authorization-code login needs, as the pending login's
 * record keeps it: the redirect URI asked for, the `state` sent and the
 * PKCE verifier, where the provider uses PKCE.
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * // What to keep of an authorization-code login to finish it after a restart.
 * const kept = ({ redirectUri, state, codeVerifier }: Provider.RedirectPending): Provider.RedirectLogin => ({
 *   redirectUri,
 *   state,
 *   codeVerifier,
 * })
 * const resumed = (provider: Provider.Provider, login: Provider.RedirectLogin, landedOn: string) =>
 *   provider.resumeRedirect(login, landedOn)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RedirectLogin {
  readonly redirectUri: string
  readonly state: string
  readonly codeVerifier?: Redacted.Redacted<string> | undefined
  /** The scope the login asked for, which a token answer naming none grants (RFC 6749 §5.1). */
  readonly scope?: string | undefined
}

/**
 * How a login started: finished at once, waiting for the user to enter a
 * code, or waiting for the browser's redirect.
 *
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 *
 * const nextStep = (started: Provider.LoginStart): string => {
 *   switch (started._tag) {
 *     case "Authenticated":
 *       return "logged in"
 *     case "DevicePending":
 *       return `enter ${started.userCode} at ${started.verificationUri}`
 *     case "RedirectPending":
 *       return `open ${started.authorizationUrl}`
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type LoginStart = Authenticated | DevicePending | RedirectPending

/**
 * A provider behind one interface: log in, resume a recorded login,
 * refresh, introspect, revoke, and decorate API calls, whatever its flow.
 *
 * @example
 * ```ts
 * import { Hyperproof, type Provider } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const describe = (provider: Provider.Provider) => `${provider.id} (${provider.flow}) at ${provider.apiBaseUrl}`
 * const described = Effect.map(Hyperproof.Hyperproof, (hyperproof) => describe(hyperproof.provider))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  readonly id: ProviderId
  readonly flow: FlowKind
  /** Origin of the provider's API, where authenticated calls go. */
  readonly apiBaseUrl: string
  /**
   * Whose tokens it obtains: the same for every service with the same
   * origins and client, different for a sandbox, a mock or another client.
   * Its tokens carry it (`TokenSet.source`), and `Accounts` uses a stored
   * login only with a provider of the same source. None: not checked.
   */
  readonly source?: string | undefined
  readonly startLogin: (request: LoginRequest) => Effect.Effect<LoginStart, RequestFailure | NotSupported>
  /**
   * Polls a device login from its record, as `DevicePending.complete` does;
   * `NotSupported` for a provider without the device flow.
   */
  readonly resumeDevice: (login: DeviceLogin) => Effect.Effect<TokenSet, RequestFailure | NotSupported>
  /**
   * Finishes an authorization-code login from its record and the URL the
   * browser landed on, as `RedirectPending.complete` does; `NotSupported`
   * for a provider without the authorization-code flow.
   */
  readonly resumeRedirect: (
    login: RedirectLogin,
    redirectUrl: string,
  ) => Effect.Effect<TokenSet, RequestFailure | StateMismatch | InvalidInput | NotSupported>
  /** A fresh token set: refresh grant, or a new client-credentials token. */
  readonly refresh: (token: TokenSet) => Effect.Effect<TokenSet, RequestFailure | NotSupported | InvalidInput>
  readonly introspect: (token: TokenSet) => Effect.Effect<IntrospectionResponse, RequestFailure | NotSupported>
  /** Revokes at the provider; false when it has no revocation endpoint. */
  readonly revoke: (token: TokenSet) => Effect.Effect<boolean, RequestFailure>
  /** Adds what every API call to this provider needs besides the Bearer token. */
  readonly decorate: (
    request: HttpClientRequest.HttpClientRequest,
    context: { readonly companyId?: string | undefined },
  ) => HttpClientRequest.HttpClientRequest
}

/**
 * Refuses login options for providers that take none, so that a typo or a
 * misplaced hyperid parameter is reported instead of silently dropped.
 *
 * @since 0.1.0
 * @category combinators
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * Provider.refuseOptions("hyper", { options: { prompt: "login" } }) // fails with InvalidInput
 * ```
 */
export const refuseOptions: (provider: ProviderId, request: LoginRequest) => Effect.Effect<void, InvalidInput> =
  internal.refuseOptions

/**
 * The flow a provider does not have, for `resumeDevice` / `resumeRedirect`.
 *
 * @since 0.2.0
 * @category combinators
 * @example
 * ```ts
 * import { Provider } from "@hyperauth/core"
 *
 * const resumeDevice = () => Provider.noResume("hyperline", "device_code") // fails with NotSupported
 * ```
 */
export const noResume: (provider: ProviderId, flow: FlowKind) => Effect.Effect<never, NotSupported> = internal.noResume
