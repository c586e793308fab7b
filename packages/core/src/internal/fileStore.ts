/**
 * The file backend: one JSON document holding every account's versioned
 * record (sealed with AES-256-GCM when a key is given), changed only under
 * a short lock file and replaced atomically (temporary file, flush,
 * rename); leases in small files beside it, changed under the same lock.
 * What is gone leaves nothing behind: a removed pending login keeps no
 * entry, and free lease files of removed logins and accounts are swept.
 *
 * Reads are cached: an ordinary read trusts the cache while the file is the
 * same one (inode, size and times); a fresh read compares the bytes.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { basename, dirname, join } from "node:path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { TokenSet } from "../Token.js"
import type * as TokenStore from "../TokenStore.js"
import { fsEffect, fsSync, isErrno } from "./fsEffect.js"
import * as Leases from "./leases.js"
import { withLockFile } from "./lockFile.js"
import * as Sealing from "./sealing.js"
import * as SingleFlight from "./singleFlight.js"
import { type StoreConflict, TokenStoreError } from "./storeErrors.js"
import {
  checkWrite,
  encodeValue,
  keyOf,
  makeRecords,
  type Record,
  recordKey,
  recordLeaseId,
  splitKey,
  type WithLeaseBackend,
} from "./storeRecords.js"

const FORMAT = "hyperauth-token-store"
const VERSION = 2
/** Authenticated with the ciphertext, so a document cannot pass for another format or version. */
const aadOf = (version: number) => `${FORMAT}:v${version}`
const LOCK_WAIT_MS = 10_000
/** The document lock is held for milliseconds; one held longer hangs. */
const STALE_LOCK_MS = 30_000
/** A temporary file this old was left by a writer that died. */
const ORPHAN_MS = 10 * 60_000

const Revision = Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER - 1))

const Header = Schema.Struct({ format: Schema.String, version: Schema.Number })

const Plain = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(1, 2),
  revision: Revision,
  entries: Schema.Unknown,
  logins: Schema.optional(Schema.Unknown),
})

const SealedDocument = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(1, 2),
  revision: Revision,
  ...Sealing.Sealed.fields,
})

const Document = Schema.Union(SealedDocument, Plain)

const Version = Schema.Int.pipe(Schema.between(1, Number.MAX_SAFE_INTEGER - 1))
/** Version 2 entries: each account's version, and its token set unless removed. */
const EntriesV2 = Schema.Record({
  key: Schema.String,
  value: Schema.Struct({ version: Version, token: Schema.optional(TokenSet) }),
})
/** Pending logins (version 2): each record's version, and its JSON value unless removed. */
const Logins = Schema.Record({
  key: Schema.String,
  value: Schema.Struct({ version: Version, value: Schema.optional(Schema.Unknown) }),
})
/** What version 2 seals: the entries and the pending logins. */
const SealedV2 = Schema.Struct({ entries: Schema.Unknown, logins: Schema.optional(Schema.Unknown) })
/** Version 1 entries: token sets alone; each reads as version 1. */
const EntriesV1 = Schema.Record({ key: Schema.String, value: TokenSet })

const LeaseFile = Schema.parseJson(
  Schema.Struct({
    owner: Schema.String,
    pid: Schema.Number,
    host: Schema.String,
    started: Schema.optional(Schema.String),
    fence: Schema.Int,
    expiresAt: Schema.Number,
  }),
)

/** When a lease taken now for `ttlMs` ends; one without end is written as the largest safe number (JSON has no `Infinity`). */
const leaseEnd = (now: number, ttlMs: number): number => Math.min(now + ttlMs, Number.MAX_SAFE_INTEGER)

type Accounts = ReadonlyMap<string, Record<TokenSet>>
type PendingLogins = ReadonlyMap<string, Record<unknown>>

const withoutRemoved = (logins: PendingLogins): PendingLogins =>
  new Map([...logins].filter(([, record]) => record.value !== undefined))

