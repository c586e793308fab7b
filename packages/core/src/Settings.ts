/**
 * Settings shared by every provider, read through `Config`.
 *
 * @since 0.1.0
 */
import * as settings from "./internal/config.js"

/**
 * `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, 30 by default.
 *
 * @since 0.1.0
 */
export const httpTimeout = settings.httpTimeout

/**
 * `HYPERAUTH_CALLBACK_PORT`: the loopback redirect listener's port, 8976 by default.
 *
 * @since 0.1.0
 */
export const callbackPort = settings.callbackPort

/**
 * Which of the named settings are unset or empty.
 *
 * @since 0.1.0
 */
export const missing = settings.missing

/**
 * An http(s) origin setting, without trailing slashes.
 *
 * @since 0.1.0
 */
export const origin = settings.origin

/**
 * `{PREFIX}_BASE_URL`, else the origin of `{PREFIX}_ENVIRONMENT`.
 *
 * @since 0.1.0
 */
export const environmentOrigin = settings.environmentOrigin
