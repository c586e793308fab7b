/**
 * The hyper Promise API the provider documents, as a thin facade over the
 * `Hyper` Effect service:
 *
 * ```ts
 * import { initiateDeviceFlow, pollForToken, introspectToken } from "@hyperauth/core/promise"
 *
 * const deviceCode = await initiateDeviceFlow()
 * console.log(`Open ${deviceCode.verification_uri} and enter ${deviceCode.user_code}`)
 * const token = await pollForToken(deviceCode)
 * const info = await introspectToken(token.accessToken)
 * console.log(`Active: ${info.active}`)
 * ```
 *
 * Settings are read from the environment at each call (`HYPER_BASE_URL`,
 * `HYPER_CLIENT_ID`, `HYPERAUTH_HTTP_TIMEOUT`). Failures reject with a
 * `HyperauthError`, whose `code` is one of the stable codes. No function
 * here throws: arguments are read once, as data, and one that throws when
 * read (a getter, a Proxy, a signal's `aborted`) rejects with
 * `invalid_input`, whose `cause` is what it threw, and nothing is sent.
 *
 * A one-time grant (a code, a rotated refresh token, a device code) is
 * presented once per process: calls with the same grant and all the
 * provider checks with it (PKCE verifier, redirect URI, client) share one
 * request, and a call with the grant but other proof is given nothing. A
 * refresh that rotated the refresh token keeps its answer 30 s for a
 * refresh of the spent token just after, which resolves with the same new
 * tokens instead of presenting a spent token (a strictly rotating provider
 * would end the login); past that the spent token is sent, and the
 * provider's reuse detection judges it. See `CallOptions` for aborts.
 *
 * The other providers are namespaces of the same kind, over their Effect
 * services: `hyperid` and `hyperline` (authorization code: `authorizationUrl`,
 * `completeLogin`, `refresh`, then `logout` or `revoke`; hyperline's API with
 * `fetch`), and `hyperproof` (client credentials: `getToken`, and its API
 * with `fetch`). Tokens come back as plain strings in a `Token`; API calls
 * resolve with a standard `Response`.
 *
 * ```ts
 * import { hyperid, hyperproof } from "@hyperauth/core/promise"
 *
 * const login = await hyperid.authorizationUrl({ scope: "openid email" }) // send the user to login.url
 * const token = await hyperid.completeLogin(login, "http://127.0.0.1:8976/callback/hyperid?state=…&code=…")
 * const control = await (await hyperproof.fetch("/v1/controls/ctl_access_review")).json()
 * ```
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as DeviceFlow from "./DeviceFlow.js"
import * as Hyper from "./Hyper.js"
import type { IntrospectionResponse as Introspection } from "./Introspection.js"
import type { CallOptions, HyperauthError, Token } from "./internal/promise.js"
import * as Internal from "./internal/promise.js"
import * as SharedCalls from "./internal/sharedCalls.js"
import { InvalidInput, type OAuthError } from "./OAuthError.js"
import type { TokenSet } from "./Token.js"

export {
  type ApiRequestInit,
  type CallOptions,
  HyperauthError,
  type HyperauthErrorJson,
  type Token,
} from "./internal/promise.js"

/**
 * hyperid with Promises: `authorizationUrl`, `completeLogin`, `refresh`,
 * `introspectToken`, `logout`.
 *
 * @since 0.2.0
 */
export * as hyperid from "./promise/hyperid.js"

/**
 * hyperline with Promises: `authorizationUrl`, `completeLogin`, `refresh`,
 * `revoke`, and `fetch` on its API.
 *
 * @since 0.2.0
 */
export * as hyperline from "./promise/hyperline.js"

/**
 * hyperproof with Promises: `getToken`, `fetch` on its API, and `dispose`.
 *
 * @since 0.2.0
 */
export * as hyperproof from "./promise/hyperproof.js"

/**
 * A device code (RFC 8628 §3.2) under its RFC names, with camelCase
 * aliases.
 *
 * @example
 * ```ts
 * import { type DeviceCode, initiateDeviceFlow } from "@hyperauth/core/promise"
 *
 * const deviceCode: DeviceCode = await initiateDeviceFlow()
 * console.log(`Enter ${deviceCode.user_code} at ${deviceCode.verification_uri} by ${deviceCode.expiresAt.toISOString()}`)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DeviceCode {
  readonly device_code: string
  readonly user_code: string
  readonly verification_uri: string
  readonly verification_uri_complete?: string | undefined
  readonly expires_in: number
  readonly interval?: number | undefined
  readonly deviceCode: string
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete?: string | undefined
  readonly expiresIn: number
  /**
   * When the device code expires. Kept as JSON it becomes the ISO 8601
   * text a `Date`'s JSON is, which `pollForToken` reads back as this
   * same expiry.
   */
  readonly expiresAt: Date
  /** The scope `initiateDeviceFlow` asked for: a token answer naming none grants it (RFC 6749 §5.1). */
  readonly scope?: string | undefined
}

