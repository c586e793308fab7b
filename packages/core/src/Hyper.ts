/**
 * hyper: the OAuth 2.0 Device Authorization Grant (RFC 8628) and token
 * introspection (RFC 7662).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as DeviceFlow from "./DeviceFlow.js"
import type { IntrospectionResponse } from "./Introspection.js"
import * as settings from "./internal/config.js"
import * as Pipeline from "./internal/pipeline.js"
import { define, introspectionWithoutEchoes, noResume, refuseOptions, scopeOf, sourceOf } from "./internal/provider.js"
import { traced } from "./internal/tracing.js"
import * as wire from "./internal/wire.js"
import type * as Limits from "./Limits.js"
import { InvalidInput, NotSupported, type RequestFailure } from "./OAuthError.js"
import type { DeviceLogin, Provider } from "./Provider.js"
import * as Requests from "./Requests.js"
import * as Token from "./Token.js"

/** This provider's id: in its errors, its store keys and the MCP tools. */
const providerId = "hyper"

/**
 * hyper's documented origin, when `HYPER_BASE_URL` is unset.
 *
 * @since 0.1.0
 * @category constants
 * @example
 * ```ts
 * import { Hyper } from "@hyperauth/core"
 *
 * const options: Hyper.Options = { baseUrl: Hyper.defaultBaseUrl, clientId: "cli" }
 * ```
 */
export const defaultBaseUrl = "https://api.hyper.io"

/**
 * What hyper's service is made with: the origin and the public client's id.
 *
 * @example
 * ```ts
 * import { Hyper } from "@hyperauth/core"
 *
 * // A local emulator, and a shorter time limit than the default 30 s.
 * const options: Hyper.Options = { baseUrl: "http://127.0.0.1:4010", clientId: "cli", timeout: "10 seconds" }
 * const live = Hyper.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Limits.Options {
  /** Origin of the hyper service; the documented paths are appended. */
  readonly baseUrl: string
  /** The device client is public: it identifies itself by id only. */
  readonly clientId: string
}

/**
 * A started device authorization (RFC 8628 §3.2), with its expiry made
 * absolute when it was received.
 *
 * @example
 * ```ts
 * import type { Hyper } from "@hyperauth/core"
 * import { Duration } from "effect"
 *
 * const prompt = (device: Hyper.DeviceAuthorization) =>
 *   `Open ${device.verificationUriComplete ?? device.verificationUri} and enter ${device.userCode}` +
 *   ` (checked every ${Duration.format(device.interval)})`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeviceAuthorization {
  readonly deviceCode: Redacted.Redacted<string>
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete?: string | undefined
  /** Seconds the device code lives, as the server said. */
  readonly expiresIn: number
  readonly expiresAt: DateTime.Utc
  /** The polling interval: `DeviceFlow.defaultInterval` when the server gives none, 1 s at least. */
  readonly interval: Duration.Duration
  /** The scope asked for (RFC 8628 §3.1): what a token answer naming none grants (RFC 6749 §5.1). */
  readonly scope?: string | undefined
}

/**
 * An Effect, as `onSuccess` may return one. It runs with the services of
 * the poll's caller (`pollForToken`'s type requires what it requires), and
 * whatever ends it other than success is an `OnSuccessFailed`.
 */
const isEffect = (value: unknown): value is Effect.Effect<unknown, unknown> => Effect.isEffect(value)

/**
 * `pollForToken`'s `onSuccess`, run once with the token: an Effect it
 * returns is run, a promise awaited; a throw, a rejection or a failure is
 * an `OnSuccessFailed` that carries the token.
 */
const afterSuccess = (
  token: Token.TokenSet,
  onSuccess: (token: Token.TokenSet) => unknown,
): Effect.Effect<void, OnSuccessFailed> =>
  Effect.flatMap(
    Effect.try({ try: () => onSuccess(token), catch: (cause) => new OnSuccessFailed(token, cause, "threw") }),
    (result) =>
      isEffect(result)
        ? Effect.catchAllCause(Effect.asVoid(result), (cause) =>
            Effect.fail(new OnSuccessFailed(token, Cause.squash(cause), "failed")),
          )
        : Effect.tryPromise({
            try: async () => {
              await result
            },
            catch: (cause) => new OnSuccessFailed(token, cause, "rejected"),
          }),
  )

