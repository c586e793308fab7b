/**
 * Where logins live between calls, runs and replicas: one contract, three
 * backends (memory; one encrypted file; Redis or Valkey).
 *
 * Every account's record has a version that grows with each write (and
 * survives its removal), so a writer can say "only if it is still the
 * version I read" (`ifVersion`) and a stale writer fails instead of
 * overwriting. An account's lease (owner, expiry, fencing number) orders
 * the work on it across processes: it is renewed while its holder works,
 * released only by its owner, and taken over only when its holder is
 * provably gone; a write that names a lease commits only while that lease
 * is the account's latest.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* TokenStore.TokenStore
 *   const key = { provider: "hyperid", account: "default" }
 *   const lease = yield* store.acquire(key) // released when the scope closes
 *   const current = yield* store.get(key, { fresh: true })
 *   // ... compute a new token set, then commit it only under the lease:
 *   // yield* store.set(key, next, { lease, ifVersion: version })
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
import { homedir } from "node:os"
import { join } from "node:path"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as FileStore from "./internal/fileStore.js"
import * as MemoryStore from "./internal/memoryStore.js"
import type { StoreConflict, TokenStoreError } from "./internal/storeErrors.js"
import type { TokenSet } from "./Token.js"

/**
 * The key of one login: provider id and the account label the user chose.
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const work: TokenStore.AccountKey = { provider: "hyperid", account: "work" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AccountKey {
  readonly provider: string
  readonly account: string
}

/**
 * A stored token set and the version it was written as.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const version = Effect.flatMap(TokenStore.TokenStore, (store) => store.get({ provider: "hyperid", account: "default" })).pipe(
 *   Effect.map(Option.map((entry: TokenStore.Entry) => entry.version)),
 * )
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry {
  readonly token: TokenSet
  /** 1 for the first write of an account; every write or removal adds one. */
  readonly version: number
}

/**
 * A stored login as `list` gives it: its key, token set and version.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const labels = Effect.flatMap(TokenStore.TokenStore, (store) => store.list).pipe(
 *   Effect.map((all) => all.map((stored: TokenStore.StoredAccount) => `${stored.provider}/${stored.account}`)),
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredAccount extends AccountKey, Entry {}

/**
 * A held lease on an account. Pass it to `set` or `remove` to commit only
 * while it is still the account's latest lease.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Token, TokenStore } from "@hyperauth/core"
 *
 * // The write commits only while this lease is the account's latest.
 * const saveUnderLease = (store: TokenStore.Service, key: TokenStore.AccountKey, token: Token.TokenSet) =>
 *   Effect.scoped(Effect.flatMap(store.acquire(key), (lease: TokenStore.Lease) => store.set(key, token, { lease })))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Lease {
  readonly key: AccountKey
  readonly owner: string
  /**
   * Grows with every new holder while the lease is kept: a superseded lease
   * has a smaller one. A lease forgotten once free (swept by the file
   * backend for what is gone, expired in Redis a day after release) starts
   * again at 1; the store's own checks also compare the random `owner`, so
   * a stale holder still fails. Do not use fences alone outside the store.
   */
  readonly fence: number
}

/**
 * The conditions a write of a login commits under; none means "always".
 *
 * @example
 * ```ts
 * import type { Token, TokenStore } from "@hyperauth/core"
 *
 * // Commit only if nobody wrote since version 3 was read (else StoreConflict).
 * const options: TokenStore.WriteOptions = { ifVersion: 3 }
 * const save = (store: TokenStore.Service, key: TokenStore.AccountKey, token: Token.TokenSet) =>
 *   store.set(key, token, options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface WriteOptions {
  /** Commit only if the record is still at this version (0: never written). */
  readonly ifVersion?: number | undefined
  /** Commit only while this lease is the account's latest. */
  readonly lease?: Lease | undefined
}

