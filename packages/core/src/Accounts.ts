/**
 * Logins by (provider, account label), on top of the `TokenStore`: "give me
 * a valid access token for provider P, account A", refreshing when needed,
 * one refresh at a time per account however many callers wait.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as SingleFlight from "./internal/singleFlight.js"
import {
  type InvalidInput,
  NotConfigured,
  NotLoggedIn,
  NotSupported,
  type OAuthError,
  OAuthProtocolError,
  type RequestFailure,
  TokenStoreError,
} from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import type { TokenSet } from "./Token.js"
import {
  type AccountKey,
  type Entry,
  type Lease,
  type LeaseOptions,
  type StoreConflict,
  type StoredAccount,
  TokenStore,
} from "./TokenStore.js"

/**
 * A token is refreshed when it expires within this margin.
 *
 * @example
 * ```ts
 * import { Accounts } from "@hyperauth/core"
 * import * as Duration from "effect/Duration"
 *
 * Duration.toSeconds(Accounts.refreshMargin) // 60
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const refreshMargin = "60 seconds"

/**
 * What asking for a valid token can fail with: no login for the account,
 * a provider not configured or without refresh, a refresh the provider
 * refused or that did not reach it, or the store.
 *
 * @example
 * ```ts
 * import type { Accounts } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * // Not logged in yet is no failure here: undefined, and every other AccessError stays.
 * const orUndefined = <A>(access: Effect.Effect<A, Accounts.AccessError>) =>
 *   access.pipe(Effect.catchTag("NotLoggedIn", () => Effect.succeed(undefined)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type AccessError = NotLoggedIn | NotConfigured | NotSupported | InvalidInput | RequestFailure | TokenStoreError

/**
 * What `logout` did: revoked at the provider (where it has an endpoint),
 * and removed from the store.
 *
 * @example
 * ```ts
 * import { Accounts } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const ended = Effect.flatMap(Accounts.Accounts, (accounts) =>
 *   accounts.logout({ provider: "hyperid", account: "default" }),
 * ).pipe(Effect.map((result: Accounts.LogoutResult) => result.revokeError?.message ?? `revoked: ${result.revoked}`))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface LogoutResult {
  readonly revoked: boolean
  readonly removed: boolean
  /** Why revocation failed; the login was removed all the same. */
  readonly revokeError?: OAuthError | undefined
}

/**
 * What `Accounts` offers: the logins of a `TokenStore`, read, refreshed,
 * replaced and ended per account, each change under the account's lease.
 *
 * @example
 * ```ts
 * import type { Accounts } from "@hyperauth/core"
 *
 * // Refresh now, whatever the token's expiry (client credentials: a new token).
 * const renewed = (accounts: Accounts.Service) => accounts.refresh({ provider: "hyperline", account: "default" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Stores the tokens of a finished login, replacing any earlier one (under the account's lease). */
  readonly save: (key: AccountKey, token: TokenSet) => Effect.Effect<void, TokenStoreError>
  /** The stored tokens as they are, without refreshing. */
  readonly get: (key: AccountKey) => Effect.Effect<TokenSet, NotLoggedIn | TokenStoreError>
  /**
   * A valid access token: the stored one, or a refreshed one when it
   * expires within `refreshMargin`. Concurrent callers share one refresh.
   * A token in its margin that cannot be renewed (no refresh token), or
   * whose renewal fails for any reason but `invalid_grant`, is handed out
   * until it expires; the next call tries the renewal again.
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
  /** Forgets the login locally (under the account's lease); whether there was one. */
  readonly remove: (key: AccountKey) => Effect.Effect<boolean, TokenStoreError>
  /**
   * Ends the login: under the account's lease, so that no refresh in flight
   * can bring it back, revokes it at the provider where it can be and
   * removes it.
   */
  readonly logout: (key: AccountKey) => Effect.Effect<LogoutResult, TokenStoreError>
  /** Every stored login, with its provider and account label. */
  readonly list: Effect.Effect<ReadonlyArray<StoredAccount>, TokenStoreError>
}