/**
 * What `pollForToken` takes: a `DeviceCode`, the same after a JSON round
 * trip (`expiresAt` as ISO 8601 text; epoch milliseconds too), or one
 * written by hand with the RFC names (`device_code`, `expires_in`, and
 * `interval` if any), whose expiry is then `expires_in` from now.
 */
type PendingDeviceCode = Partial<Omit<DeviceCode, "expiresAt">> &
  Pick<DeviceCode, "device_code" | "expires_in"> & { readonly expiresAt?: Date | string | number | undefined }

/**
 * RFC 7662: `active` always; `scope`, `exp`, `iat` and the other members
 * when present.
 *
 * @example
 * ```ts
 * import { type IntrospectionResponse, introspectToken } from "@hyperauth/core/promise"
 *
 * const info: IntrospectionResponse = await introspectToken("an access token")
 * const expires = info.exp === undefined ? undefined : new Date(info.exp * 1000)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type IntrospectionResponse = Introspection

const providerId = "hyper"

/** On a service of the settings the call reads, on the facades' shared transport. */
const provided = <A, E>(program: Effect.Effect<A, E, Hyper.Hyper>): Effect.Effect<A, E | OAuthError> =>
  Effect.provide(program, Hyper.layerConfig.pipe(Layer.provide(Internal.transport())))

/** Each call on a service of the settings it reads. */
const run = <A>(
  program: Effect.Effect<A, OAuthError | HyperauthError, Hyper.Hyper>,
  options?: CallOptions,
): Promise<A> => Internal.run(providerId, provided(program), options)

/** Polls of one device code at once: a second would redeem it again (`invalid_grant`). */
const polls = SharedCalls.make<TokenSet, OAuthError>({
  otherProof: () =>
    new InvalidInput({
      provider: providerId,
      reason:
        "this device code was redeemed here by a poll with other settings (HYPER_BASE_URL, HYPER_CLIENT_ID): poll with the settings that started it. Nothing was sent.",
    }),
})

const toDeviceCode = (device: Hyper.DeviceAuthorization): DeviceCode => {
  const interval = Duration.toSeconds(device.interval)
  const deviceCode = Redacted.value(device.deviceCode)
  return {
    device_code: deviceCode,
    user_code: device.userCode,
    verification_uri: device.verificationUri,
    verification_uri_complete: device.verificationUriComplete,
    expires_in: device.expiresIn,
    interval,
    deviceCode,
    userCode: device.userCode,
    verificationUri: device.verificationUri,
    verificationUriComplete: device.verificationUriComplete,
    expiresIn: device.expiresIn,
    expiresAt: DateTime.toDate(device.expiresAt),
    scope: device.scope,
  }
}

/**
 * When a kept device code expires: its `expiresAt` as a `Date`, the ISO
 * text its JSON is, or epoch milliseconds; none when absent (a code written
 * by hand). One that is no date is `invalid_input`: a poll must not guess
 * how long a spent or corrupted record lives.
 */
const expiryOf = (expiresAt: unknown): Effect.Effect<DateTime.Utc | undefined, InvalidInput> => {
  if (expiresAt === undefined || expiresAt === null) return Effect.succeed(undefined)
  const date =
    expiresAt instanceof Date
      ? expiresAt
      : typeof expiresAt === "string" || typeof expiresAt === "number"
        ? new Date(expiresAt)
        : undefined
  if (date === undefined || Number.isNaN(date.getTime())) {
    const reason =
      "the device code's expiresAt is no date: pass the Date initiateDeviceFlow gave, its JSON (ISO 8601 text) or epoch milliseconds, or leave it out. Nothing was sent."
    return Effect.fail(new InvalidInput({ provider: providerId, reason }))
  }
  return Effect.succeed(DateTime.unsafeFromDate(date))
}

/**
 * Accepts a `DeviceCode` from `initiateDeviceFlow`, the same kept as JSON,
 * or one written by hand with the RFC names; one without a `device_code`
 * (text) or an `expires_in` (seconds), or with an `expiresAt` that is no
 * date, is `invalid_input`, before any poll.
 */
