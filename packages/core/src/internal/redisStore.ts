/**
 * The Redis/Valkey backend, through the official client (`@redis/client`,
 * the core of node-redis: kept by Redis, no dependencies of its own).
 *
 * Keys (after the prefix): `account:<provider>/<account>`, a hash of the
 * record's `version` and sealed `value` (removal deletes the value and
 * keeps the version); `accounts`, the set of ids with a value;
 * `lease:<id>`, a hash of owner, pid, host, fence and expiry; `meta`, the
 * store's key-derivation salt and key check (present once a keyed replica
 * opened it: from then on a write without the key is refused). Every conditional write and lease step is
 * one Lua script, so it is atomic.
 */
import { createClient, ErrorReply } from "@redis/client"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { TokenSet } from "../Token.js"
import type * as TokenStore from "../TokenStore.js"
import * as Leases from "./leases.js"
import * as Sealing from "./sealing.js"
import * as SingleFlight from "./singleFlight.js"
import { StoreConflict, TokenStoreError } from "./storeErrors.js"
import {
  decodeToken,
  encodeToken,
  encodeValue,
  keyOf,
  makeRecords,
  recordKey as recordConflictKey,
  recordLeaseId,
  splitKey,
  type WithLeaseBackend,
} from "./storeRecords.js"

/** A store command that takes longer than this finds the server unreachable. */
const COMMAND_TIMEOUT = "5 seconds"

// A writer without a key (ARGV[7] '0') may have opened the store before a keyed
// one sealed it: it is refused at every write, so it never stores plaintext there.
// A keyed writer puts back the salt and key check (ARGV[9], ARGV[10]) lost with the
// data (FLUSHALL, a restart without persistence), so that none comes in without the
// key, unless a writer without the key has written since (records in either index,
// KEYS[5] and KEYS[6]): the store is then plaintext (-6); one that finds another salt
// was opened on a store since made anew (-5).
// A version that is no number is damage (-4), not a conflict.
const WRITE = `
if ARGV[7] == '0' and redis.call('HEXISTS', KEYS[4], 'check') == 1 then return {-3, 0} end
if ARGV[7] == '1' then
  local salt = redis.call('HGET', KEYS[4], 'salt')
  if not salt then
    if redis.call('SCARD', KEYS[5]) + redis.call('SCARD', KEYS[6]) > 0 then return {-6, 0} end
    redis.call('HSET', KEYS[4], 'salt', ARGV[9], 'check', ARGV[10])
  elseif salt ~= ARGV[9] then
    return {-5, 0}
  end
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version == nil then return {-4, 0} end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= version then return {-1, 0} end
if ARGV[5] ~= '' then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'fence')
  if lease[1] ~= ARGV[5] or lease[2] ~= ARGV[6] then return {-2, 0} end
end
local existed = redis.call('HEXISTS', KEYS[1], 'value')
if ARGV[2] == '0' then
  if existed == 0 then return {version, 0} end
  redis.call('HDEL', KEYS[1], 'value')
  redis.call('SREM', KEYS[2], ARGV[1])
  -- A removed login's lease goes with it, whoever holds it: one whose holder died is never let go.
  if ARGV[8] ~= '' then
    redis.call('PEXPIRE', KEYS[1], ARGV[8])
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
  end
else
  redis.call('HSET', KEYS[1], 'value', ARGV[3])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('PERSIST', KEYS[1])
end
return {redis.call('HINCRBY', KEYS[1], 'version', 1), existed}
`

// A lease's expiry is the Redis server's time plus its ttl (ARGV[4], ms), and judged by that
// time: replicas' clocks may be off by more than a ttl (a VM resumed, NTP not yet synced), and one
// judging by its own would take over a lease still held, or write one expired already. A lease's
// key loses its time to live when taken (a volatile-* eviction policy picks only keys that have
// one), and a renewal leaves it be: removing a pending login gives its lease one again.
const serverNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

const ACQUIRE = `${serverNow}
local l = redis.call('HMGET', KEYS[1], 'owner', 'pid', 'host', 'fence', 'expiresAt', 'started')
local owner = l[1] or ''
if owner ~= '' and tonumber(l[5] or '0') > now and owner ~= ARGV[5] then
  return {'held', owner, l[2] or '0', l[3] or '', l[4] or '0', l[5] or '0', l[6] or ''}
end
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'pid', ARGV[2], 'host', ARGV[3], 'started', ARGV[6], 'expiresAt', tostring(now + tonumber(ARGV[4])))
redis.call('PERSIST', KEYS[1])
return {'acquired', tostring(fence)}
`