/**
 * The logins of the `TokenStore` in context, kept fresh: `accessToken`
 * refreshes a token that expires within `refreshMargin` (once, however
 * many callers ask), and hands out one that cannot be renewed until it
 * expires.
 *
 * @example
 * ```ts
 * import { Accounts } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const token = Effect.flatMap(Accounts.Accounts, (accounts) =>
 *   accounts.accessToken({ provider: "hyperline", account: "default" }),
 * ) // a TokenSet; NotLoggedIn until the account has logged in
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Accounts extends Context.Tag("@hyperauth/core/Accounts")<Accounts, Service>() {}

/**
 * Finds the provider of a stored login by its id (`lookupIn` makes one
 * from a list). `Accounts` refuses a provider answered for another id.
 *
 * @example
 * ```ts
 * import { type Accounts, OAuthError } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const nothingConfigured: Accounts.ProviderLookup = (id) =>
 *   Effect.fail(new OAuthError.NotConfigured({ provider: id, missing: [] }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderLookup = (id: string) => Effect.Effect<Provider, NotConfigured>

/**
 * A `ProviderLookup` that finds `providers` by their id; any other id is
 * `not_configured`.
 *
 * @example
 * ```ts
 * import { Accounts, Hyperline } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * const accounts = Layer.unwrapEffect(
 *   Effect.map(Hyperline.Hyperline, (hyperline) => Accounts.layer(Accounts.lookupIn([hyperline.provider]))),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const lookupIn =
  (providers: ReadonlyArray<Provider>): ProviderLookup =>
  (id) => {
    const provider = providers.find((candidate) => candidate.id === id)
    return provider === undefined
      ? Effect.fail(new NotConfigured({ provider: id, missing: [], reason: "no provider of this id is given" }))
      : Effect.succeed(provider)
  }

const refreshMarginMillis = Duration.toMillis(refreshMargin)

/**
 * How a refreshed token set the store refused is offered to it again while
 * its lease is held: the provider has spent the old refresh token, so a
 * store that is out for a moment (Redis restarting or out of memory) must
 * not cost the login. About 10 s in all, within the lease's 15 s.
 */
const commitRetries = Schedule.exponential("100 millis").pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(2))),
  Schedule.upTo("10 seconds"),
)

/**
 * `TokenSet.expiresWithin(now, refreshMargin)` in milliseconds: the check
 * every `accessToken` call makes, without a `DateTime` and a parsed margin each time.
 */
const expiresSoon = (token: TokenSet, nowMillis: number): boolean =>
  token.expiresAt !== undefined && token.expiresAt.epochMillis <= nowMillis + refreshMarginMillis

type RefreshNeed = "expiring" | "always" | { readonly rejected: TokenSet }

const sameAccessToken = (a: TokenSet, b: TokenSet): boolean =>
  Redacted.value(a.accessToken) === Redacted.value(b.accessToken)

/** An account's key in maps: provider ids hold no `/`. */
const keyId = (key: AccountKey): string => `${key.provider}/${key.account}`

/** Callers with the same need of the same account share one refresh; a refused token is named by its digest. */
const needId = (key: AccountKey, need: RefreshNeed): string =>
  `${key.provider}/${key.account}/${typeof need === "string" ? need : `rejected:${createHash("sha256").update(Redacted.value(need.rejected.accessToken)).digest("base64url")}`}`

/**
 * How `make` takes the accounts' leases in the store.
 *
 * @example
 * ```ts
 * import type { Accounts } from "@hyperauth/core"
 *
 * // Holders that may stall for a while: a minute before another process takes over.
 * const patient: Accounts.Options = { lease: { ttl: "60 seconds", wait: "2 minutes" } }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The account leases' time to live and wait (15 s and 90 s by default). A
   * longer time to live tolerates longer stalls of a holder before another
   * process takes over, and delays the takeover from a holder on another
   * host that died.
   */
  readonly lease?: LeaseOptions | undefined
  /**
   * How long closing the scope of `layer` or `makeScoped` waits for
   * refreshes under way to store the provider's answer (10 s by default).
   * A refresh cut off after the provider answered loses the new tokens, and
   * with a provider that rotates refresh tokens, the login.
   */
  readonly waitOnClose?: Duration.DurationInput | undefined
}

/** How long closing `Accounts` waits for refreshes under way, by default. */
const defaultWaitOnClose = Duration.seconds(10)

const notLoggedIn = (key: AccountKey, reason?: string) =>
  new NotLoggedIn({ provider: key.provider, account: key.account, reason })

const madeWithOtherSettings = (key: AccountKey) =>
  `the stored login was made with other ${key.provider} settings, another base URL or client id: logging in again replaces it, and a token store for each set of settings (HYPERAUTH_STORE) keeps both`