const fromDeviceCode = (
  code: PendingDeviceCode,
): Effect.Effect<Hyper.DeviceAuthorization, InvalidInput | HyperauthError> =>
  Effect.flatMap(
    // Its members copied, each read once: a getter or a Proxy that throws is invalid_input.
    Internal.readInput(providerId, "the device code", () => {
      if (typeof code !== "object" || code === null) return undefined
      const { device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval, scope } = code
      const expiresAt = code.expiresAt instanceof Date ? new Date(code.expiresAt.getTime()) : code.expiresAt
      return {
        device_code,
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in,
        interval,
        scope,
        expiresAt,
      }
    }),
    fromHeld,
  )

const fromHeld = (
  held: { readonly [K in keyof PendingDeviceCode]?: PendingDeviceCode[K] | undefined } | undefined,
): Effect.Effect<Hyper.DeviceAuthorization, InvalidInput> => {
  const deviceCode = held?.device_code
  const expiresIn = held?.expires_in
  const interval = held?.interval ?? undefined
  if (
    typeof deviceCode !== "string" ||
    deviceCode === "" ||
    typeof expiresIn !== "number" ||
    !Number.isFinite(expiresIn) ||
    (interval !== undefined && (typeof interval !== "number" || Number.isNaN(interval)))
  ) {
    const reason =
      "a device code needs its device_code (text) and expires_in (seconds), and an interval in seconds if any: pass the object initiateDeviceFlow resolved with. Nothing was sent."
    return Effect.fail(new InvalidInput({ provider: providerId, reason }))
  }
  return Effect.gen(function* () {
    const expiresAt = yield* expiryOf(held?.expiresAt)
    const now = yield* DateTime.now
    return {
      deviceCode: Redacted.make(deviceCode),
      userCode: held?.user_code ?? "",
      verificationUri: held?.verification_uri ?? "",
      verificationUriComplete: held?.verification_uri_complete,
      expiresIn,
      expiresAt: expiresAt ?? DateTime.addDuration(now, Duration.seconds(expiresIn)),
      interval: DeviceFlow.intervalOf(interval),
      scope: typeof held?.scope === "string" ? held.scope : undefined,
    }
  })
}

/**
 * Starts the device authorization flow (`POST {HYPER_BASE_URL}/oauth/device`).
 *
 * @example
 * ```ts
 * import { initiateDeviceFlow } from "@hyperauth/core/promise"
 *
 * const deviceCode = await initiateDeviceFlow({ scope: "read" })
 * console.log(`Open ${deviceCode.verification_uri} and enter ${deviceCode.user_code}`)
 * ```
 *
 * @since 0.1.0
 * @category device flow
 */
export const initiateDeviceFlow = (
  options?: { readonly scope?: string | undefined } & CallOptions,
): Promise<DeviceCode> =>
  run(
    Effect.gen(function* () {
      const { scope } = yield* Internal.optionsOf(providerId, options)
      const request = { scope: yield* Internal.optionalText(providerId, "scope", scope) }
      const hyper = yield* Hyper.Hyper
      return toDeviceCode(yield* hyper.initiateDeviceFlow(request))
    }),
    options,
  )

/**
 * Polls for the token until the user approves (resolves, after calling
 * `onSuccess` once with it), refuses (`access_denied`) or the code expires
 * (`expired_token`). The device code may be the one `initiateDeviceFlow`
 * resolved with or the same kept as JSON (a pending login in a store): its
 * `expiresAt` is read back from the JSON's text, so a poll resumed after
 * the expiry rejects with `expired_token` and sends nothing. A promise
 * `onSuccess` returns is waited for. Should
 * it throw or reject, the call rejects with `invalid_input`, whose `cause`
 * is what it threw and whose `token` is the token: the device code is
 * spent, and this is the token's one copy. An abort stops the polling
 * between polls; a poll on its way is waited for (a second at most), as
 * it may redeem the code, and once the token is issued the call resolves
 * with it, abort or not (see `CallOptions`). Polls of the same device code
 * at once (in this process) share one polling, each with its own
 * `onSuccess`: a second would redeem the code again. A caller's abort
 * leaves the polling to the others; it stops when all have aborted.
 *
 * @example
 * ```ts
 * import { HyperauthError, initiateDeviceFlow, pollForToken, type Token } from "@hyperauth/core/promise"
 *
 * const deviceCode = await initiateDeviceFlow()
 * // The token holds the access token in clear text: store it, never print it.
 * const token = await pollForToken(deviceCode)
 *
 * // A pending login kept as JSON, resumed later (in another process, say).
 * const stored = JSON.stringify(await initiateDeviceFlow())
 * const resumed = await pollForToken(JSON.parse(stored))
 *
 * // With a callback that may fail: its failure still hands over the token.
 * const save = async (issued: Token): Promise<void> => {}
 * const kept = await pollForToken(await initiateDeviceFlow(), save).catch((error: unknown) => {
 *   if (error instanceof HyperauthError && error.token !== undefined) return error.token
 *   throw error
 * })
 * ```
 *
 * @since 0.1.0
 * @category device flow
 */
