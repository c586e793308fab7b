/**
 * Logins by (provider, account label), on top of the `TokenStore`: "give me
 * a valid access token for provider P, account A", refreshing when needed,
 * one refresh at a time per account however many callers wait.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as SingleFlight from "./internal/singleFlight.js"
import {
  type InvalidInput,
  type NotConfigured,
  NotLoggedIn,
  NotSupported,
  OAuthProtocolError,
  type RequestFailure,
  type TokenStoreError,
} from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import type { TokenSet } from "./Token.js"
import { type AccountKey, type StoredAccount, TokenStore } from "./TokenStore.js"

/**
 * A token is refreshed when it expires within this margin.
 *
 * @since 0.1.0
 */
export const refreshMargin = "60 seconds"

/**
 * @since 0.1.0
 * @category errors
 */
export type AccessError = NotLoggedIn | NotConfigured | NotSupported | InvalidInput | RequestFailure | TokenStoreError

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Stores the tokens of a finished login, replacing any earlier one. */
  readonly save: (key: AccountKey, token: TokenSet) => Effect.Effect<void, TokenStoreError>
  /** The stored tokens as they are, without refreshing. */
  readonly get: (key: AccountKey) => Effect.Effect<TokenSet, NotLoggedIn | TokenStoreError>
  /**
   * A valid access token: the stored one, or a refreshed one when it
   * expires within 60 s. Concurrent callers share one refresh.
   */
  readonly accessToken: (key: AccountKey) => Effect.Effect<TokenSet, AccessError>
  /** Refreshes now (client credentials: fetches a new token). */
  readonly refresh: (key: AccountKey) => Effect.Effect<TokenSet, AccessError>
  /**
   * Replaces a token that an API refused (401): refreshes, unless another
   * caller already replaced it meanwhile, so that many callers refused at
   * once cause one refresh.
   */
  readonly replaceRejected: (key: AccountKey, rejected: TokenSet) => Effect.Effect<TokenSet, AccessError>
  /** Forgets the login locally; whether there was one. */
  readonly remove: (key: AccountKey) => Effect.Effect<boolean, TokenStoreError>
  readonly list: Effect.Effect<ReadonlyArray<StoredAccount>, TokenStoreError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Accounts extends Context.Tag("@hyperauth/core/Accounts")<Accounts, Service>() {}

/**
 * Finds the provider of a stored login.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderLookup = (id: string) => Effect.Effect<Provider, NotConfigured>

type RefreshNeed = "expiring" | "always" | { readonly rejected: TokenSet }

const sameAccessToken = (a: TokenSet, b: TokenSet): boolean =>
  Redacted.value(a.accessToken) === Redacted.value(b.accessToken)

/** Callers with the same need of the same account share one refresh. */
const needId = (key: AccountKey, need: RefreshNeed): string =>
  `${key.provider}/${key.account}/${typeof need === "string" ? need : `rejected:${Redacted.value(need.rejected.accessToken)}`}`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (lookup: ProviderLookup): Effect.Effect<Service, never, TokenStore> =>
  Effect.gen(function* () {
    const store = yield* TokenStore
    const locks = new Map<string, Effect.Semaphore>()
    const lockOf = (key: AccountKey): Effect.Semaphore => {
      const id = `${key.provider}/${key.account}`
      let lock = locks.get(id)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(id, lock)
      }
      return lock
    }

    const get = (key: AccountKey) =>
      Effect.flatMap(
        store.get(key),
        Option.match({
          onNone: () => Effect.fail(new NotLoggedIn({ provider: key.provider, account: key.account })),
          onSome: Effect.succeed,
        }),
      )

    /**
     * Runs holding the account's lock in this process and the store's lock
     * across processes. Refreshes when the token `expires` soon, `always`, or
     * when it is still the `rejected` one.
     */
    const refreshLocked = (key: AccountKey, need: RefreshNeed): Effect.Effect<TokenSet, AccessError> =>
      lockOf(key).withPermits(1)(
        store.exclusive(
          key,
          Effect.gen(function* () {
            // Another caller may have refreshed while this one waited for the lock.
            const current = yield* get(key)
            const now = yield* DateTime.now
            if (need === "expiring" && !current.expiresWithin(now, refreshMargin)) return current
            if (typeof need === "object" && !sameAccessToken(current, need.rejected)) return current
            const force = need !== "expiring"
            const provider = yield* lookup(key.provider)
            if (provider.flow !== "client_credentials" && !current.canRefresh(now)) {
              // A forced refresh of a login that is still fine is merely impossible;
              // one needed because the token expired means logging in again.
              return yield* force && !current.expiresWithin(now, "0 seconds")
                ? new NotSupported({
                    provider: key.provider,
                    operation: "refreshing this login (it has no usable refresh token; log in again once it expires)",
                  })
                : new NotLoggedIn({
                    provider: key.provider,
                    account: key.account,
                    reason: "the access token expired and there is no usable refresh token to renew it",
                  })
            }
            const fresh = yield* provider.refresh(current).pipe(
              Effect.catchIf(
                (error) => error instanceof OAuthProtocolError && error.error === "invalid_grant",
                // Only the provider's own verdict ends a login; network trouble keeps it.
                () =>
                  Effect.zipRight(
                    store.remove(key),
                    Effect.fail(
                      new NotLoggedIn({
                        provider: key.provider,
                        account: key.account,
                        reason: "the provider no longer accepts its refresh token (invalid_grant)",
                      }),
                    ),
                  ),
              ),
            )
            yield* store.set(key, fresh)
            return fresh
          }),
        ),
      )

    // Callers with the same need join the refresh under way: without this, a
    // thousand waiters would take the lock one by one. The refresh goes on
    // (and its answer is stored) even if the caller that started it gives up.
    const refreshes = SingleFlight.make<string, TokenSet, AccessError>()
    const refreshShared = (key: AccountKey, need: RefreshNeed) => refreshes(needId(key, need), refreshLocked(key, need))

    return {
      save: (key, token) => store.set(key, token),
      get,
      accessToken: (key) =>
        Effect.gen(function* () {
          const current = yield* get(key)
          if (!current.expiresWithin(yield* DateTime.now, refreshMargin)) return current
          return yield* refreshShared(key, "expiring")
        }),
      refresh: (key) => refreshShared(key, "always"),
      replaceRejected: (key, rejected) => refreshShared(key, { rejected }),
      remove: (key) => store.remove(key),
      list: store.list,
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (lookup: ProviderLookup): Layer.Layer<Accounts, never, TokenStore> =>
  Layer.effect(Accounts, make(lookup))