const RENEW = `${serverNow}
local l = redis.call('HMGET', KEYS[1], 'owner', 'fence')
if l[1] ~= ARGV[1] or l[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'expiresAt', tostring(now + tonumber(ARGV[3])))
return 1
`

const RELEASE = `
local l = redis.call('HMGET', KEYS[1], 'owner', 'fence')
if l[1] == ARGV[1] and l[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'owner', '', 'expiresAt', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`

/**
 * How long what is done with lasts: a lease after its holder let it go (or
 * stopped renewing it), a pending login's record after its removal (its
 * version, so that no stale conditional write meets a newer record of that
 * id meanwhile). Then it expires, so a store that has seen many logins
 * does not keep a key per login for good. Accounts' records stay.
 */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000

/** A ttl as the scripts take it: whole milliseconds, one past any date a lease could reach held for ever. */
const ttlArgument = (ttlMs: number): string => String(Math.min(Math.ceil(ttlMs), 1e13))

/**
 * Says so when the server may evict what the store keeps: under an
 * `allkeys-*` policy a login (its refresh token with it) or a held lease
 * can go under memory pressure. The `volatile-*` ones take only keys with
 * a time to live, which logins and held leases do not have. A server that
 * does not answer `INFO` (an ACL) is not asked again.
 */
const warnOfEviction = <E>(location: string, info: Effect.Effect<string, E>): Effect.Effect<void> =>
  info.pipe(
    Effect.flatMap((text) => {
      const policy = /maxmemory_policy:(\S+)/.exec(text)?.[1]
      return policy?.startsWith("allkeys") === true
        ? Effect.logWarning(
            `The token store ${location} may evict logins and leases under memory pressure: its maxmemory-policy is ${policy}. Set it to noeviction (or a volatile-* policy), or give the store a Redis of its own.`,
          )
        : Effect.void
    }),
    Effect.ignore,
  )

// Seals a store that has no key check yet, if it holds no record: with a new salt and the check
// sealed under it (ARGV[1], ARGV[2]). A store that holds records and no salt was written without
// a key; one with a salt and no check gets its check from the caller.
const SEAL = `
local salt = redis.call('HGET', KEYS[1], 'salt')
if salt then return {'salted', salt} end
if redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3]) > 0 then return {'unencrypted', ''} end
redis.call('HSET', KEYS[1], 'salt', ARGV[1], 'check', ARGV[2])
return {'sealed', ARGV[1]}
`
const SealReply = Schema.Tuple(Schema.Literal("sealed", "salted", "unencrypted"), Schema.String)

const WriteReply = Schema.Tuple(Schema.Number, Schema.Number)
const AcquireReply = Schema.Union(
  Schema.Tuple(Schema.Literal("acquired"), Schema.NumberFromString),
  Schema.Tuple(
    Schema.Literal("held"),
    Schema.String,
    Schema.NumberFromString,
    Schema.String,
    Schema.NumberFromString,
    Schema.NumberFromString,
    Schema.String,
  ),
)
const Fields = Schema.Tuple(Schema.NullOr(Schema.String), Schema.NullOr(Schema.String))
const Members = Schema.Array(Schema.String)
const SealedValue = Schema.parseJson(Sealing.Sealed)

/** The URL without user, password, query or fragment (`?password=`), to name the store in messages and `list_providers`. */
export const locationOf = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    parsed.search = ""
    parsed.hash = ""
    return parsed.toString()
  } catch {
    return "(a Redis URL that does not parse)"
  }
}