/**
 * hyper's service: the device flow, introspection, and the uniform `Provider`.
 *
 * @example
 * ```ts
 * import type { Hyper } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const signIn = (hyper: Hyper.Service) =>
 *   Effect.flatMap(hyper.initiateDeviceFlow({ scope: "read" }), (device) => hyper.pollForToken(device))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The origin requests go to (`Options.baseUrl`, `HYPER_BASE_URL`), as `HyperId.Service.baseUrl`. */
  readonly baseUrl: string
  /** @deprecated The same as `baseUrl`, spelled as hyper's own `baseURL()`; use `baseUrl`. */
  readonly baseURL: string
  /** Starts a device login (`POST /oauth/device`). */
  readonly initiateDeviceFlow: (options?: {
    readonly scope?: string | undefined
  }) => Effect.Effect<DeviceAuthorization, RequestFailure>
  /**
   * Polls `POST /oauth/token` until the user approves (the token), refuses
   * (`access_denied`) or the code expires (`expired_token`). `onSuccess`
   * runs once, with the token, before it is returned; an Effect it returns
   * is run with the caller's services (the poll requires what it requires),
   * a promise waited for. (`Effect.tap` on the poll does the same in
   * Effect code.) Should it
   * throw, reject or fail, the poll fails with
   * `OnSuccessFailed`, an `InvalidInput` (`invalid_input`) in the error
   * channel, as the Promise facade's `pollForToken` rejects: its `cause` is
   * what the callback threw and its `token` the token, whose device code is
   * spent (this is its one copy).
   */
  readonly pollForToken: {
    <A, E, R>(
      device: DeviceAuthorization,
      onSuccess: (token: Token.TokenSet) => Effect.Effect<A, E, R>,
    ): Effect.Effect<Token.TokenSet, RequestFailure, R>
    (
      device: DeviceAuthorization,
      onSuccess?: (token: Token.TokenSet) => unknown,
    ): Effect.Effect<Token.TokenSet, RequestFailure>
  }
  /**
   * `POST /oauth/token`, `grant_type=refresh_token`, for a login that
   * brought a refresh token (the seed documents none; RFC 8628 answers as
   * RFC 6749 §5.1, which may carry one); keeps the old refresh token if
   * none comes back. A login without one is `not_supported`: log in again.
   */
  readonly refresh: (token: Token.TokenSet) => Effect.Effect<Token.TokenSet, RequestFailure | NotSupported>
  /** `POST /oauth/introspect`; `active: false` is an answer, not an error. */
  readonly introspectToken: (
    token: Redacted.Redacted<string> | string,
  ) => Effect.Effect<IntrospectionResponse, RequestFailure>
  /** hyper behind the uniform provider interface. */
  readonly provider: Provider
}

/** What ended `onSuccess`, as `OnSuccessFailed`'s message says it. */
const endings = {
  threw: "onSuccess threw",
  rejected: "onSuccess's promise rejected",
  failed: "onSuccess's Effect failed",
}
const causes = { threw: "what it threw", rejected: "its reason", failed: "its failure" }

