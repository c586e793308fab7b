/**
 * What every token store backend shares: record keys, versioned records,
 * the check a conditional write makes, and the JSON form of a token set.
 */
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { TokenSet } from "../Token.js"
import type { AccountKey, RecordEntry, Records, RecordWriteOptions, Service } from "../TokenStore.js"
import { lazy } from "./lazy.js"
import type { Backend, LeaseState, Leases } from "./leases.js"
import { StoreConflict, type TokenStoreError } from "./storeErrors.js"

/** One account's record: its version, and its value unless it was removed. */
export interface Record<A> {
  readonly version: number
  readonly value: A | undefined
}

export const keyOf = ({ provider, account }: AccountKey): string => `${provider}/${account}`

export const splitKey = (key: string): AccountKey => {
  const slash = key.indexOf("/")
  return { provider: key.slice(0, slash), account: key.slice(slash + 1) }
}

/**
 * Whether a conditional write may commit over a record at `version` while
 * the account's lease is `lease`.
 */
export const checkWrite = (
  key: AccountKey,
  version: number,
  lease: LeaseState | undefined,
  options: {
    readonly ifVersion?: number | undefined
    readonly lease?: { readonly owner: string; readonly fence: number } | undefined
  },
): Effect.Effect<void, StoreConflict> => {
  if (options.ifVersion !== undefined && options.ifVersion !== version) {
    return Effect.fail(new StoreConflict({ ...key, reason: "version" }))
  }
  if (options.lease !== undefined && (lease?.owner !== options.lease.owner || lease.fence !== options.lease.fence)) {
    return Effect.fail(new StoreConflict({ ...key, reason: "lease" }))
  }
  return Effect.void
}

/** A token set as stored: JSON text, secrets in the clear (the backend seals it). */
export const TokenJson = Schema.parseJson(TokenSet)
// Compiled on first use, not when the module loads: only the Redis store calls them.
const tokenEncoder = lazy(() => Schema.encodeSync(TokenJson))
const tokenDecoder = lazy(() => Schema.decodeUnknown(TokenJson))
export const encodeToken = (token: TokenSet): string => tokenEncoder()(token)
export const decodeToken = (text: unknown): Effect.Effect<TokenSet, ParseResult.ParseError> => tokenDecoder()(text)

/** A backend as its module makes it: the store, and its lease steps for the conformance suite. */
export interface WithLeaseBackend extends Service {
  readonly leaseBackend: Backend
}

/** The lease id of a record: never an account's ("provider/account" always has a slash). */
export const recordLeaseId = (id: string): string => `login:${encodeURIComponent(id)}`

/** How a conflict on a record names it. */
export const recordKey = (id: string): AccountKey => ({ provider: "pending login", account: id })

/** A record's value as stored: JSON text (the backend seals it). */
export const encodeValue = (value: unknown): string => JSON.stringify(value) ?? "null"

/** What a conditional write did: whether there was a value, and the version now. */
export interface Written {
  readonly existed: boolean
  readonly version: number
}

/**
 * A backend's `logins`, from its record steps: every backend's records
 * behave alike, whatever keeps them.
 */
export const makeRecords = (steps: {
  readonly read: (id: string, fresh: boolean) => Effect.Effect<Option.Option<RecordEntry>, TokenStoreError>
  readonly list: Effect.Effect<ReadonlyArray<RecordEntry>, TokenStoreError>
  readonly write: (
    id: string,
    value: unknown,
    options: RecordWriteOptions | undefined,
  ) => Effect.Effect<Written, TokenStoreError | StoreConflict>
  readonly leases: Leases
}): Records => ({
  get: (id, options) => steps.read(id, options?.fresh === true),
  set: (id, value, options) =>
    Effect.map(steps.write(id, value, options), ({ version }) => ({
      id,
      value: JSON.parse(encodeValue(value)) as unknown,
      version,
    })),
  remove: (id, options) => Effect.map(steps.write(id, undefined, options), ({ existed }) => existed),
  list: steps.list,
  acquire: (id, options) =>
    Effect.map(steps.leases.acquire(recordLeaseId(id), options), (lease) => ({
      id,
      owner: lease.owner,
      fence: lease.fence,
    })),
})
