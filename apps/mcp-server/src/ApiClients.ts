/**
 * The core's authorized clients `call_api` sends through, one per provider
 * and account, made on first use and kept: building one (and reading
 * `HYPERAUTH_HTTP_TIMEOUT`) on every call cost more than the rest of the
 * tool. A kept client holds no token: it asks `Accounts` on every request,
 * so logins, refreshes and logouts show at once.
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Accounts, AuthorizedClient, type Provider, Settings } from "@hyperauth/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Clients kept at most; the least recently used goes first. Accounts are labels the agent
 * picks, so their number is not bounded by anything else.
 */
export const maxClients = 64

/**
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** The authorized client for `account` of `provider`; `company_id` is given per request. */
  readonly get: (provider: Provider.Provider, account: string) => AuthorizedClient.AuthorizedClient
}

/**
 * @example
 * ```ts
 * import type { Provider } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 * import { ApiClients } from "./ApiClients.js"
 *
 * const client = (provider: Provider.Provider) => Effect.map(ApiClients, (clients) => clients.get(provider, "default"))
 * ```
 *
 * @since 0.2.0
 * @category tags
 */
export class ApiClients extends Context.Tag("@hyperauth/mcp-server/ApiClients")<ApiClients, Service>() {}

/**
 * Reads the time limit once, at start, like the server's other settings.
 * An invalid value leaves every provider unconfigured (`Providers` names the
 * setting, and `call_api` is `not_configured` before it gets here): the
 * default is only what these clients, then never used, are built with.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | Accounts.Accounts> = Effect.gen(function* () {
  const timeout = yield* Effect.orElseSucceed(Settings.httpTimeout, () => Settings.defaultHttpTimeout)
  const http = yield* HttpClient.HttpClient
  const accounts = yield* Accounts.Accounts
  const kept = new Map<string, AuthorizedClient.AuthorizedClient>()
  const get = (provider: Provider.Provider, account: string) => {
    // Provider ids and account labels hold no NUL: the pair cannot collide.
    const key = `${provider.id}\u0000${account}`
    const found = kept.get(key)
    const client =
      found !== undefined && found.provider === provider
        ? found
        : AuthorizedClient.makeWith(
            http,
            provider,
            AuthorizedClient.fromAccounts(accounts, { provider: provider.id, account }),
            { timeout },
          )
    // Moved to the end: the map's order is the order of use.
    kept.delete(key)
    kept.set(key, client)
    if (kept.size > maxClients) kept.delete(kept.keys().next().value ?? key)
    return client
  }
  return { get }
})

/**
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<ApiClients, never, HttpClient.HttpClient | Accounts.Accounts> = Layer.effect(
  ApiClients,
  make,
)
