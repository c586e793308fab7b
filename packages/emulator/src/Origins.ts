/**
 * The emulator listens on one loopback port per provider origin, because
 * the providers' paths overlap (`/oauth/token`, `/v1/...`) and each client
 * is configured with an origin.
 */
/**
 * The emulator's origins, in the order of their ports.
 *
 * @example
 * ```ts
 * import { originNames } from "@hyperauth/emulator"
 *
 * originNames.includes("hyperproofApi") // true
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const originNames = ["hyper", "hyperid", "hyperline", "hyperproofAccounts", "hyperproofApi"] as const

/**
 * One of the emulator's origins.
 *
 * @example
 * ```ts
 * import { type OriginName, originNames } from "@hyperauth/emulator"
 *
 * const name: OriginName = "hyperproofApi"
 * originNames.indexOf(name) // 4
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type OriginName = (typeof originNames)[number]

/**
 * Each origin's URL, e.g. `{ hyper: "http://127.0.0.1:41231", ... }`.
 *
 * @example
 * ```ts
 * import { type Origins, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const origins: Origins = emulator.origins
 * const health = await fetch(`${origins.hyperline}/health`) // 200, { ok: true, origin: "hyperline" }
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Origins = Readonly<Record<OriginName, string>>

/**
 * The environment that points hyperauth at these origins (the base URL
 * settings; `Emulator.env` adds the clients' credentials).
 *
 * @example
 * ```ts
 * import { environment, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * environment(emulator.origins).HYPER_BASE_URL // "http://127.0.0.1:…", the same as emulator.env.HYPER_BASE_URL
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const environment = (origins: Origins): Record<string, string> => ({
  HYPER_BASE_URL: origins.hyper,
  HYPERID_BASE_URL: origins.hyperid,
  HYPERLINE_BASE_URL: origins.hyperline,
  HYPERPROOF_AUTH_URL: origins.hyperproofAccounts,
  HYPERPROOF_API_URL: origins.hyperproofApi,
})