/**
 * How a read may be served.
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * // Read past any cache, as a writer about to compare-and-set does.
 * const options: TokenStore.ReadOptions = { fresh: true }
 * const current = (store: TokenStore.Service, key: TokenStore.AccountKey) => store.get(key, options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadOptions {
  /**
   * Read the latest committed state, joining no read that began earlier
   * and trusting no cache: what a holder of the lease reads before it acts.
   */
  readonly fresh?: boolean | undefined
}

/**
 * How long a lease lasts, and how long `acquire` waits for it.
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const options: TokenStore.LeaseOptions = { ttl: "60 seconds", wait: "2 minutes" }
 * const lease = (store: TokenStore.Service, key: TokenStore.AccountKey) => store.acquire(key, options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface LeaseOptions {
  /**
   * How long a lease lasts without renewal (default 15 s); renewed every
   * third of it. `Duration.infinity` holds it until it is released, or its
   * holder's process is seen dead on this host.
   */
  readonly ttl?: Duration.DurationInput | undefined
  /** How long to wait for it before failing with `locked` (default 90 s). */
  readonly wait?: Duration.DurationInput | undefined
}

/*
 * The store's errors. They are defined in a module of their own that imports
 * nothing of the core, so that the backends and `OAuthError` (whose union has
 * `TokenStoreError`) import them without a cycle through this module.
 */
export { StoreConflict, TokenStoreError } from "./internal/storeErrors.js"

/**
 * Which backend a store is, where (a path, or a Redis URL without user or
 * password), and whether its values are encrypted.
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const describe = (info: TokenStore.Info) => `${info.kind} store at ${info.location}${info.encrypted ? ", encrypted" : ""}`
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Info {
  readonly kind: "memory" | "file" | "redis"
  readonly location: string
  readonly encrypted: boolean
}

/**
 * A JSON record kept beside the logins, such as a pending login: its id,
 * value and version.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const noted = (store: TokenStore.Service) =>
 *   Effect.map(store.logins.set("login-1", { step: "waiting" }), (written: TokenStore.RecordEntry) => written.version)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RecordEntry {
  readonly id: string
  readonly value: unknown
  readonly version: number
}

/**
 * A held lease on a record.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const underLease = (store: TokenStore.Service) =>
 *   Effect.scoped(
 *     Effect.flatMap(store.logins.acquire("login-1"), (lease: TokenStore.RecordLease) =>
 *       store.logins.set("login-1", { step: "polling" }, { lease }),
 *     ),
 *   )
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RecordLease {
  readonly id: string
  readonly owner: string
  readonly fence: number
}

/**
 * The conditions a write of a record commits under; none means "always".
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * // Create the record only if it was never written.
 * const options: TokenStore.RecordWriteOptions = { ifVersion: 0 }
 * const create = (store: TokenStore.Service) => store.logins.set("login-1", { step: "waiting" }, options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RecordWriteOptions {
  /** Commit only if the record is still at this version (0: never written). */
  readonly ifVersion?: number | undefined
  /** Commit only while this lease is the record's latest. */
  readonly lease?: RecordLease | undefined
}

/**
 * Records beside the logins (pending logins, so that a restarted server or
 * another replica can finish them), with the same guarantees: versions,
 * compare-and-set, leases, and encryption at rest with the store's key.
 * Give each record an id of its own, never used again: a backend may
 * forget a removed record altogether (the file backend does, so that a
 * store that has seen many logins does not keep growing).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { TokenStore } from "@hyperauth/core"
 *
 * const pendingIds = (records: TokenStore.Records) => Effect.map(records.list, (all) => all.map((record) => record.id))
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Records {
  readonly get: (id: string, options?: ReadOptions) => Effect.Effect<Option.Option<RecordEntry>, TokenStoreError>
  /** `value` must survive `JSON.stringify`. */
  readonly set: (
    id: string,
    value: unknown,
    options?: RecordWriteOptions,
  ) => Effect.Effect<RecordEntry, TokenStoreError | StoreConflict>
  readonly remove: (id: string, options?: RecordWriteOptions) => Effect.Effect<boolean, TokenStoreError | StoreConflict>
  readonly list: Effect.Effect<ReadonlyArray<RecordEntry>, TokenStoreError>
  readonly acquire: (id: string, options?: LeaseOptions) => Effect.Effect<RecordLease, TokenStoreError, Scope.Scope>
}