/**
 * Every change of an account happens under its lease in the store, so it
 * is linearizable across processes and replicas: a refresh reads the record
 * fresh, refreshes at the provider only if nobody renewed it meanwhile, and
 * commits only if the record and the lease are still the ones it read.
 *
 * @example
 * ```ts
 * import { Accounts, Hyperproof, TokenStore } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const accounts = Effect.gen(function* () {
 *   const hyperproof = yield* Hyperproof.Hyperproof
 *   // A longer lease where a holder may stall (15 s by default).
 *   return yield* Accounts.make(Accounts.lookupIn([hyperproof.provider]), { lease: { ttl: "60 seconds" } })
 * }).pipe(Effect.provide(TokenStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (lookup: ProviderLookup, options: Options = {}): Effect.Effect<Service, never, TokenStore> =>
  Effect.map(build(lookup, options), ({ service }) => service)

/**
 * `make`, whose scope waits when it closes for the refreshes under way to be
 * stored (at most `Options.waitOnClose`): a program that stops (`SIGTERM`, a
 * client gone away) keeps the tokens its provider has just issued.
 *
 * @example
 * ```ts
 * import { Accounts, Hyperproof, TokenStore } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const hyperproof = yield* Hyperproof.Hyperproof
 *     const accounts = yield* Accounts.makeScoped(Accounts.lookupIn([hyperproof.provider]))
 *     return yield* accounts.list
 *   }),
 * ).pipe(Effect.provide(TokenStore.layerMemory))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeScoped = (
  lookup: ProviderLookup,
  options: Options = {},
): Effect.Effect<Service, never, TokenStore | Scope.Scope> =>
  Effect.flatMap(build(lookup, options), ({ service, drain }) =>
    Effect.as(
      // Finalizers run uninterruptibly: the wait is made interruptible so that its time limit can end it.
      Effect.addFinalizer(() =>
        Effect.ignore(Effect.timeout(Effect.interruptible(drain), options.waitOnClose ?? defaultWaitOnClose)),
      ),
      service,
    ),
  )

/** The service, and the wait for its refreshes under way. */
const build = (
  given: ProviderLookup,
  options: Options,
): Effect.Effect<{ readonly service: Service; readonly drain: Effect.Effect<void> }, never, TokenStore> =>
  Effect.gen(function* () {
    const store = yield* TokenStore

    /** The provider of `id`: one the lookup answers for another id would be sent this login's tokens. */
    const lookup: ProviderLookup = (id) =>
      Effect.flatMap(given(id), (provider) =>
        provider.id === id
          ? Effect.succeed(provider)
          : Effect.fail(
              new NotConfigured({
                provider: id,
                missing: [],
                reason: `the provider lookup answered ${provider.id} for it; make the lookup find providers by id (Accounts.lookupIn)`,
              }),
            ),
      )

    /**
     * Whether `token` was made by a provider of other settings than this
     * one's (`Provider.source`): such a login is another service's, whose
     * tokens must not go to this provider's origins, nor its answers end it.
     */
    const madeElsewhere = (key: AccountKey, token: TokenSet): Effect.Effect<boolean> =>
      token.source === undefined
        ? Effect.succeed(false)
        : Effect.map(Effect.option(lookup(key.provider)), (provider) =>
            Option.exists(provider, (p) => p.source !== undefined && p.source !== token.source),
          )

    const get = (key: AccountKey, options?: { readonly fresh: boolean }) =>
      Effect.flatMap(
        store.get(key, options),
        Option.match({
          onNone: () => Effect.fail(notLoggedIn(key)),
          onSome: (entry) =>
            Effect.flatMap(madeElsewhere(key, entry.token), (elsewhere) =>
              elsewhere ? Effect.fail(notLoggedIn(key, madeWithOtherSettings(key))) : Effect.succeed(entry),
            ),
        }),
      )

    /**
     * Refreshed token sets the store would not take, by account, with the
     * version of the record they replace: the provider spent that record's
     * refresh token, so this process serves these instead and offers them to
     * the store at each use, and when it closes, until it takes them or the
     * record changes (a logout, a login, another process's refresh).
     */
    /** Kept unsaved: `token`, in place of the record `replaces` (none: the record was gone). */
    interface Kept {
      readonly key: AccountKey
      readonly token: TokenSet
      readonly replaces: Entry | undefined
    }
    const unsaved = new Map<string, Kept>()

    /**
     * Whether `kept` stands in for the record `entry`: the one it replaces,
     * by its version and its token (a store that lost its data counts
     * versions from 1 anew, so a version alone can meet another login's).
     */
    const standsFor = (kept: Kept, entry: Entry): boolean =>
      kept.replaces !== undefined &&
      kept.replaces.version === entry.version &&
      sameAccessToken(kept.replaces.token, entry.token)

    /** The token this process uses for the record `entry`: the one kept unsaved in its place, if any. */
    const latest = (key: AccountKey, entry: Entry): TokenSet => {
      const kept = unsaved.get(keyId(key))
      return kept !== undefined && standsFor(kept, entry) ? kept.token : entry.token
    }

    const keepUnsaved = (key: AccountKey, fresh: TokenSet, replaces: Entry | undefined, error: TokenStoreError) =>
      Effect.as(
        Effect.sync(() => unsaved.set(keyId(key), { key, token: fresh, replaces })).pipe(
          Effect.zipRight(
            Effect.logWarning(
              `${key.provider}: account "${key.account}" was refreshed, but the store did not take the new tokens; they serve from memory and are stored at the next use: ${error.message}`,
            ),
          ),
        ),
        fresh,
      )

    /** Stores `fresh` in place of the record at `version`, trying again while the store refuses it for a moment. */
    const commit = (key: AccountKey, lease: Lease, fresh: TokenSet, version: number) =>
      store
        .set(key, fresh, { lease, ifVersion: version })
        .pipe(Effect.retry({ schedule: commitRetries, while: (error) => error._tag === "TokenStoreError" }))

    /**
     * The record under the lease, with any token set kept unsaved for it in
     * its place: stored now if the store takes it, else still served, for
     * as long as the record is the one it replaces.
     */
    const withUnsaved = (key: AccountKey, lease: Lease, entry: Entry): Effect.Effect<Entry> => {
      const kept = unsaved.get(keyId(key))
      if (kept === undefined) return Effect.succeed(entry)
      if (!standsFor(kept, entry)) {
        // The record changed since: what changed it knows better.
        unsaved.delete(keyId(key))
        return Effect.succeed(entry)
      }
      return store.set(key, kept.token, { lease, ifVersion: entry.version }).pipe(
        Effect.tap(() => unsaved.delete(keyId(key))),
        Effect.catchTag("StoreConflict", () => Effect.succeed(entry)),
        Effect.catchTag("TokenStoreError", () => Effect.succeed({ token: kept.token, version: entry.version })),
      )
    }

    /** The new tokens must not outlive a login that was logged out while they were being fetched. */
    const loggedOutMeanwhile = (key: AccountKey, provider: Provider, fresh: TokenSet) =>
      Effect.zipRight(
        Effect.ignore(provider.revoke(fresh)),
        Effect.fail(notLoggedIn(key, "it was logged out while it was being refreshed")),
      )

    /**
     * Writes `fresh` without the lease, if the record is still at `version`
     * (0: none was ever written, or the store lost it): the provider has
     * spent the refresh token the record holds, so the new tokens must not
     * be dropped because the lease was lost under them.
     */
    const writeBack = (
      key: AccountKey,
      provider: Provider,
      fresh: TokenSet,
      replaces: Entry | undefined,
      why: string,
    ) =>
      store.set(key, fresh, { ifVersion: replaces?.version ?? 0 }).pipe(
        Effect.zipRight(
          Effect.logWarning(
            `${key.provider}: account "${key.account}" was refreshed after ${why}; its new tokens are stored`,
          ),
        ),
        Effect.as(fresh),
        Effect.catchTags({
          // Removed meanwhile (its version outlives it), or changed: what changed it knows better.
          StoreConflict: () =>
            Effect.flatMap(
              store.get(key, { fresh: true }),
              Option.match({
                onSome: (entry) => Effect.succeed(entry.token),
                onNone: () => loggedOutMeanwhile(key, provider, fresh),
              }),
            ),
          TokenStoreError: (error) => keepUnsaved(key, fresh, replaces, error),
        }),
      )

    /**
     * A refresh whose result could not be committed over the record `read`:
     * the record changed under it, or the lease was lost.
     */
    const lostRace = (key: AccountKey, provider: Provider, read: Entry, fresh: TokenSet, conflict: StoreConflict) =>
      Effect.flatMap(
        store.get(key, { fresh: true }),
        Option.match({
          onSome: (entry) =>
            // A version alone can meet again: a store that lost its data counts from 1 anew.
            entry.version !== read.version || !sameAccessToken(entry.token, read.token)
              ? Effect.succeed(entry.token)
              : conflict.reason === "lease"
                ? // Taken over (a holder stalled past its ttl, a Redis that lost its keys), the record left as it was.
                  writeBack(key, provider, fresh, entry, "its lease was taken over")
                : // Unchanged after all: the store refused the write as a conflict it is not (a damaged record).
                  keepUnsaved(
                    key,
                    fresh,
                    entry,
                    new TokenStoreError({
                      path: store.info.location,
                      reason: "corrupted",
                      detail: "a write conflicted with no other writer",
                    }),
                  ),
          // Logged out meanwhile (a removed record keeps its version), or lost with the store's data
          // (a Redis restarted without persistence): only a record never written takes version 0.
          onNone: () => writeBack(key, provider, fresh, undefined, "the store lost its record (its data was lost)"),
        }),
      )

    /**
     * Under the account's lease: refreshes when the token `expires` soon,
     * `always`, or when it is still the `rejected` one.
     */
    const refreshUnderLease = (key: AccountKey, need: RefreshNeed): Effect.Effect<TokenSet, AccessError, Scope.Scope> =>
      Effect.gen(function* () {
        const lease = yield* store.acquire(key, options.lease)
        // Another holder may have refreshed while this one waited for the lease.
        const read = yield* get(key, { fresh: true })
        const entry = yield* withUnsaved(key, lease, read)
        // The record as the store holds it: `entry` unless it is tokens kept unsaved in place of `read`.
        const stored = entry.version === read.version ? read : entry
        const current = entry.token
        const now = yield* DateTime.now
        if (need === "expiring" && !current.expiresWithin(now, refreshMargin)) return current
        if (typeof need === "object" && !sameAccessToken(current, need.rejected)) return current
        const force = need !== "expiring"
        const valid = !current.expiresWithin(now, "0 seconds")
        // Renewed early, in its margin: a token still valid is good to hand out if the renewal cannot be had.
        const early = !force && valid
        const provider = yield* lookup(key.provider)
        if (provider.flow !== "client_credentials" && !current.canRefresh(now)) {
          if (early) return current
          // A forced refresh of a login that is still fine is merely impossible;
          // one needed because the token expired means logging in again.
          return yield* force && valid
            ? new NotSupported({
                provider: key.provider,
                operation: "refreshing this login (it has no usable refresh token; log in again once it expires)",
              })
            : notLoggedIn(key, "the access token expired and there is no usable refresh token to renew it")
        }
        // A login stored before logins recorded their source may be another server's: this provider's
        // verdict on it says nothing of the provider that issued it, so it is kept for that one.
        const unproven = current.source === undefined && provider.source !== undefined
        const renewed = provider.refresh(current).pipe(
          Effect.catchIf(
            (error) => error instanceof OAuthProtocolError && error.error === "invalid_grant",
            // Only the provider's own verdict ends a login; network trouble keeps it.
            () =>
              Effect.zipRight(
                unproven
                  ? Effect.void
                  : store
                      .remove(key, { lease, ifVersion: entry.version })
                      .pipe(Effect.catchTag("StoreConflict", () => Effect.void)),
                Effect.fail(notLoggedIn(key, "the provider no longer accepts its refresh token (invalid_grant)")),
              ),
          ),
        )
        // Any other failure of an early renewal keeps the login as it was, and the token serves to its
        // end: if it is still valid now, the renewal having taken its time.
        const fresh = yield* early
          ? Effect.catchIf(
              renewed,
              (error) => !(error instanceof NotLoggedIn),
              (error) =>
                Effect.flatMap(DateTime.now, (later) =>
                  current.expiresWithin(later, "0 seconds") ? Effect.fail(error) : Effect.succeed(current),
                ),
            )
          : renewed
        if (fresh === current) return current
        return yield* commit(key, lease, fresh, entry.version).pipe(
          Effect.map((written) => written.token),
          Effect.catchTags({
            StoreConflict: (conflict) => lostRace(key, provider, stored, fresh, conflict),
            TokenStoreError: (error) => keepUnsaved(key, fresh, stored, error),
          }),
        )
      })

    // Callers with the same need join the refresh under way: without this, a
    // thousand waiters would take the lease one by one. The refresh goes on
    // (and its answer is stored) even if the caller that started it gives up.
    // Its callers get the committed token before the lease is released.
    const refreshes = SingleFlight.make<string, TokenSet, AccessError>()
    const refreshShared = (key: AccountKey, need: RefreshNeed) =>
      refreshes(needId(key, need), refreshUnderLease(key, need))

    /** Runs `f` holding the account's lease; store conflicts cannot happen under it but are typed. */
    const underLease = <A>(key: AccountKey, f: (lease: Lease) => Effect.Effect<A, TokenStoreError | StoreConflict>) =>
      Effect.scoped(
        Effect.flatMap(store.acquire(key, options.lease), (lease) =>
          f(lease).pipe(
            Effect.catchTag("StoreConflict", (conflict) =>
              Effect.fail(
                new TokenStoreError({ path: store.info.location, reason: "locked", detail: conflict.message }),
              ),
            ),
          ),
        ),
      )

    const service: Service = {
      save: (key, token) =>
        underLease(key, (lease) =>
          Effect.asVoid(Effect.tap(store.set(key, token, { lease }), () => unsaved.delete(keyId(key)))),
        ),
      get: (key) => Effect.map(get(key), (entry) => latest(key, entry)),
      // Concurrent callers' reads are shared by the store itself (one round trip for all).
      accessToken: (key) =>
        Effect.suspend(
          () =>
            // A caller that comes while the account's token is being renewed
            // waits for the new one: the store can only hold the old one.
            refreshes.join(needId(key, "expiring")) ??
            Effect.clockWith((clock) =>
              Effect.flatMap(get(key), ({ token }) =>
                // Tokens kept unsaved are served, and offered to the store, under the lease.
                unsaved.has(keyId(key)) || expiresSoon(token, clock.unsafeCurrentTimeMillis())
                  ? refreshShared(key, "expiring")
                  : Effect.succeed(token),
              ),
            ),
        ),
      refresh: (key) => refreshShared(key, "always"),
      replaceRejected: (key, rejected) =>
        // Replaced already (by the refresh these callers shared, or by another
        // process): the latest token, without waiting for the lease.
        Effect.flatMap(get(key, { fresh: true }), (entry) => {
          const token = latest(key, entry)
          return sameAccessToken(token, rejected) ? refreshShared(key, { rejected }) : Effect.succeed(token)
        }),
      remove: (key) =>
        underLease(key, (lease) => Effect.tap(store.remove(key, { lease }), () => unsaved.delete(keyId(key)))),
      logout: (key) =>
        underLease(key, (lease) =>
          Effect.gen(function* () {
            const entry = yield* store.get(key, { fresh: true })
            // Another service's login is not this one's to revoke or remove.
            if (Option.isNone(entry) || (yield* madeElsewhere(key, entry.value.token)))
              return { revoked: false, removed: false }
            const provider = yield* Effect.option(lookup(key.provider))
            // Tokens kept unsaved replace the record's, whose refresh token the provider has spent.
            const token = latest(key, entry.value)
            const revocation: Omit<LogoutResult, "removed"> = Option.isNone(provider)
              ? { revoked: false }
              : yield* provider.value.revoke(token).pipe(
                  Effect.map((revoked) => ({ revoked })),
                  Effect.catchAll((error) => Effect.succeed({ revoked: false, revokeError: error })),
                )
            const removed = yield* store.remove(key, { lease })
            unsaved.delete(keyId(key))
            return { ...revocation, removed }
          }),
        ),
      list: store.list,
    }
    /** A last offer to the store of the token sets kept unsaved, as the service closes. */
    const storeUnsaved = Effect.suspend(() =>
      Effect.forEach(
        [...unsaved.values()],
        ({ key }) =>
          Effect.ignore(
            Effect.scoped(
              Effect.flatMap(store.acquire(key, options.lease), (lease) =>
                Effect.flatMap(get(key, { fresh: true }), (entry) => withUnsaved(key, lease, entry)),
              ),
            ),
          ),
        { discard: true },
      ),
    )
    return { service, drain: Effect.zipRight(refreshes.drain, storeUnsaved) }
  })

/**
 * `make` as the layer of the `Accounts` service, on the `TokenStore` in
 * context; `lookup` finds the provider of each stored login by its id.
 *
 * @example
 * ```ts
 * import { Accounts, type Provider, TokenStore } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * const AccountsLive = (provider: Provider.Provider) =>
 *   Accounts.layer(Accounts.lookupIn([provider])).pipe(Layer.provide(TokenStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (lookup: ProviderLookup, options?: Options): Layer.Layer<Accounts, never, TokenStore> =>
  Layer.scoped(Accounts, makeScoped(lookup, options))