export const make = (
  options: TokenStore.RedisOptions,
  identity?: Leases.Identity,
): Effect.Effect<WithLeaseBackend, TokenStoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const address = locationOf(Redacted.value(options.url))
    const location = `Redis ${address}`
    const prefix = options.prefix ?? "hyperauth:"
    const fail = (reason: TokenStoreError["reason"], detail?: string) =>
      new TokenStoreError({ path: location, reason, detail })
    // Error texts of the client name hosts and ports, never the URL's password.
    const describeError = (error: unknown) =>
      error instanceof Error ? error.message.replaceAll(Redacted.value(options.url), location) : "unknown error"

    // The latest connection trouble the client reported, to say why it gave no answer.
    const trouble = { last: "no answer" }
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const created = createClient({
          url: Redacted.value(options.url),
          socket: {
            connectTimeout: 5_000,
            reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
          },
        })
        // The client reports connection trouble as events; commands fail on their own.
        created.on("error", (error: unknown) => {
          trouble.last = describeError(error)
        })
        return created
      }),
      (client) =>
        client.isReady
          ? Effect.ignore(Effect.tryPromise(() => client.close()))
          : // Never connected: stop its reconnection attempts.
            Effect.sync(() => client.destroy()),
    )
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (error) => fail("unreachable", describeError(error)),
    }).pipe(
      Effect.timeoutFail({
        duration: COMMAND_TIMEOUT,
        onTimeout: () => fail("unreachable", `${trouble.last}, for 5 s`),
      }),
    )

    /** What a failed command says: an answer of the server's (an error reply) is no trouble reaching it. */
    const commandFailure = (error: unknown) =>
      error instanceof ErrorReply
        ? error.message.includes("WRONGTYPE")
          ? fail("corrupted", "a key holds another kind of value than hyperauth writes there")
          : fail("refused", describeError(error))
        : fail("unreachable", describeError(error))
    const command = <A>(run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: commandFailure }).pipe(
        Effect.timeoutFail({ duration: COMMAND_TIMEOUT, onTimeout: () => fail("unreachable", "no answer") }),
      )
    const decodeReply = <A, I>(schema: Schema.Schema<A, I>, reply: unknown) =>
      Effect.mapError(Schema.decodeUnknown(schema)(reply), () => fail("corrupted", "an unexpected reply"))
    const evaluate = <A, I>(schema: Schema.Schema<A, I>, script: string, keys: Array<string>, args: Array<string>) =>
      Effect.flatMap(
        command(() => client.eval(script, { keys, arguments: args })),
        (reply) => decodeReply(schema, reply),
      )

    const recordKey = (id: string) => `${prefix}account:${id}`
    const indexKey = `${prefix}accounts`
    const leaseKey = (id: string) => `${prefix}lease:${id}`
    const aadOf = (id: string) => `hyperauth-token-store:redis:v1:${id}`
    const loginKey = (id: string) => `${prefix}login:${id}`
    const loginIndexKey = `${prefix}logins`

    // One salt for the whole store, so each process derives its key once; and a
    // value sealed with the store's key, so a replica with another key, or none,
    // refuses the store at start instead of writing what the others cannot read.
    const sealer = options.key === undefined ? undefined : Sealing.make(options.key)
    const metaKey = `${prefix}meta`
    const checkText = "hyperauth-token-store"
    const readMeta = Effect.flatMap(
      command(() => client.hmGet(metaKey, ["salt", "check"])),
      (reply) => decodeReply(Fields, reply),
    )
    const meta = yield* Effect.gen(function* () {
      const [storedSalt, storedCheck] = yield* readMeta
      if (sealer === undefined) {
        if (storedSalt !== null || storedCheck !== null) return yield* fail("key_required")
        return undefined
      }
      if (storedCheck === null) {
        // Looked at and sealed in one step: a replica without the key writing in between would
        // leave a plaintext record beside the seal (and have its writes let in from then on).
        const fresh = Sealing.newSalt()
        const [outcome, salt] = yield* evaluate(
          SealReply,
          SEAL,
          [metaKey, indexKey, loginIndexKey],
          [fresh, JSON.stringify(sealer.seal(checkText, "meta", fresh))],
        )
        if (outcome === "unencrypted") return yield* fail("unencrypted")
        // A salt without its check (an older version stopped between the two): the check is added.
        if (outcome === "salted") {
          yield* command(() => client.hSetNX(metaKey, "check", JSON.stringify(sealer.seal(checkText, "meta", salt))))
        }
      }
      const [salt, check] = yield* readMeta
      const sealed = Schema.decodeUnknownOption(SealedValue)(check ?? "")
      if (salt === null || Option.isNone(sealed)) return yield* fail("corrupted", "its key check is damaged")
      const opened = yield* Effect.either(sealer.open(sealed.value, "meta"))
      if (opened._tag === "Left" || opened.right !== checkText) return yield* fail("wrong_key")
      return { salt, check: check ?? "" }
    })
    const salt = meta?.salt
    yield* warnOfEviction(
      location,
      command(() => client.info("memory")),
    )

    const sealText = (aad: string, plain: string): string =>
      sealer === undefined ? plain : JSON.stringify(sealer.seal(plain, aadOf(aad), salt))
    const sealValue = (id: string, token: TokenSet): string => sealText(id, encodeToken(token))

    /** The text a stored value seals; refuses a plaintext value where a key is set. */
    const openText = (aad: string, raw: string): Effect.Effect<string, TokenStoreError> => {
      const sealed = Schema.decodeUnknownOption(SealedValue)(raw)
      if (Option.isSome(sealed)) {
        return sealer === undefined
          ? Effect.fail(fail("key_required"))
          : Effect.mapError(sealer.open(sealed.value, aadOf(aad)), () => fail("wrong_key"))
      }
      // A plaintext value where a key is set may be planted: never trust it.
      return sealer === undefined ? Effect.succeed(raw) : Effect.fail(fail("unencrypted"))
    }

    // Values decoded once per distinct stored text.
    const decoded = new Map<string, { readonly raw: string; readonly token: TokenSet }>()
    const openValue = (id: string, raw: string): Effect.Effect<TokenSet, TokenStoreError> =>
      Effect.gen(function* () {
        const cached = decoded.get(id)
        if (cached?.raw === raw) return cached.token
        const plain = yield* openText(id, raw)
        const token = yield* Effect.mapError(decodeToken(plain), () =>
          fail("corrupted", `the value of ${id} does not decode`),
        )
        decoded.set(id, { raw, token })
        return token
      })

    const readRecord = (id: string) =>
      Effect.gen(function* () {
        const [version, value] = yield* decodeReply(
          Fields,
          yield* command(() => client.hmGet(recordKey(id), ["version", "value"])),
        )
        if (value === null) return Option.none<TokenStore.Entry>()
        return Option.some({ token: yield* openValue(id, value), version: Number(version ?? "0") })
      })
    const sharedReads = SingleFlight.make<string, Option.Option<TokenStore.Entry>, TokenStoreError>()

    /** One conditional write of a record (`value` undefined: its removal), as one script. */
    const writeScript = (
      keys: { readonly record: string; readonly index: string; readonly lease: string },
      conflictKey: TokenStore.AccountKey,
      member: string,
      value: string | undefined,
      options: {
        readonly ifVersion?: number | undefined
        readonly lease?: { owner: string; fence: number } | undefined
      },
      /** Whether a removed record expires (`FORGET_AFTER_MS`): a pending login's does, an account's stays. */
      forget = false,
    ) =>
      Effect.gen(function* () {
        const [version, existed] = yield* evaluate(
          WriteReply,
          WRITE,
          [keys.record, keys.index, keys.lease, metaKey, indexKey, loginIndexKey],
          [
            member,
            value === undefined ? "0" : "1",
            value ?? "",
            options.ifVersion === undefined ? "" : String(options.ifVersion),
            options.lease?.owner ?? "",
            options.lease === undefined ? "" : String(options.lease.fence),
            sealer === undefined ? "0" : "1",
            forget ? String(FORGET_AFTER_MS) : "",
            meta?.salt ?? "",
            meta?.check ?? "",
          ],
        )
        if (version === -5)
          return yield* fail("corrupted", "it was made anew since this process opened it; start this process again")
        if (version === -4) return yield* fail("corrupted", `the version of ${member} is not a number`)
        if (version === -6) return yield* fail("unencrypted")
        if (version === -1) return yield* new StoreConflict({ ...conflictKey, reason: "version" })
        if (version === -2) return yield* new StoreConflict({ ...conflictKey, reason: "lease" })
        if (version === -3) return yield* fail("key_required")
        return { version, existed: existed === 1 }
      })

    const write = (key: TokenStore.AccountKey, token: TokenSet | undefined, options: TokenStore.WriteOptions = {}) => {
      const id = keyOf(key)
      return writeScript(
        { record: recordKey(id), index: indexKey, lease: leaseKey(id) },
        key,
        id,
        token === undefined ? undefined : sealValue(id, token),
        options,
      )
    }

    const loginAad = (id: string) => `login:${id}`
    const writeRecord = (id: string, value: unknown, options: TokenStore.RecordWriteOptions = {}) =>
      writeScript(
        { record: loginKey(id), index: loginIndexKey, lease: leaseKey(recordLeaseId(id)) },
        recordConflictKey(id),
        id,
        value === undefined ? undefined : sealText(loginAad(id), encodeValue(value)),
        options,
        true,
      )
    const readLogin = (id: string) =>
      Effect.gen(function* () {
        const [version, raw] = yield* decodeReply(
          Fields,
          yield* command(() => client.hmGet(loginKey(id), ["version", "value"])),
        )
        if (raw === null) return Option.none<TokenStore.RecordEntry>()
        const text = yield* openText(loginAad(id), raw)
        const value = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => undefined }).pipe(
          Effect.mapError(() => fail("corrupted", `the pending login ${id} does not decode`)),
        )
        return Option.some({ id, value, version: Number(version ?? "0") })
      })
    const leaseBackend: Leases.Backend = {
      location,
      tryAcquire: (id, holder, ttlMs, _now, replacing) =>
        Effect.map(
          evaluate(
            AcquireReply,
            ACQUIRE,
            [leaseKey(id)],
            [holder.owner, String(holder.pid), holder.host, ttlArgument(ttlMs), replacing ?? "", holder.started ?? ""],
          ),
          (reply): Leases.Attempt =>
            reply[0] === "acquired"
              ? { _tag: "Acquired", fence: reply[1] }
              : {
                  _tag: "Held",
                  by: {
                    owner: reply[1],
                    pid: reply[2],
                    host: reply[3],
                    fence: reply[4],
                    expiresAt: reply[5],
                    started: reply[6] === "" ? undefined : reply[6],
                  },
                },
        ),
      renew: (lease, ttlMs, _now) =>
        Effect.map(
          evaluate(Schema.Number, RENEW, [leaseKey(lease.key)], [lease.owner, String(lease.fence), ttlArgument(ttlMs)]),
          (renewed) => renewed === 1,
        ),
      release: (lease) =>
        Effect.asVoid(
          evaluate(
            Schema.Number,
            RELEASE,
            [leaseKey(lease.key)],
            [lease.owner, String(lease.fence), String(FORGET_AFTER_MS)],
          ),
        ),
    }
    const leases = Leases.make(leaseBackend, identity)

    const logins = makeRecords({
      read: (id) => readLogin(id),
      list: Effect.gen(function* () {
        const ids = yield* decodeReply(Members, yield* command(() => client.sMembers(loginIndexKey)))
        const entries = yield* Effect.forEach(ids, readLogin, { concurrency: "unbounded" })
        return entries.flatMap(Option.toArray)
      }),
      write: writeRecord,
      leases,
    })

    const service: WithLeaseBackend = {
      leaseBackend,
      logins,
      info: { kind: "redis", location: address, encrypted: options.key !== undefined },
      get: (key, readOptions) => {
        const id = keyOf(key)
        return readOptions?.fresh === true ? readRecord(id) : sharedReads(id, readRecord(id))
      },
      set: (key, token, writeOptions) =>
        Effect.map(write(key, token, writeOptions), ({ version }) => ({ token, version })),
      remove: (key, writeOptions) => Effect.map(write(key, undefined, writeOptions), ({ existed }) => existed),
      list: Effect.gen(function* () {
        const ids = yield* decodeReply(Members, yield* command(() => client.sMembers(indexKey)))
        const entries = yield* Effect.forEach(
          ids,
          (id) =>
            Effect.map(
              readRecord(id),
              Option.map((e) => ({ id, e })),
            ),
          {
            concurrency: "unbounded",
          },
        )
        return entries.flatMap((entry) =>
          Option.match(entry, { onNone: () => [], onSome: ({ id, e }) => [{ ...splitKey(id), ...e }] }),
        )
      }),
      acquire: (key, leaseOptions) =>
        Effect.map(leases.acquire(keyOf(key), leaseOptions), (lease) => ({
          key,
          owner: lease.owner,
          fence: lease.fence,
        })),
    }
    return service
  })
