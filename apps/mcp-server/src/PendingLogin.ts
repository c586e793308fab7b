/**
 * A pending login as a plain record: everything finishing it needs from the
 * provider's side (state, PKCE verifier, device code, redirect URI, expiry),
 * what the login tool shows for it again, and, once settled, its outcome.
 * Records live in the token store (`TokenStore.logins`), sealed with the
 * store key like tokens, so that a restarted server or another replica on
 * the same store can finish a login this one started.
 */
import { OAuthError, type TokenStore } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Forbidden, UnknownLogin } from "./errors.js"

/** The errors a login can end with, as they are recorded for other processes. */
export const Failure = Schema.Union(
  OAuthError.InvalidToken,
  OAuthError.ConnectionError,
  OAuthError.Timeout,
  OAuthError.OAuthProtocolError,
  OAuthError.InvalidResponse,
  OAuthError.HttpError,
  OAuthError.StateMismatch,
  OAuthError.NotLoggedIn,
  OAuthError.NotConfigured,
  OAuthError.NotSupported,
  OAuthError.InvalidInput,
  OAuthError.TokenStoreError,
  Forbidden,
  UnknownLogin,
)

/**
 * How a login ended: its tokens were saved to the account (they are read
 * from there, never copied here), or this error.
 */
export const Outcome = Schema.Union(
  Schema.TaggedStruct("Finished", {}),
  Schema.TaggedStruct("Failed", { error: Failure }),
)

export type Outcome = typeof Outcome.Type

export const PendingLogin = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  account: Schema.String,
  /** What was asked for (scope, options): the same request again gets this login back. */
  request: Schema.String,
  flow: Schema.Literal("device_code", "authorization_code"),
  /**
   * The scope the login asked for, which a token answer naming none grants
   * (RFC 6749 §5.1): a process taking the login over passes it on when it
   * polls or redeems. Absent when none was asked for. Records of earlier
   * versions have none: `decode` reads it from their `request` then.
   */
  scope: Schema.optional(Schema.String),
  state: Schema.optional(Schema.String),
  codeVerifier: Schema.optional(Schema.Redacted(Schema.String)),
  deviceCode: Schema.optional(Schema.Redacted(Schema.String)),
  redirectUri: Schema.optional(Schema.String),
  /**
   * Where on this machine the redirect arrives, as the core said when the
   * login started (`RedirectPending.callback`). Absent from records of
   * earlier versions, and for a redirect URI that is not a loopback one.
   */
  callback: Schema.optional(Schema.Struct({ port: Schema.Number, path: Schema.String })),
  /**
   * The `Provider.source` of the settings that started it: a server on the
   * same store with other settings (a sandbox) leaves it alone, since its
   * device code or redirect would go to that server's origins. Absent from
   * records of earlier versions.
   */
  source: Schema.optional(Schema.String),
  expiresAt: Schema.DateTimeUtc,
  /** When it started. */
  startedAt: Schema.optional(Schema.DateTimeUtc),
  /**
   * When the tokens its code (or device code) brought were received,
   * written before they are saved: a process taking the login over whose
   * redemption is refused (`invalid_grant`) knows from it that the tokens
   * the account received since are this login's (or a refresh of them),
   * and not a refresh of an earlier login.
   */
  redeemedAt: Schema.optional(Schema.DateTimeUtc),
  /** Device logins: the polling interval, and what the user is shown. */
  interval: Schema.optional(Schema.DurationFromMillis),
  userCode: Schema.optional(Schema.String),
  verificationUri: Schema.optional(Schema.String),
  verificationUriComplete: Schema.optional(Schema.String),
  /** Authorization-code logins: the URL the user opens. */
  authorizationUrl: Schema.optional(Schema.String),
  /** Set once, by whoever settled the login first; the record is kept until `keepFinished` past its expiry. */
  outcome: Schema.optional(Outcome),
})

export type PendingLogin = typeof PendingLogin.Type

/**
 * The record as it is written (Redacted values as their text: the store
 * seals the whole, as it does tokens). Effect compiles a schema's parser
 * once, on the first call, and keeps it: made here at module level, they
 * would be compiled at every start, logins or not.
 */
export const encode = (login: PendingLogin) => Schema.encode(PendingLogin)(login)
export const decode = (value: unknown) =>
  Effect.map(Schema.decodeUnknown(PendingLogin)(value), (login) =>
    login.scope !== undefined ? login : withScope(login, requestedScope(login.request)),
  )

/** What the login tool writes as a login's `request`, as far as its scope goes. */
const Request = Schema.parseJson(Schema.Struct({ scope: Schema.optional(Schema.String) }))

/**
 * The scope a `request` asked for, for a record of an earlier version,
 * written without `scope`: none for a blank one (the core leaves it out of
 * the request, as it is recorded), or for a request that is no such JSON.
 */
const requestedScope = (request: string): string | undefined => {
  const scope = Option.getOrUndefined(Schema.decodeUnknownOption(Request)(request))?.scope
  return scope === undefined || scope.trim() === "" ? undefined : scope
}

const withScope = (login: PendingLogin, scope: string | undefined): PendingLogin =>
  scope === undefined ? login : { ...login, scope }

export interface Entry {
  readonly login: PendingLogin
  readonly version: number
}

/** A record this code cannot read (written by another version, or damaged) counts as absent. */
const entryOf = (entry: TokenStore.RecordEntry): Effect.Effect<Option.Option<Entry>> =>
  decode(entry.value).pipe(
    Effect.map((login) => Option.some({ login, version: entry.version })),
    Effect.catchAll(() =>
      Effect.as(Effect.logWarning(`Pending login record ${entry.id} cannot be read; it is ignored.`), Option.none()),
    ),
  )

export interface Store {
  readonly get: (id: string) => Effect.Effect<Option.Option<Entry>, OAuthError.TokenStoreError>
  readonly list: Effect.Effect<ReadonlyArray<Entry>, OAuthError.TokenStoreError>
  readonly put: (
    login: PendingLogin,
    options?: TokenStore.RecordWriteOptions,
  ) => Effect.Effect<Entry, OAuthError.TokenStoreError | TokenStore.StoreConflict>
  readonly remove: (
    id: string,
    options?: TokenStore.RecordWriteOptions,
  ) => Effect.Effect<boolean, OAuthError.TokenStoreError | TokenStore.StoreConflict>
  readonly acquire: TokenStore.Records["acquire"]
}

/** Pending logins in the token store's records; reads are always fresh, as another process may have written. */
export const store = (records: TokenStore.Records): Store => ({
  get: (id) =>
    Effect.flatMap(
      records.get(id, { fresh: true }),
      Option.match({ onNone: () => Effect.succeedNone, onSome: entryOf }),
    ),
  list: Effect.flatMap(records.list, (all) =>
    Effect.map(Effect.forEach(all, entryOf), (entries) => entries.flatMap(Option.toArray)),
  ),
  put: (login, options) =>
    encode(login).pipe(
      Effect.orDie, // every field is of a schema that encodes
      Effect.flatMap((value) => records.set(login.id, value, options)),
      Effect.map((written) => ({ login, version: written.version })),
    ),
  remove: records.remove,
  acquire: records.acquire,
})
