/**
 * Settings shared by every provider, read through `Config`, and the
 * defaults they take when unset: each default is defined here once.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as settings from "./internal/config.js"

/**
 * How long a provider request may take when `HYPERAUTH_HTTP_TIMEOUT` is
 * unset: 30 seconds.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * Duration.toSeconds(Settings.defaultHttpTimeout) // 30
 * ```
 *
 * @since 0.2.0
 * @category defaults
 */
export const defaultHttpTimeout: Duration.Duration = settings.defaultHttpTimeout

/**
 * `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, `defaultHttpTimeout` by default.
 * At most 3600 (an hour): a longer value fails as invalid, naming the setting and its range.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Duration, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const timeout = Settings.httpTimeout.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_HTTP_TIMEOUT", "10"]]))),
 *   Effect.map(Duration.toSeconds),
 * ) // 10
 * ```
 *
 * @example
 * ```ts
 * import { ConfigProvider, Duration, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const timeout = Settings.httpTimeout.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_HTTP_TIMEOUT", "10"]]))),
 *   Effect.map(Duration.toSeconds),
 * ) // 10
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const httpTimeout = settings.httpTimeout

/**
 * The loopback redirect listener's port when `HYPERAUTH_CALLBACK_PORT` is
 * unset: 8976.
 *
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.loopbackRedirectUri("hyperid", Settings.defaultCallbackPort) // "http://127.0.0.1:8976/callback/hyperid"
 * ```
 *
 * @since 0.2.0
 * @category defaults
 */
export const defaultCallbackPort: number = settings.defaultCallbackPort

/**
 * `HYPERAUTH_CALLBACK_PORT`: the loopback redirect listener's port, `defaultCallbackPort` by default.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const port = Settings.callbackPort.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))) // 8976
 * ```
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const port = Settings.callbackPort.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))) // 8976
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const callbackPort = settings.callbackPort

/**
 * The path of a provider's loopback callback, `/callback/{provider}`: where
 * the default redirect URI points and the loopback listener serves.
 *
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.callbackPath("hyperline") // "/callback/hyperline"
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const callbackPath: (provider: string) => string = settings.callbackPath

/**
 * A provider's loopback redirect URI on `port`,
 * `http://127.0.0.1:{port}/callback/{provider}`: the default redirect URI
 * on `HYPERAUTH_CALLBACK_PORT`.
 *
 * @example
 * ```ts
 * import { Settings } from "@hyperauth/core"
 *
 * Settings.loopbackRedirectUri("hyperid", 53682) // "http://127.0.0.1:53682/callback/hyperid"
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const loopbackRedirectUri: (provider: string, port: number) => string = settings.loopbackRedirectUri

/**
 * Which of the named settings are unset or empty.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const unset = Settings.missing(["HYPERID_CLIENT_ID", "HYPERID_CLIENT_SECRET"]).pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERID_CLIENT_ID", "my-app"]]))),
 * ) // ["HYPERID_CLIENT_SECRET"]
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const missing = settings.missing

/**
 * An http(s) origin setting, without trailing slashes.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const base = Settings.origin("HYPER_BASE_URL").pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPER_BASE_URL", "http://127.0.0.1:4010/"]]))),
 * ) // "http://127.0.0.1:4010"
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const origin = settings.origin

/**
 * `{PREFIX}_BASE_URL`, else the origin of `{PREFIX}_ENVIRONMENT`.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { Settings } from "@hyperauth/core"
 *
 * const base = Settings.environmentOrigin("HYPERLINE", {
 *   production: "https://api.hyperline.co",
 *   sandbox: "https://sandbox.api.hyperline.co",
 * }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERLINE_ENVIRONMENT", "sandbox"]])))) // "https://sandbox.api.hyperline.co"
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const environmentOrigin = settings.environmentOrigin
