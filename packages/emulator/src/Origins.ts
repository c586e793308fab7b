/**
 * The emulator listens on one loopback port per provider origin, because
 * the providers' paths overlap (`/oauth/token`, `/v1/...`) and each client
 * is configured with an origin.
 */
export const originNames = ["hyper", "hyperid", "hyperline", "hyperproofAccounts", "hyperproofApi"] as const

export type OriginName = (typeof originNames)[number]

export type Origins = Readonly<Record<OriginName, string>>

/** The environment that points hyperauth at these origins. */
export const environment = (origins: Origins): Record<string, string> => ({
  HYPER_BASE_URL: origins.hyper,
  HYPERID_BASE_URL: origins.hyperid,
  HYPERLINE_BASE_URL: origins.hyperline,
  HYPERPROOF_AUTH_URL: origins.hyperproofAccounts,
  HYPERPROOF_API_URL: origins.hyperproofApi,
})