/**
 * What a token store does, whatever its backend: versioned reads and
 * conditional writes of logins, leases on accounts, and the pending-login
 * records beside them.
 *
 * @example
 * ```ts
 * import type { TokenStore } from "@hyperauth/core"
 *
 * // Whether there was a login to forget.
 * const forget = (store: TokenStore.Service) => store.remove({ provider: "hyperline", account: "default" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Which backend and where, without credentials. */
  readonly info: Info
  readonly get: (key: AccountKey, options?: ReadOptions) => Effect.Effect<Option.Option<Entry>, TokenStoreError>
  /** Writes a token set; the entry as written, with its new version. */
  readonly set: (
    key: AccountKey,
    token: TokenSet,
    options?: WriteOptions,
  ) => Effect.Effect<Entry, TokenStoreError | StoreConflict>
  /** Whether there was something to remove. */
  readonly remove: (key: AccountKey, options?: WriteOptions) => Effect.Effect<boolean, TokenStoreError | StoreConflict>
  readonly list: Effect.Effect<ReadonlyArray<StoredAccount>, TokenStoreError>
  /**
   * Takes the account's lease, waiting while another holder (in this
   * process or another) has it; renews it while the scope is open and
   * releases it when the scope closes.
   */
  readonly acquire: (key: AccountKey, options?: LeaseOptions) => Effect.Effect<Lease, TokenStoreError, Scope.Scope>
  /** Pending logins, kept beside the logins they will become. */
  readonly logins: Records
}

/**
 * The token store of the program: `layerConfig` picks it from the
 * environment, `layerMemory` and `layerRedis` name one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const logins = Effect.gen(function* () {
 *   const store = yield* TokenStore.TokenStore
 *   return yield* store.list
 * }).pipe(Effect.provide(TokenStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("@hyperauth/core/TokenStore")<TokenStore, Service>() {}

/**
 * A store in memory, lost when the process ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* TokenStore.makeMemory
 *   return store.info // { kind: "memory", location: "memory", encrypted: false }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => MemoryStore.make(MemoryStore.makeState()))

/**
 * A `TokenStore` in memory, new for each program it is provided to: what
 * tests and short-lived scripts use.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const none = Effect.flatMap(TokenStore.TokenStore, (store) =>
 *   store.get({ provider: "hyperid", account: "default" }),
 * ).pipe(Effect.provide(TokenStore.layerMemory)) // Option.none()
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenStore> = Layer.effect(TokenStore, makeMemory)

/**
 * Where the file store is, and the passphrase it is encrypted with.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const options: TokenStore.FileOptions = { path: "/var/lib/my-app/tokens.json", key: Redacted.make("a long passphrase") }
 * const store = TokenStore.makeFile(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  readonly path: string
  /** Encrypts the file with AES-256-GCM under a key derived from this. */
  readonly key?: Redacted.Redacted<string> | undefined
}