/**
 * How `pollForToken` fails when its `onSuccess` threw, its promise rejected
 * or its Effect failed after the token was issued: an `InvalidInput`
 * (`invalid_input`, tag `InvalidInput`), so a caller matching the error
 * channel needs no new case, that carries
 * the token as `token` (a getter, off the error's fields: not in its JSON
 * or message) and what ended the callback as `cause`. The device code is
 * spent, so `token` is the one copy: keep it as `onSuccess` would have.
 *
 * @example
 * ```ts
 * import { Hyper, type Token } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * declare const save: (token: Token.TokenSet) => Promise<void>
 *
 * const signIn = (hyper: Hyper.Service, device: Hyper.DeviceAuthorization) =>
 *   hyper.pollForToken(device, save).pipe(
 *     // The store failed: the token is still here, and its grant issues no other.
 *     Effect.catchIf(
 *       (error) => error instanceof Hyper.OnSuccessFailed,
 *       (error) => (error instanceof Hyper.OnSuccessFailed ? Effect.succeed(error.token) : Effect.fail(error)),
 *     ),
 *   )
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class OnSuccessFailed extends InvalidInput {
  readonly #token: Token.TokenSet

  /** `how` says what ended `onSuccess`: a throw (the default), its promise's rejection, or its Effect's failure. */
  constructor(token: Token.TokenSet, cause: unknown, how: "threw" | "rejected" | "failed" = "threw") {
    super({
      provider: providerId,
      reason: `${endings[how]} after the token was issued (${causes[how]} is this error's cause). The token is this error's token property: keep it, its device code is spent and issues no other.`,
    })
    this.#token = token
    // Not enumerable, as an Error's own cause is: it is the caller's, and may say anything.
    Object.defineProperty(this, "cause", { value: cause, enumerable: false, writable: true, configurable: true })
  }

  /** The token that was issued; never in the message or the JSON. */
  get token(): Token.TokenSet {
    return this.#token
  }
}

/**
 * The tag of hyper's service.
 *
 * @since 0.1.0
 * @category tags
 * @example
 * ```ts
 * import { Hyper } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const started = Effect.flatMap(Hyper.Hyper, (hyper) => hyper.initiateDeviceFlow({ scope: "openid" }))
 * ```
 */
export class Hyper extends Context.Tag("@hyperauth/core/Hyper")<Hyper, Service>() {}

/**
 * hyper's service over the `HttpClient` in context. Nothing is sent until a method runs.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Hyper } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const device = Effect.gen(function* () {
 *   const hyper = yield* Hyper.make({ baseUrl: Hyper.defaultBaseUrl, clientId: "cli" })
 *   return yield* hyper.initiateDeviceFlow()
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const http = Pipeline.make(client, { provider: providerId, baseUrl: options.baseUrl }, options)
    const source = sourceOf(providerId, options.clientId, [options.baseUrl])

    const initiateDeviceFlow: Service["initiateDeviceFlow"] = (request) =>
      Effect.gen(function* () {
        // A blank scope is none: the parameter is left out.
        const scope = scopeOf(request?.scope)
        const built = Requests.deviceAuthorization("/oauth/device").pipe(
          Requests.params({ scope }),
          Requests.clientAuth(Requests.None(options.clientId)),
          Requests.build,
        )
        const answer = yield* http.json(built.request, wire.DeviceAuthorizationResponse, built)
        const now = yield* DateTime.now
        return {
          deviceCode: Redacted.make(answer.device_code),
          userCode: answer.user_code,
          verificationUri: answer.verification_uri,
          verificationUriComplete: answer.verification_uri_complete,
          expiresIn: answer.expires_in,
          expiresAt: DateTime.addDuration(now, Duration.seconds(answer.expires_in)),
          interval: DeviceFlow.intervalOf(answer.interval),
          scope,
        }
      }).pipe(traced("Hyper.initiateDeviceFlow"))

    /** Needs only what a pending login's record keeps, so another process can take it over. */
    const pollDevice = (device: DeviceLogin, onSuccess?: (token: Token.TokenSet) => unknown) => {
      const built = Requests.token("/oauth/token").pipe(
        Requests.grant("urn:ietf:params:oauth:grant-type:device_code", { device_code: device.deviceCode }),
        Requests.clientAuth(Requests.None(options.clientId)),
        Requests.build,
      )
      // Sent once per poll: the poller, not the pipeline, decides when to ask again (never within the interval).
      // RFC 8628 §3.5 answers as RFC 6749 §5.1 does: without `scope` when it is the one asked for.
      const request = Effect.flatMap(http.jsonOnce(built.request, wire.BearerTokenResponse, built), (answer) =>
        Token.fromResponse(answer, undefined, { scope: device.scope, secrets: built.secrets, source }),
      )
      return DeviceFlow.poll({
        request,
        interval: device.interval,
        expiresAt: device.expiresAt,
        provider: providerId,
      }).pipe(
        Effect.tap((token) => (onSuccess === undefined ? Effect.void : afterSuccess(token, onSuccess))),
        traced("Hyper.pollForToken"),
      )
    }
    const pollForToken: Service["pollForToken"] = pollDevice

    // The seed documents no refresh, but RFC 8628 §3.5 answers as RFC 6749 §5.1 does, which may bring a
    // refresh token: one that came is used as RFC 6749 §6 says, a public client naming itself by its id.
    const refresh: Service["refresh"] = (token) => {
      if (token.refreshToken === undefined) {
        return Effect.fail(
          new NotSupported({
            provider: providerId,
            operation: "token refresh for a login that brought no refresh token; log in again",
          }),
        )
      }
      const built = Requests.token("/oauth/token").pipe(
        Requests.grant("refresh_token", { refresh_token: token.refreshToken }),
        Requests.clientAuth(Requests.None(options.clientId)),
        Requests.build,
      )
      return http.json(built.request, wire.BearerTokenResponse, built).pipe(
        Effect.flatMap((answer) => Token.fromResponse(answer, token, { secrets: built.secrets, source })),
        traced("Hyper.refresh"),
      )
    }

    const introspectToken: Service["introspectToken"] = (token) => {
      const built = Requests.introspection("/oauth/introspect").pipe(
        Requests.params({ token: Redacted.isRedacted(token) ? token : Redacted.make(token) }),
        Requests.clientAuth(Requests.None(options.clientId)),
        Requests.build,
      )
      return http
        .json(built.request, wire.IntrospectionResponse, built)
        .pipe(Effect.map(introspectionWithoutEchoes(built.secrets)), traced("Hyper.introspectToken"))
    }

    const provider: Provider = {
      id: providerId,
      flow: "device_code",
      apiBaseUrl: options.baseUrl,
      source,
      startLogin: (request) =>
        Effect.map(
          Effect.zipRight(refuseOptions(providerId, request), initiateDeviceFlow({ scope: request.scope })),
          (device) => ({
            _tag: "DevicePending" as const,
            userCode: device.userCode,
            verificationUri: device.verificationUri,
            verificationUriComplete: device.verificationUriComplete,
            expiresAt: device.expiresAt,
            interval: device.interval,
            deviceCode: device.deviceCode,
            complete: pollForToken(device),
          }),
        ),
      resumeDevice: (login) => pollDevice(login),
      resumeRedirect: () => noResume(providerId, "authorization_code"),
      refresh,
      introspect: (token) => introspectToken(token.accessToken),
      revoke: () => Effect.succeed(false),
      decorate: (request) => request,
    }

    return {
      baseUrl: options.baseUrl,
      baseURL: options.baseUrl,
      initiateDeviceFlow,
      pollForToken,
      refresh,
      introspectToken,
      provider,
    }
  })