interface Loaded {
  /** The file's identity when it was read; undefined when it did not exist. */
  readonly identity: string | undefined
  readonly text: string | undefined
  readonly revision: number
  readonly salt: string | undefined
  readonly accounts: Accounts
  readonly logins: PendingLogins
}

const empty: Loaded = {
  identity: undefined,
  text: undefined,
  revision: 0,
  salt: undefined,
  accounts: new Map(),
  logins: new Map(),
}

/** Test seams: what happens between the steps of a read or a write. */
export interface Hooks {
  /** Runs after the file is read, before it is parsed. */
  readonly afterRead?: Effect.Effect<void> | undefined
  /** Runs after the temporary file is flushed, before it replaces the document. */
  readonly beforeRename?: Effect.Effect<void> | undefined
  /** This process as lease holders see it (tests pose as other processes). */
  readonly identity?: Leases.Identity | undefined
}

const identityOf = (stat: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }) =>
  `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`

export const make = (path: string, key: Redacted.Redacted<string> | undefined, hooks: Hooks = {}): WithLeaseBackend => {
  const fail = (reason: TokenStoreError["reason"], detail?: string) => new TokenStoreError({ path, reason, detail })
  // The document and its lease files are small: read and written with synchronous
  // calls (see `fsSync`); only flushing to the disk waits asynchronously.
  const io = <A>(what: string, run: () => A) => fsSync(path, what, run)
  /** Waits until what was written through `fd` is on the disk. */
  const flush = (what: string, fd: number) =>
    fsEffect(
      path,
      what,
      () => new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve()))),
    )
  const close = (fd: number) => Effect.ignore(io("close", () => fs.closeSync(fd)))
  const sealer = key === undefined ? undefined : Sealing.make(key)

  const decodeEntries = (version: 1 | 2, json: unknown): Effect.Effect<Accounts, TokenStoreError> =>
    Effect.mapError(
      version === 1
        ? Effect.map(
            Schema.decodeUnknown(EntriesV1)(json),
            (entries) => new Map(Object.entries(entries).map(([id, token]) => [id, { version: 1, value: token }])),
          )
        : Effect.map(
            Schema.decodeUnknown(EntriesV2)(json),
            (entries) =>
              new Map(
                Object.entries(entries).map(([id, entry]) => [id, { version: entry.version, value: entry.token }]),
              ),
          ),
      () => fail("corrupted", "its entries do not decode"),
    )

  const decodeLogins = (json: unknown): Effect.Effect<PendingLogins, TokenStoreError> =>
    json === undefined
      ? Effect.succeed(new Map())
      : Effect.mapError(
          Effect.map(
            Schema.decodeUnknown(Logins)(json),
            (logins) => new Map(Object.entries(logins).map(([id, r]) => [id, { version: r.version, value: r.value }])),
          ),
          () => fail("corrupted", "its pending logins do not decode"),
        )

  /** Parses and, if sealed, decrypts; never alters the file. */
  const open = (text: string, identity: string): Effect.Effect<Loaded, TokenStoreError> =>
    Effect.gen(function* () {
      const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => undefined }).pipe(
        Effect.mapError(() => fail("corrupted", "it is not complete JSON")),
      )
      const header = Schema.decodeUnknownOption(Header)(json)
      if (Option.isNone(header) || header.value.format !== FORMAT) {
        return yield* fail("corrupted", "it is not a hyperauth token store")
      }
      if (header.value.version > VERSION) {
        return yield* fail("newer_version", `format version ${header.value.version}, this one reads ${VERSION}`)
      }
      const document = yield* Schema.decodeUnknown(Document)(json).pipe(
        Effect.mapError(() => fail("corrupted", "its structure is damaged")),
      )
      if (!("cipher" in document)) {
        // A plaintext file where a key is set may be planted: never trust or overwrite it.
        if (sealer !== undefined) return yield* fail("unencrypted")
        const accounts = yield* decodeEntries(document.version, document.entries)
        const logins = yield* decodeLogins(document.logins)
        return { identity, text, revision: document.revision, salt: undefined, accounts, logins }
      }
      if (sealer === undefined) return yield* fail("key_required")
      const plain = yield* Effect.mapError(sealer.open(document, aadOf(document.version)), () => fail("wrong_key"))
      const inner = yield* Effect.try({ try: () => JSON.parse(plain) as unknown, catch: () => undefined }).pipe(
        Effect.mapError(() => fail("corrupted", "its sealed content is not JSON")),
      )
      const content =
        document.version === 1
          ? { entries: inner, logins: undefined }
          : yield* Effect.mapError(Schema.decodeUnknown(SealedV2)(inner), () =>
              fail("corrupted", "its sealed content is damaged"),
            )
      const accounts = yield* decodeEntries(document.version, content.entries)
      const logins = yield* decodeLogins(content.logins)
      return { identity, text, revision: document.revision, salt: document.cipher.salt, accounts, logins }
    })

  // The last document read or written by this process.
  let cache: Loaded | undefined

  /** Reads the file and its identity together, through one descriptor. */
  const readFile = io("read", () => {
    let fd: number
    try {
      fd = fs.openSync(path, "r")
    } catch (error) {
      if (isErrno(error, "ENOENT")) return undefined
      throw error
    }
    try {
      const stat = fs.fstatSync(fd, { bigint: true })
      return { identity: identityOf(stat), text: fs.readFileSync(fd, "utf8") }
    } finally {
      fs.closeSync(fd)
    }
  })

  /** The latest committed document: the bytes are read; decrypted only if they changed. */
  const loadFresh: Effect.Effect<Loaded, TokenStoreError> = Effect.gen(function* () {
    const file = yield* readFile
    if (hooks.afterRead !== undefined) yield* hooks.afterRead
    if (file === undefined) return empty
    if (cache !== undefined && cache.text === file.text) {
      cache = { ...cache, identity: file.identity }
      return cache
    }
    const loaded = yield* open(file.text, file.identity)
    cache = loaded
    return loaded
  })

  // Ordinary readers that miss the cache at once share one read and decryption.
  const sharedReads = SingleFlight.make<string, Loaded, TokenStoreError>()
  const loadCached: Effect.Effect<Loaded, TokenStoreError> = Effect.flatMap(
    io("read", () => fs.statSync(path, { bigint: true, throwIfNoEntry: false })),
    (stat) => {
      const identity = stat === undefined ? "absent" : identityOf(stat)
      if (cache !== undefined && (cache.identity ?? "absent") === identity) return Effect.succeed(cache)
      return sharedReads(identity, loadFresh)
    },
  )

  const encodeEntries = Schema.encode(EntriesV2)
  const seal = (accounts: Accounts, pending: PendingLogins, revision: number, salt: string | undefined) =>
    Effect.gen(function* () {
      const logins = Object.fromEntries(
        [...pending].map(([id, record]) => [
          id,
          record.value === undefined ? { version: record.version } : { version: record.version, value: record.value },
        ]),
      )
      const entries = yield* Effect.orDie(
        encodeEntries(
          Object.fromEntries(
            [...accounts].map(([id, record]) => [
              id,
              record.value === undefined
                ? { version: record.version }
                : { version: record.version, token: record.value },
            ]),
          ),
        ),
      )
      if (sealer === undefined) return { format: FORMAT, version: VERSION, revision, entries, logins }
      return {
        format: FORMAT,
        version: VERSION,
        revision,
        ...sealer.seal(JSON.stringify({ entries, logins }), aadOf(VERSION), salt),
      }
    })

  const temporaryPrefix = `${basename(path)}.`
  const writeAtomically = (text: string) => {
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
    return Effect.gen(function* () {
      yield* Effect.acquireUseRelease(
        io("write", () => fs.openSync(temporary, "wx", 0o600)),
        (fd) =>
          Effect.zipRight(
            io("write", () => fs.writeFileSync(fd, text, "utf8")),
            flush("write", fd),
          ),
        close,
      )
      if (hooks.beforeRename !== undefined) yield* hooks.beforeRename
      yield* io("replace", () => fs.renameSync(temporary, path))
      // Makes the rename itself durable; not every platform can sync a directory.
      yield* Effect.ignore(
        Effect.acquireUseRelease(
          io("sync directory", () => fs.openSync(dirname(path), "r")),
          (fd) => flush("sync directory", fd),
          close,
        ),
      )
      const stat = yield* io("read", () => fs.statSync(path, { bigint: true }))
      return identityOf(stat)
    }).pipe(Effect.onError(() => Effect.ignore(io("remove", () => fs.rmSync(temporary, { force: true })))))
  }

  /** Temporary files of writers that died (their process is gone, or they are old). */
  const removeOrphans = Effect.promise(async () => {
    const names = await fs.promises.readdir(dirname(path)).catch(() => [] as Array<string>)
    for (const name of names) {
      if (!name.startsWith(temporaryPrefix) || !/\.(tmp|new)$/.test(name)) continue
      const pid = Number(/\.(\d+)\.[0-9a-f]+\.(?:tmp|new)$/.exec(name)?.[1])
      const full = join(dirname(path), name)
      const stat = await fs.promises.stat(full).catch(() => undefined)
      const old = stat !== undefined && Date.now() - stat.mtimeMs > ORPHAN_MS
      if (old || (Number.isInteger(pid) && pid !== process.pid && !Leases.isAlive(pid))) {
        // Best effort, as the listing: a file that cannot be removed now is tried again next time.
        await fs.promises.rm(full, { force: true }).catch(() => undefined)
      }
    }
  })
  // One writer at a time inside this process; the lock file orders processes.
  const mutex = Effect.unsafeMakeSemaphore(1)
  const locked = <A, E>(effect: Effect.Effect<A, E>) =>
    mutex.withPermits(1)(
      withLockFile(`${path}.lock`, { storePath: path, waitMs: LOCK_WAIT_MS, staleMs: STALE_LOCK_MS }, effect),
    )

  const leaseHash = (id: string) => createHash("sha256").update(id).digest("hex").slice(0, 16)
  const leasePath = (id: string) => `${path}.${leaseHash(id)}.lease`
  /** The name of `id`'s lease file, as its directory lists it. */
  const leaseName = (id: string) => `${basename(path)}.${leaseHash(id)}.lease`
  /** Whether `name` is that of one of this store's lease files. */
  const isLeaseFile = (name: string) =>
    name.startsWith(`${basename(path)}.`) &&
    name.endsWith(".lease") &&
    /^[0-9a-f]{16}$/.test(name.slice(basename(path).length + 1, -".lease".length))
  const readLease = (id: string) => readLeaseAt(leasePath(id))
  const readLeaseAt = (file: string) =>
    Effect.flatMap(
      io("read lease", () => {
        try {
          return fs.readFileSync(file, "utf8")
        } catch (error) {
          if (isErrno(error, "ENOENT")) return undefined
          throw error
        }
      }),
      (text) =>
        text === undefined
          ? Effect.succeed(undefined)
          : Effect.catchAll(Schema.decodeUnknown(LeaseFile)(text), () =>
              // Cut short by a crash, it names no holder: once older than any lease, it holds none.
              Effect.flatMap(
                io("read lease", () => fs.statSync(file, { throwIfNoEntry: false })),
                (stat) =>
                  stat === undefined || Date.now() - stat.mtimeMs > STALE_LOCK_MS
                    ? Effect.succeed(undefined)
                    : Effect.fail(
                        fail(
                          "locked",
                          `its lease file ${file} is unreadable; it is taken over once ${STALE_LOCK_MS / 1000} s old, or remove it`,
                        ),
                      ),
              ),
            ),
    )
  const writeLease = (id: string, state: Leases.LeaseState) =>
    io("write lease", () => {
      const temporary = `${leasePath(id)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
      fs.writeFileSync(temporary, JSON.stringify(state), { mode: 0o600, flag: "wx" })
      try {
        fs.renameSync(temporary, leasePath(id))
      } catch (error) {
        fs.rmSync(temporary, { force: true })
        throw error
      }
    })

  /**
   * Lease files of what the document no longer holds (a login finished and
   * removed, an account logged out), once free; a held one stays, whatever
   * it is for. Run under the lock, so no lease is taken meanwhile: without
   * it every login would leave a file behind for good.
   */
  const removeDeadLeases = Effect.gen(function* () {
    const file = yield* readFile
    const loaded =
      file === undefined ? empty : cache?.text === file.text ? cache : yield* open(file.text, file.identity)
    // By name, as the directory lists them: `path` need not be in normal form ("./", "//"), and a
    // path joined from the listing would never equal a live one's, whose lease file would go.
    const live = new Set([
      ...[...loaded.accounts].flatMap(([id, record]) => (record.value === undefined ? [] : [leaseName(id)])),
      ...[...loaded.logins].flatMap(([id, record]) =>
        record.value === undefined ? [] : [leaseName(recordLeaseId(id))],
      ),
    ])
    const now = yield* Clock.currentTimeMillis
    const names = yield* Effect.promise(() => fs.promises.readdir(dirname(path)).catch(() => [] as Array<string>))
    for (const name of names) {
      if (!isLeaseFile(name) || live.has(name)) continue
      const full = join(dirname(path), name)
      // One damaged or unreadable lease file is left as it is; the sweep goes on past it.
      yield* Effect.ignore(
        Effect.flatMap(readLeaseAt(full), (lease) =>
          lease !== undefined && (lease.owner === "" || lease.expiresAt <= now)
            ? io("remove", () => fs.rmSync(full, { force: true }))
            : Effect.void,
        ),
      )
    }
  }).pipe(Effect.ignore)

  // At the first write, and at most once a minute after: a long-lived writer cleans up too.
  const cleanOnce = Effect.runSync(Effect.cachedWithTTL(Effect.zipRight(removeOrphans, removeDeadLeases), "1 minute"))

  const leaseBackend: Leases.Backend = {
    location: path,
    tryAcquire: (id, holder, ttlMs, now, replacing) =>
      locked(
        Effect.gen(function* () {
          yield* cleanOnce
          const current = yield* readLease(id)
          const free = current === undefined || current.owner === "" || current.expiresAt <= now
          if (!free && current.owner !== replacing) return { _tag: "Held", by: current } as const
          const fence = (current?.fence ?? 0) + 1
          yield* writeLease(id, { ...holder, fence, expiresAt: leaseEnd(now, ttlMs) })
          return { _tag: "Acquired", fence } as const
        }),
      ),
    renew: (lease, ttlMs, now) =>
      locked(
        Effect.gen(function* () {
          const current = yield* readLease(lease.key)
          if (current?.owner !== lease.owner || current.fence !== lease.fence) return false
          yield* writeLease(lease.key, { ...current, expiresAt: leaseEnd(now, ttlMs) })
          return true
        }),
      ),
    release: (lease) =>
      locked(
        Effect.gen(function* () {
          const current = yield* readLease(lease.key)
          if (current?.owner === lease.owner && current.fence === lease.fence) {
            yield* writeLease(lease.key, { ...current, owner: "", expiresAt: 0 })
          }
        }),
      ),
  }
  const leases = Leases.make(leaseBackend, hooks.identity)

  /**
   * Under the lock: reads the latest document, lets `change` compute a
   * result and maybe the next accounts and logins, and writes them.
   */
  const commit = <A>(
    change: (
      loaded: Loaded,
    ) => Effect.Effect<
      readonly [A, { readonly accounts?: Accounts; readonly logins?: PendingLogins } | undefined],
      TokenStoreError | StoreConflict
    >,
  ) =>
    locked(
      Effect.gen(function* () {
        yield* cleanOnce
        const loaded = yield* loadFresh
        const [result, next] = yield* change(loaded)
        if (next === undefined) return result
        const accounts = next.accounts ?? loaded.accounts
        // A removed login keeps no version: its id is random and never comes back, so nothing can confuse
        // it with a newer one, and a version kept per login ever made would grow the document for good.
        const logins = withoutRemoved(next.logins ?? loaded.logins)
        const revision = loaded.revision + 1
        const salt = sealer === undefined ? undefined : (loaded.salt ?? Sealing.newSalt())
        const text = `${JSON.stringify(yield* seal(accounts, logins, revision, salt), null, 2)}\n`
        const identity = yield* writeAtomically(text)
        cache = { identity, text, revision, salt, accounts, logins }
        return result
      }),
    )

  const write = (key: TokenStore.AccountKey, token: TokenSet | undefined, options: TokenStore.WriteOptions = {}) =>
    commit((loaded) =>
      Effect.gen(function* () {
        const id = keyOf(key)
        const current = loaded.accounts.get(id)
        const lease = options.lease === undefined ? undefined : yield* readLease(id)
        yield* checkWrite(key, current?.version ?? 0, lease, options)
        const existed = current?.value !== undefined
        if (token === undefined && !existed) return [{ existed, version: current?.version ?? 0 }, undefined] as const
        const version = (current?.version ?? 0) + 1
        return [
          { existed, version },
          { accounts: new Map(loaded.accounts).set(id, { version, value: token }) },
        ] as const
      }),
    )

  const writeRecord = (id: string, value: unknown, options: TokenStore.RecordWriteOptions = {}) =>
    commit((loaded) =>
      Effect.gen(function* () {
        const current = loaded.logins.get(id)
        const lease = options.lease === undefined ? undefined : yield* readLease(recordLeaseId(id))
        yield* checkWrite(recordKey(id), current?.version ?? 0, lease, options)
        const existed = current?.value !== undefined
        if (value === undefined && !existed) return [{ existed, version: current?.version ?? 0 }, undefined] as const
        const version = (current?.version ?? 0) + 1
        const stored = value === undefined ? undefined : (JSON.parse(encodeValue(value)) as unknown)
        return [{ existed, version }, { logins: new Map(loaded.logins).set(id, { version, value: stored }) }] as const
      }),
    )
  const recordOf = (id: string, record: Record<unknown> | undefined): Option.Option<TokenStore.RecordEntry> =>
    record?.value === undefined ? Option.none() : Option.some({ id, value: record.value, version: record.version })
  const logins = makeRecords({
    read: (id, fresh) => Effect.map(fresh ? loadFresh : loadCached, (loaded) => recordOf(id, loaded.logins.get(id))),
    list: Effect.map(loadCached, (loaded) =>
      [...loaded.logins].flatMap(([id, record]) => Option.toArray(recordOf(id, record))),
    ),
    write: writeRecord,
    leases,
  })

  return {
    leaseBackend,
    logins,
    info: { kind: "file", location: path, encrypted: key !== undefined },
    get: (key, options) =>
      Effect.map(options?.fresh === true ? loadFresh : loadCached, (loaded) => {
        const record = loaded.accounts.get(keyOf(key))
        return record?.value === undefined
          ? Option.none()
          : Option.some({ token: record.value, version: record.version })
      }),
    set: (key, token, options) => Effect.map(write(key, token, options), ({ version }) => ({ token, version })),
    remove: (key, options) => Effect.map(write(key, undefined, options), ({ existed }) => existed),
    list: Effect.map(loadCached, (loaded) =>
      [...loaded.accounts].flatMap(([id, record]) =>
        record.value === undefined ? [] : [{ ...splitKey(id), token: record.value, version: record.version }],
      ),
    ),
    acquire: (key, options) =>
      Effect.map(leases.acquire(keyOf(key), options), (lease) => ({ key, owner: lease.owner, fence: lease.fence })),
  }
}
