/**
 * Where token sets live between runs: in memory, or in one file written
 * atomically, readable only by its owner, encrypted when a key is given, and
 * shared safely by several processes.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { homedir } from "node:os"
import { join } from "node:path"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as FileDocument from "./internal/fileDocument.js"
import { withLockFile } from "./internal/lockFile.js"
import { TokenStoreError } from "./OAuthError.js"
import { TokenSet } from "./Token.js"

/**
 * The key of one login: provider id and the account label the user chose.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccountKey {
  readonly provider: string
  readonly account: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StoredAccount extends AccountKey {
  readonly token: TokenSet
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly get: (key: AccountKey) => Effect.Effect<Option.Option<TokenSet>, TokenStoreError>
  readonly set: (key: AccountKey, token: TokenSet) => Effect.Effect<void, TokenStoreError>
  /** Whether there was something to remove. */
  readonly remove: (key: AccountKey) => Effect.Effect<boolean, TokenStoreError>
  readonly list: Effect.Effect<ReadonlyArray<StoredAccount>, TokenStoreError>
  /**
   * Runs `effect` while no other user of this store, in this process or
   * another, runs one for the same key: a refresh holds it so that a
   * rotating refresh token is spent once.
   */
  readonly exclusive: <A, E, R>(
    key: AccountKey,
    effect: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | TokenStoreError, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("@hyperauth/core/TokenStore")<TokenStore, Service>() {}

const keyOf = ({ provider, account }: AccountKey) => `${provider}/${account}`

const splitKey = (key: string): AccountKey => {
  const slash = key.indexOf("/")
  return { provider: key.slice(0, slash), account: key.slice(slash + 1) }
}

/** The token sets of a document, decoded from their JSON form. */
export const Entries = Schema.Record({ key: Schema.String, value: TokenSet })

const toList = (entries: Readonly<Record<string, TokenSet>>): ReadonlyArray<StoredAccount> =>
  Object.entries(entries).map(([key, token]) => ({ ...splitKey(key), token }))

/**
 * A store in memory, lost when the process ends.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.map(
  Ref.make<Readonly<Record<string, TokenSet>>>({}),
  (ref) => ({
    get: (key) => Effect.map(Ref.get(ref), (entries) => Option.fromNullable(entries[keyOf(key)])),
    set: (key, token) => Ref.update(ref, (entries) => ({ ...entries, [keyOf(key)]: token })),
    remove: (key) =>
      Ref.modify(ref, (entries) => {
        const { [keyOf(key)]: removed, ...rest } = entries
        return [removed !== undefined, rest]
      }),
    list: Effect.map(Ref.get(ref), toList),
    // One process only: callers already serialise per key in memory.
    exclusive: (_, effect) => effect,
  }),
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenStore> = Layer.effect(TokenStore, makeMemory)

/**
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  readonly path: string
  /** Encrypts the file with AES-256-GCM under a key derived from this. */
  readonly key?: Redacted.Redacted<string> | undefined
}

/**
 * A store in one file. Every change is a locked read-modify-write of the
 * whole document, so concurrent processes lose no update, and each write
 * goes to a temporary file that is flushed and renamed over the old one, so
 * a crash leaves the previous document intact.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (options: FileOptions, hooks?: FileDocument.Hooks): Service => {
  const file = FileDocument.make(options.path, options.key, hooks)
  const decode = (json: unknown) =>
    Schema.decodeUnknown(Entries)(json).pipe(
      Effect.mapError(
        () => new TokenStoreError({ path: options.path, reason: "corrupted", detail: "its entries do not decode" }),
      ),
    )
  const read = Effect.flatMap(file.read, decode)
  const encode = Schema.encode(Entries)
  const update = <A>(f: (entries: Record<string, TokenSet>) => readonly [A, Record<string, TokenSet> | undefined]) =>
    file.update((json) =>
      Effect.gen(function* () {
        const entries = yield* decode(json)
        const [result, next] = f({ ...entries })
        if (next === undefined) return [result, Option.none()] as const
        return [result, Option.some(yield* Effect.orDie(encode(next)))] as const
      }),
    )
  return {
    get: (key) => Effect.map(read, (entries) => Option.fromNullable(entries[keyOf(key)])),
    set: (key, token) => update((entries) => [undefined, { ...entries, [keyOf(key)]: token }]),
    remove: (key) =>
      update((entries) => {
        if (entries[keyOf(key)] === undefined) return [false, undefined]
        delete entries[keyOf(key)]
        return [true, entries]
      }),
    list: Effect.map(read, toList),
    exclusive: (key, effect) =>
      withLockFile(
        `${options.path}.${createHash("sha256").update(keyOf(key)).digest("hex").slice(0, 16)}.lock`,
        // Long enough to outlast a refresh that runs into its 30 s timeout.
        { storePath: options.path, waitMs: 45_000, staleMs: 90_000 },
        effect,
      ),
  }
}

/**
 * `$XDG_CONFIG_HOME/hyperauth/tokens.json`, or `~/.config/hyperauth/tokens.json`.
 *
 * @since 0.1.0
 * @category config
 */
export const defaultPath: Config.Config<string> = Config.string("XDG_CONFIG_HOME").pipe(
  Config.withDefault(join(homedir(), ".config")),
  Config.map((base) => join(base === "" ? join(homedir(), ".config") : base, "hyperauth", "tokens.json")),
)

/**
 * `HYPERAUTH_STORE` (a path, or `memory`; `defaultPath` when unset) and
 * `HYPERAUTH_STORE_KEY`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<TokenStore, never> = Layer.effect(
  TokenStore,
  Effect.gen(function* () {
    const path = yield* Config.string("HYPERAUTH_STORE").pipe(
      Config.orElse(() => defaultPath),
      Effect.orElse(() => Effect.succeed("memory")),
    )
    if (path === "memory") return yield* makeMemory
    const key = yield* Config.option(Config.redacted("HYPERAUTH_STORE_KEY")).pipe(
      Effect.map(Option.filter((k) => Redacted.value(k) !== "")),
      Effect.orElseSucceed(Option.none),
    )
    return makeFile({ path, key: Option.getOrUndefined(key) })
  }),
)