const baseUrl = settings.origin("HYPER_BASE_URL").pipe(Config.withDefault(defaultBaseUrl))

/**
 * Settings read through `Config`: `HYPER_BASE_URL` (default
 * `https://api.hyper.io`), `HYPER_CLIENT_ID`, `HYPERAUTH_HTTP_TIMEOUT`.
 *
 * @since 0.1.0
 * @category config
 * @example
 * ```ts
 * import { Hyper } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = Effect.withConfigProvider(Hyper.config, ConfigProvider.fromJson({ HYPER_CLIENT_ID: "cli" }))
 * ```
 */
export const config: Config.Config<Options> = Config.all({
  baseUrl,
  clientId: settings.required("HYPER_CLIENT_ID"),
  timeout: settings.httpTimeout,
})

/**
 * hyper in one value: its flow, API base, `config` and the settings it
 * reads (`HYPER_CLIENT_ID` required), `make` and its layers.
 *
 * @since 0.2.0
 * @category definitions
 * @example
 * ```ts
 * import { Hyper } from "@hyperauth/core"
 *
 * Hyper.definition.requiredSettings // ["HYPER_CLIENT_ID"]
 * ```
 */
export const definition = define(providerId, "device_code", Hyper, {
  config,
  apiBaseUrl: baseUrl,
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
 * import { Hyper } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = Hyper.layer({ baseUrl: "https://api.hyper.io", clientId: "cli" }).pipe(Layer.provide(FetchHttpClient.layer))
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
 * import { Hyper } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = Hyper.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layerConfig = definition.layerConfig