/**
 * A store in one file, shared safely by the processes of one host. Every
 * change is a read-modify-write under a short lock file (taken over at once
 * from a dead process), and goes to a temporary file that is flushed and
 * renamed over the old one, so a crash leaves the previous document intact.
 * Leases are small files beside it. Reads are cached while the file stays
 * the same one.
 *
 * @example
 * ```ts
 * import { Layer, Redacted } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const store = TokenStore.makeFile({ path: "/var/lib/my-app/tokens.json", key: Redacted.make("a long passphrase") })
 * // As a layer, made when it is built: TokenStore.layerFile(options)
 * const layer = Layer.succeed(TokenStore.TokenStore, store)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (options: FileOptions): Service => FileStore.make(options.path, options.key)

/**
 * `makeFile` as the layer of the `TokenStore` service: the store is made
 * when the layer is built, not when the module loads.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const stored = TokenStore.layerFile({ path: "/var/lib/my-app/tokens.json", key: Redacted.make("a long passphrase") })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFile = (options: FileOptions): Layer.Layer<TokenStore> =>
  Layer.sync(TokenStore, () => makeFile(options))

/**
 * Which Redis or Valkey server and database, the passphrase values are
 * encrypted with, and the prefix of every key.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const options: TokenStore.RedisOptions = { url: Redacted.make("redis://127.0.0.1:6379/0"), prefix: "my-app:" }
 * const shared = TokenStore.layerRedis(options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RedisOptions {
  /** `redis://[user:password@]host:port/db`, or `rediss://…` for TLS. */
  readonly url: Redacted.Redacted<string>
  /** Encrypts every value with AES-256-GCM, as the file store does. */
  readonly key?: Redacted.Redacted<string> | undefined
  /** Prepended to every key (default `hyperauth:`), so stores can share a database. */
  readonly prefix?: string | undefined
}

/**
 * A store in Redis or Valkey, shared by every replica that names it.
 * Conditional writes and lease steps are atomic Lua scripts. The
 * connection is closed when the layer's scope closes.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const shared = TokenStore.layerRedis({
 *   url: Redacted.make("redis://127.0.0.1:6379/0"),
 *   key: Redacted.make("a long passphrase"),
 *   prefix: "my-app:",
 * })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRedis = (options: RedisOptions): Layer.Layer<TokenStore, TokenStoreError> =>
  Layer.scoped(
    TokenStore,
    Effect.flatMap(
      Effect.promise(() => import("./internal/redisStore.js")),
      (RedisStore) => RedisStore.make(options),
    ),
  )

/**
 * `$XDG_CONFIG_HOME/hyperauth/tokens.json`, or `~/.config/hyperauth/tokens.json`.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const path = TokenStore.defaultPath.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["XDG_CONFIG_HOME", "/home/me/.config"]]))),
 * ) // "/home/me/.config/hyperauth/tokens.json"
 * ```
 *
 * @since 0.1.0
 * @category config
 */
export const defaultPath: Config.Config<string> = Config.string("XDG_CONFIG_HOME").pipe(
  Config.option,
  // The home directory is looked up when the config is read, not when this module loads.
  Config.map((base) =>
    join(
      Option.getOrElse(
        Option.filter(base, (dir) => dir !== ""),
        () => join(homedir(), ".config"),
      ),
      "hyperauth",
      "tokens.json",
    ),
  ),
)

/**
 * Where the store is, as `HYPERAUTH_STORE` says.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const where = Effect.map(TokenStore.location, (location: TokenStore.Location) =>
 *   location._tag === "File" ? location.path : location._tag,
 * )
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Location =
  | { readonly _tag: "Memory" }
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "Redis"; readonly url: Redacted.Redacted<string> }

const isRedisUrl = (value: string) => /^rediss?:\/\//i.test(value)

/**
 * Why `value` names no store, without quoting it (a URL may hold a
 * password): spaces around it, or a URL scheme other than Redis's (a
 * drive letter such as `C:` is no scheme).
 */
