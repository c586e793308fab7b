/**
 * Settings shared by every provider, read through `Config`.
 *
 * @since 0.1.0
 */
import * as settings from "./internal/config.js"

/**
 * `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, 30 by default.
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
 * `HYPERAUTH_CALLBACK_PORT`: the loopback redirect listener's port, 8976 by default.
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
