/**
 * The memory backend: records and leases in maps. Several handles made on
 * one state act as several processes sharing a store, which is how the
 * conformance suite drives it.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { TokenSet } from "../Token.js"
import type * as TokenStore from "../TokenStore.js"
import * as Leases from "./leases.js"
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

export interface State {
  readonly records: Map<string, Record<TokenSet>>
  /** Pending logins: JSON text, as the other backends keep them. */
  readonly logins: Map<string, Record<string>>
  readonly leases: Map<string, Leases.LeaseState>
}

export const makeState = (): State => ({ records: new Map(), logins: new Map(), leases: new Map() })

export const leaseBackend = (state: State, location = "memory"): Leases.Backend => ({
  location,
  tryAcquire: (key, holder, ttlMs, now, replacing) =>
    Effect.sync(() => {
      const current = state.leases.get(key)
      const free = current === undefined || current.owner === "" || current.expiresAt <= now
      if (!free && current.owner !== replacing) return { _tag: "Held", by: current } as const
      const fence = (current?.fence ?? 0) + 1
      state.leases.set(key, { ...holder, fence, expiresAt: now + ttlMs })
      return { _tag: "Acquired", fence } as const
    }),
  renew: (lease, ttlMs, now) =>
    Effect.sync(() => {
      const current = state.leases.get(lease.key)
      if (current?.owner !== lease.owner || current.fence !== lease.fence) return false
      state.leases.set(lease.key, { ...current, expiresAt: now + ttlMs })
      return true
    }),
  release: (lease) =>
    Effect.sync(() => {
      const current = state.leases.get(lease.key)
      if (current?.owner === lease.owner && current.fence === lease.fence) {
        state.leases.set(lease.key, { ...current, owner: "", expiresAt: 0 })
      }
    }),
})

export const make = (state: State, identity?: Leases.Identity): WithLeaseBackend => {
  const backend = leaseBackend(state)
  const leases = Leases.make(backend, identity)
  const write = (key: TokenStore.AccountKey, token: TokenSet | undefined, options: TokenStore.WriteOptions = {}) =>
    Effect.suspend(() => {
      const id = keyOf(key)
      const current = state.records.get(id)
      return Effect.map(checkWrite(key, current?.version ?? 0, state.leases.get(id), options), () => {
        const existed = current?.value !== undefined
        if (token === undefined && !existed) return { existed, version: current?.version ?? 0 }
        const version = (current?.version ?? 0) + 1
        state.records.set(id, { version, value: token })
        return { existed, version }
      })
    })
  const writeRecord = (id: string, value: unknown, options: TokenStore.RecordWriteOptions = {}) =>
    Effect.suspend(() => {
      const current = state.logins.get(id)
      const lease = state.leases.get(recordLeaseId(id))
      return Effect.map(checkWrite(recordKey(id), current?.version ?? 0, lease, options), () => {
        const existed = current?.value !== undefined
        if (value === undefined && !existed) return { existed, version: current?.version ?? 0 }
        const version = (current?.version ?? 0) + 1
        state.logins.set(id, { version, value: value === undefined ? undefined : encodeValue(value) })
        return { existed, version }
      })
    })
  const entryOf = (id: string, record: Record<string> | undefined): Option.Option<TokenStore.RecordEntry> =>
    record?.value === undefined
      ? Option.none()
      : Option.some({ id, value: JSON.parse(record.value) as unknown, version: record.version })
  const logins = makeRecords({
    read: (id) => Effect.sync(() => entryOf(id, state.logins.get(id))),
    list: Effect.sync(() => [...state.logins].flatMap(([id, record]) => Option.toArray(entryOf(id, record)))),
    write: writeRecord,
    leases,
  })
  return {
    leaseBackend: backend,
    logins,
    info: { kind: "memory", location: "memory", encrypted: false },
    get: (key) =>
      Effect.sync(() => {
        const record = state.records.get(keyOf(key))
        return record?.value === undefined
          ? Option.none()
          : Option.some({ token: record.value, version: record.version })
      }),
    set: (key, token, options) => Effect.map(write(key, token, options), ({ version }) => ({ token, version })),
    remove: (key, options) => Effect.map(write(key, undefined, options), ({ existed }) => existed),
    list: Effect.sync(() =>
      [...state.records].flatMap(([id, record]) =>
        record.value === undefined ? [] : [{ ...splitKey(id), token: record.value, version: record.version }],
      ),
    ),
    acquire: (key, options) =>
      Effect.map(leases.acquire(keyOf(key), options), (lease) => ({ key, owner: lease.owner, fence: lease.fence })),
  }
}
