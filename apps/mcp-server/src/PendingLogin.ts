/**
 * A pending login as a plain record: everything finishing it needs from the
 * provider's side (state, PKCE verifier, device code, redirect URI, expiry)
 * and nothing that lives only in this process. Records are kept behind
 * `PendingLoginStore`, so that keeping them in the token store (and across
 * restarts) is a matter of another implementation.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

export const PendingLogin = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  account: Schema.String,
  /** What was asked for (scope, options): the same request again gets this login back. */
  request: Schema.String,
  flow: Schema.Literal("device_code", "authorization_code"),
  state: Schema.optional(Schema.String),
  codeVerifier: Schema.optional(Schema.Redacted(Schema.String)),
  deviceCode: Schema.optional(Schema.Redacted(Schema.String)),
  redirectUri: Schema.optional(Schema.String),
  expiresAt: Schema.DateTimeUtc,
})

export type PendingLogin = typeof PendingLogin.Type

/** The record as it would be written (Redacted values as their text: encrypt the whole, as tokens are). */
export const encode = Schema.encode(PendingLogin)
export const decode = Schema.decodeUnknown(PendingLogin)

export interface PendingLoginStore {
  readonly put: (login: PendingLogin) => Effect.Effect<void>
  readonly get: (id: string) => Effect.Effect<Option.Option<PendingLogin>>
  readonly remove: (id: string) => Effect.Effect<void>
}

/** Records in this process only: they end with it. */
export const memoryStore: Effect.Effect<PendingLoginStore> = Effect.map(
  Ref.make(new Map<string, PendingLogin>()),
  (records) => ({
    put: (login) => Ref.update(records, (all) => new Map(all).set(login.id, login)),
    get: (id) => Effect.map(Ref.get(records), (all) => Option.fromNullable(all.get(id))),
    remove: (id) =>
      Ref.update(records, (all) => {
        const next = new Map(all)
        next.delete(id)
        return next
      }),
  }),
)
