/**
 * The token store's two errors, in a module that imports nothing of the
 * core, so that `TokenStore` (their public home), `OAuthError` (whose union
 * has `TokenStoreError`) and the backends all import them without a cycle.
 */
import * as Schema from "effect/Schema"

type StoreProblem =
  | "wrong_key"
  | "key_required"
  | "unencrypted"
  | "corrupted"
  | "newer_version"
  | "locked"
  | "unreachable"
  | "refused"
  | "io"

const storeProblem: Record<StoreProblem, (path: string, detail: string) => string> = {
  wrong_key: (path) =>
    `The token store ${path} cannot be decrypted with HYPERAUTH_STORE_KEY. Set the key it was written with; it was left unchanged.`,
  key_required: (path) =>
    `The token store ${path} is encrypted. Set HYPERAUTH_STORE_KEY to the key it was written with; it was left unchanged.`,
  unencrypted: (path) =>
    `The token store ${path} is not encrypted, but HYPERAUTH_STORE_KEY is set, so it is not trusted: anyone who can write it could plant a login. Unset HYPERAUTH_STORE_KEY to use it as it is, or move it aside and log in again; it was left unchanged.`,
  corrupted: (path, detail) =>
    `The token store ${path} is damaged${detail}. Move it aside (logins in it are lost) or restore a backup; it was left unchanged.`,
  newer_version: (path, detail) =>
    `The token store ${path} was written by a newer hyperauth${detail}. Upgrade hyperauth or set HYPERAUTH_STORE to another file; it was left unchanged.`,
  locked: (path, detail) =>
    `The token store ${path} stayed locked by another hyperauth${detail}. Try again: a lock whose holder stopped is taken over once it expires.`,
  unreachable: (path, detail) =>
    `The token store ${path} could not be reached${detail}. Check that the server runs and HYPERAUTH_STORE names it; nothing was changed.`,
  refused: (path, detail) =>
    `The Redis server of the token store ${path} refused a command${detail}. Check its password and user (NOAUTH, WRONGPASS, NOPERM), its memory (OOM) and its role (READONLY).`,
  io: (path, detail) => `The token store ${path} could not be used${detail}. Check that its directory is writable.`,
}

/** The code of each problem: what the caller should do about it. */
const storeCode = {
  wrong_key: "not_configured",
  key_required: "not_configured",
  unencrypted: "not_configured",
  corrupted: "not_configured",
  newer_version: "not_configured",
  io: "not_configured",
  refused: "not_configured",
  locked: "timeout",
  unreachable: "connection_error",
} as const satisfies Record<StoreProblem, string>

/**
 * The store cannot be read or written: a wrong key, a damaged file, a file
 * from a newer hyperauth, a file system failure, a lock that another
 * process kept too long, a Redis that did not answer, or one that refused
 * the command (its password, memory or role). The file is left as it is;
 * the message names it and what to do. Its `code` says what
 * helps: `not_configured` for a store the user must fix (a configuration
 * problem), `timeout` when it stayed locked and `connection_error` when
 * Redis could not be reached, where trying again does.
 *
 * @example
 * ```ts
 * import { TokenStore } from "@hyperauth/core"
 *
 * const error = new TokenStore.TokenStoreError({ path: "/home/me/.config/hyperauth/tokens.json", reason: "wrong_key" })
 * error.message // "The token store /home/me/.config/hyperauth/tokens.json cannot be decrypted with HYPERAUTH_STORE_KEY. ..."
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenStoreError extends Schema.TaggedError<TokenStoreError>("@hyperauth/core/TokenStoreError")(
  "TokenStoreError",
  {
    path: Schema.String,
    reason: Schema.Literal(
      "wrong_key",
      "key_required",
      "unencrypted",
      "corrupted",
      "newer_version",
      "locked",
      "unreachable",
      "refused",
      "io",
    ) satisfies Schema.Schema<StoreProblem>,
    detail: Schema.optional(Schema.String),
  },
) {
  /** The codes its instances carry. */
  static readonly codes = ["not_configured", "timeout", "connection_error"] as const
  get code(): (typeof storeCode)[StoreProblem] {
    return storeCode[this.reason]
  }
  override get message(): string {
    return storeProblem[this.reason](this.path, this.detail === undefined ? "" : ` (${this.detail})`)
  }
}

/**
 * A conditional write found the record or the lease changed: another
 * writer got there first. Nothing was written.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Token, TokenStore } from "@hyperauth/core"
 *
 * // Write only if nobody wrote since version 3 was read; on a conflict, keep what is there.
 * const saveIfUnchanged = (store: TokenStore.Service, key: TokenStore.AccountKey, token: Token.TokenSet) =>
 *   store.set(key, token, { ifVersion: 3 }).pipe(Effect.catchTag("StoreConflict", () => Effect.void))
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export class StoreConflict extends Schema.TaggedError<StoreConflict>("@hyperauth/core/StoreConflict")("StoreConflict", {
  provider: Schema.String,
  account: Schema.String,
  /** `version`: the record moved past `ifVersion`; `lease`: the lease was superseded. */
  reason: Schema.Literal("version", "lease"),
}) {
  override get message(): string {
    return this.reason === "version"
      ? `The login ${this.provider}/${this.account} was changed by another writer; read it again.`
      : `The lease on ${this.provider}/${this.account} was taken over by another holder; nothing was written.`
  }
}