export const pollForToken = (
  deviceCode: PendingDeviceCode,
  onSuccess?: (token: Token) => void,
  options?: CallOptions,
): Promise<Token> =>
  Internal.runGrant(providerId, options, (signal) =>
    Effect.gen(function* () {
      const device = yield* fromDeviceCode(deviceCode)
      // Checked before polling: the token, once issued, must reach the caller.
      if (onSuccess !== undefined && onSuccess !== null && typeof onSuccess !== "function") {
        // An object here is most likely the options, one place too early.
        const reason =
          typeof onSuccess === "object"
            ? "onSuccess must be a function, or left out; the options go third: pollForToken(deviceCode, undefined, options). Nothing was sent."
            : "onSuccess must be a function, or left out. Nothing was sent."
        return yield* new InvalidInput({ provider: providerId, reason })
      }
      const settings = yield* Hyper.definition.loadConfig
      const poll = Effect.provide(
        Effect.flatMap(Hyper.Hyper, (hyper) => hyper.pollForToken(device)),
        Hyper.definition.layer(settings).pipe(Layer.provide(Internal.transport())),
      )
      // All hyper checks with the device code: the client, at its origin.
      const presented = { grant: Redacted.value(device.deviceCode), proof: [settings.baseUrl, settings.clientId] }
      // The signal stops the polling between polls; once the token is issued, it is the answer, abort or not.
      const token = Internal.toToken(yield* polls(presented, poll, signal), yield* DateTime.now)
      if (typeof onSuccess === "function") yield* Internal.handOver(providerId, "onSuccess", onSuccess, token)
      return token
    }),
  )

/**
 * Introspects an access token (RFC 7662), given as text or as the `Token`
 * that holds it. An invalid token resolves with
 * `{ active: false }`; an empty one is none (RFC 7662 requires the token)
 * and rejects with `invalid_input`, as with `hyperid.introspectToken`:
 * nothing is sent.
 *
 * @example
 * ```ts
 * import { introspectToken } from "@hyperauth/core/promise"
 *
 * const info = await introspectToken("an access token")
 * if (info.active) console.log(`scope: ${info.scope}`)
 * ```
 *
 * @since 0.1.0
 * @category introspection
 */
export const introspectToken = (
  token: string | Pick<Token, "accessToken">,
  options?: CallOptions,
): Promise<IntrospectionResponse> =>
  run(
    Effect.flatMap(
      Internal.readInput(providerId, "the token", () =>
        typeof token === "object" && token !== null ? token.accessToken : token,
      ),
      (accessToken) =>
        typeof accessToken === "string" && accessToken !== ""
          ? Effect.flatMap(Hyper.Hyper, (hyper) => hyper.introspectToken(accessToken))
          : new InvalidInput({
              provider: providerId,
              // "" too: an unset variable or a lost session, which { active: false } would hide.
              reason:
                accessToken === ""
                  ? "no access token given: pass the access token, or the Token that holds it. Nothing was sent."
                  : "the token must be text (an access token), or the Token that holds it. Nothing was sent.",
            }),
    ),
    options,
  )

/**
 * The origin every call goes to: `HYPER_BASE_URL` as the calls read it
 * (blanks and trailing slashes removed), or `Hyper.defaultBaseUrl` when it
 * is not set. An invalid `HYPER_BASE_URL` (not an http(s) origin, or with
 * `user:password@`, a query or a fragment) is not returned as it is, since
 * every call refuses it: `baseURL()` throws a `HyperauthError` with code
 * `not_configured`, whose message names the setting and what it accepts and
 * quotes no value. (The seed's signature returns a string, so it cannot
 * reject as the other functions do.)
 *
 * @example
 * ```ts
 * import { baseURL } from "@hyperauth/core/promise"
 *
 * const endpoint = `${baseURL()}/oauth/device` // https://api.hyper.io/oauth/device when HYPER_BASE_URL is unset
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const baseURL = (): string =>
  Either.getOrThrowWith(
    Effect.runSync(Effect.either(Hyper.definition.loadApiBaseUrl)),
    (error) => new Internal.HyperauthError(error),
  )
