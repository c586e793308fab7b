/**
 * Settings shared by every provider, read through `Config`, and the
 * defaults they take when unset: each default is defined here once.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as settings from "./internal/config.js"

/**
 * How long a provider request may take when `HYPERAUTH_HTTP_TIMEOUT` is
 * unset: 30 seconds.
 *
 * @since 0.3.0
 * @category defaults
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 * import { Duration } from "effect"
 *
 * Duration.toSeconds(Settings.defaultHttpTimeout) // 30
 * ```
 */
export const defaultHttpTimeout: Duration.Duration = settings.defaultHttpTimeout

/**
 * `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, `defaultHttpTimeout` by default.
 *
 * @since 0.1.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const timeout = Effect.orElseSucceed(Settings.httpTimeout, () => Settings.defaultHttpTimeout)
 * ```
 */
export const httpTimeout: Config.Config<Duration.Duration> = settings.httpTimeout

/**
 * The loopback redirect listener's port when `HYPERAUTH_CALLBACK_PORT` is
 * unset: 8976.
 *
 * @since 0.3.0
 * @category defaults
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.loopbackRedirectUri("hyperid", Settings.defaultCallbackPort) // "http://127.0.0.1:8976/callback/hyperid"
 * ```
 */
export const defaultCallbackPort: number = settings.defaultCallbackPort

/**
 * `HYPERAUTH_CALLBACK_PORT`: the loopback redirect listener's port, `defaultCallbackPort` by default.
 *
 * @since 0.1.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const port = Effect.orElseSucceed(Settings.callbackPort, () => Settings.defaultCallbackPort)
 * ```
 */
export const callbackPort: Config.Config<number> = settings.callbackPort

/**
 * The path of a provider's loopback callback, `/callback/{provider}`: where
 * the default redirect URI points and the loopback listener serves.
 *
 * @since 0.3.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.callbackPath("hyperline") // "/callback/hyperline"
 * ```
 */
export const callbackPath: (provider: string) => string = settings.callbackPath

/**
 * A provider's loopback redirect URI on `port`,
 * `http://127.0.0.1:{port}/callback/{provider}`: the default redirect URI
 * on `HYPERAUTH_CALLBACK_PORT`.
 *
 * @since 0.3.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.loopbackRedirectUri("hyperid", 53682) // "http://127.0.0.1:53682/callback/hyperid"
 * ```
 */
export const loopbackRedirectUri: (provider: string, port: number) => string = settings.loopbackRedirectUri

/**
 * Which of the named settings are unset or empty.
 *
 * @since 0.1.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * const unset = Settings.missing(["HYPER_CLIENT_ID"]) // Effect<Array<string>>
 * ```
 */
export const missing: (names: ReadonlyArray<string>) => Effect.Effect<Array<string>> = settings.missing

/**
 * An http(s) origin setting, without trailing slashes.
 *
 * @since 0.1.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * const origin = Settings.origin("ACME_BASE_URL")
 * ```
 */
export const origin: (name: string) => Config.Config<string> = settings.origin

/**
 * `{PREFIX}_BASE_URL`, else the origin of `{PREFIX}_ENVIRONMENT`.
 *
 * @since 0.1.0
 * @category settings
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * const origin = Settings.environmentOrigin("ACME", {
 *   production: "https://api.acme.example",
 *   sandbox: "https://sandbox.acme.example",
 * })
 * ```
 */
export const environmentOrigin = settings.environmentOrigin