const storeProblem = (value: string): string | undefined => {
  if (value.trim() !== value)
    return "HYPERAUTH_STORE has spaces around it: remove them (a path that ends in a space would be taken as a file path that does not exist)."
  if (/^["'<`]|["'>`]$/.test(value))
    return "HYPERAUTH_STORE is quoted or in brackets: remove them (an env file passes quotes on as they are)."
  if (isRedisUrl(value)) return undefined
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(value)?.[1]
  const urlLike =
    scheme !== undefined ||
    value.includes("://") ||
    /^rediss?(?:\s|:|\/\/)/i.test(value) ||
    // A user and password (`user:password@`) in a segment: a URL that lost its scheme.
    /(?:^|[/\\])[^\s/\\:]*:[^\s/\\]*@/.test(value)
  if (urlLike)
    return "HYPERAUTH_STORE looks like a URL but is no redis:// or rediss:// one: write redis://[user:password@]host:port[/db], memory, or a file path (./ before a file name with a colon)."
  return undefined
}

/**
 * `HYPERAUTH_STORE`: `memory`, `redis://…` / `rediss://…`, or a file path
 * (`defaultPath` when unset). The value is `Redacted`: a Redis URL may
 * carry a password.
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const where = TokenStore.location.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_STORE", "memory"]]))),
 * ) // { _tag: "Memory" }
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const location: Config.Config<Location> = Config.redacted("HYPERAUTH_STORE").pipe(
  Config.option,
  Config.zipWith(defaultPath, (value, fallback) => [value, fallback] as const),
  Config.mapOrFail(([value, fallback]): Either.Either<Location, ConfigError.ConfigError> => {
    const raw = Option.match(value, { onNone: () => "", onSome: Redacted.value })
    if (raw === "memory") return Either.right({ _tag: "Memory" })
    const problem = storeProblem(raw)
    if (problem !== undefined) return Either.left(ConfigError.InvalidData(["HYPERAUTH_STORE"], problem))
    if (isRedisUrl(raw)) return Either.right({ _tag: "Redis", url: Option.getOrThrow(value) })
    return Either.right({ _tag: "File", path: raw === "" ? fallback : raw })
  }),
)

/**
 * `HYPERAUTH_STORE_KEY`: set means every value is encrypted; set but empty
 * (or only blanks) is a mistake, not "no encryption".
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * // Fails with a ConfigError that says to set the passphrase or unset the variable.
 * const refused = TokenStore.storeKey.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_STORE_KEY", ""]]))),
 * )
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const storeKey: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.redacted(
  "HYPERAUTH_STORE_KEY",
).pipe(
  Config.option,
  Config.mapOrFail((key) =>
    // Only blanks is the same mistake (a blank line in a .env file), not a passphrase of spaces.
    Option.isSome(key) && Redacted.value(key.value).trim() === ""
      ? Either.left(
          ConfigError.InvalidData(
            ["HYPERAUTH_STORE_KEY"],
            "HYPERAUTH_STORE_KEY is set but empty or blank: set it to the store's passphrase, or unset it to store without encryption.",
          ),
        )
      : Either.right(key),
  ),
)

/**
 * `HYPERAUTH_STORE_PREFIX`: the Redis key prefix (default `hyperauth:`).
 *
 * @example
 * ```ts
 * import { ConfigProvider, Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const prefix = TokenStore.redisPrefix.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))) // "hyperauth:"
 * ```
 *
 * @since 0.2.0
 * @category config
 */
export const redisPrefix: Config.Config<string> = Config.string("HYPERAUTH_STORE_PREFIX").pipe(
  Config.withDefault("hyperauth:"),
)

/**
 * The store `HYPERAUTH_STORE`, `HYPERAUTH_STORE_KEY` and
 * `HYPERAUTH_STORE_PREFIX` describe: a file (the default), memory, or
 * Redis. A wrong key or a damaged store is a `TokenStoreError` that says
 * what to do: for Redis when the layer is built (it reads the store's key
 * check), for a file at its first read, so that a program (an MCP server)
 * starts and can tell its users.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TokenStore } from "@hyperauth/core"
 *
 * const info = Effect.map(TokenStore.TokenStore, (store) => store.info).pipe(Effect.provide(TokenStore.layerConfig))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<TokenStore, ConfigError.ConfigError | TokenStoreError> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const where = yield* location
    const key = Option.getOrUndefined(yield* storeKey)
    switch (where._tag) {
      case "Memory":
        return layerMemory
      case "File":
        return layerFile({ path: where.path, key })
      case "Redis":
        return layerRedis({ url: where.url, key, prefix: yield* redisPrefix })
    }
  }),
)
