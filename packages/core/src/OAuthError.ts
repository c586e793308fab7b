/**
 * The public errors of hyperauth.
 *
 * Every error carries a stable `code` (`codes`, the list in `docs/mcp-tools.md`) and a
 * message that says what happened and what to do next. Errors are built only
 * from non-secret facts (provider id, URL without query, status, the
 * provider's own `error` fields, a scrubbed body excerpt), so printing one,
 * logging its JSON or reading its stack can never leak a secret or a token.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const provider = Schema.optional(Schema.String)

/** "hyperid: " when the provider is known, so every message names its source. */
const prefix = (p: string | undefined): string => (p === undefined ? "" : `${p}: `)

/**
 * The access token was rejected (RFC 6750 `invalid_token`) or is no longer
 * active.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidToken extends Schema.TaggedError<InvalidToken>("@hyperauth/core/InvalidToken")("InvalidToken", {
  provider,
  description: Schema.optional(Schema.String),
}) {
  readonly code = "invalid_token" as const
  override get message(): string {
    const why = this.description === undefined ? "" : ` (${this.description})`
    return `${prefix(this.provider)}the access token is invalid or expired${why}. Refresh the token or log in again.`
  }
}

/**
 * The provider could not be reached: connection refused or reset, DNS
 * failure, or a request that could not be sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>("@hyperauth/core/ConnectionError")(
  "ConnectionError",
  {
    provider,
    /** Origin and path of the request, never its query or body. */
    url: Schema.String,
    reason: Schema.String,
  },
) {
  readonly code = "connection_error" as const
  override get message(): string {
    return `${prefix(this.provider)}cannot reach ${this.url} (${this.reason}). Check the network and the provider's base URL setting, then try again.`
  }
}

/**
 * A request took longer than the per-request limit.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@hyperauth/core/Timeout")("Timeout", {
  provider,
  url: Schema.String,
  timeoutMillis: Schema.Number,
}) {
  readonly code = "timeout" as const
  override get message(): string {
    return `${prefix(this.provider)}the request to ${this.url} exceeded the ${this.timeoutMillis / 1000} s limit. Try again later, or raise HYPERAUTH_HTTP_TIMEOUT.`
  }
}

/** The protocol error codes that keep their own name as `code`. */
const protocolCodes = [
  "access_denied",
  "expired_token",
  "invalid_grant",
  "invalid_client",
  "invalid_request",
  "invalid_scope",
  "invalid_token",
] as const

/**
 * The stable code of a protocol error.
 *
 * Codes outside the stable list fold into the nearest one: a server-side
 * failure is an `http_error`, any other client mistake an `invalid_request`.
 * The provider's exact word stays in `error`.
 */
export type ProtocolCode = (typeof protocolCodes)[number] | "http_error"

const isStableProtocolCode = (error: string): error is (typeof protocolCodes)[number] =>
  (protocolCodes as ReadonlyArray<string>).includes(error)

const protocolCodeOf = (error: string): ProtocolCode => {
  if (isStableProtocolCode(error)) return error
  if (error === "server_error" || error === "temporarily_unavailable") return "http_error"
  if (error === "unauthorized_client") return "invalid_client"
  return "invalid_request"
}

/** What to do next, per protocol error. */
const protocolAdvice: Record<ProtocolCode, string> = {
  access_denied: "The user refused the request; start a new login if that was a mistake.",
  expired_token: "The login took too long; start a new login.",
  invalid_grant: "The code or refresh token is no longer valid; log in again.",
  invalid_client: "Check the client id and client secret configured for this provider.",
  invalid_request: "The provider rejected the request; check the configuration and parameters.",
  invalid_scope: "Ask for scopes this client is allowed to request.",
  invalid_token: "Refresh the token or log in again.",
  http_error: "The provider had a problem; try again later.",
}

/**
 * An OAuth error response (RFC 6749 §5.2, §4.1.2.1; RFC 8628 §3.5): the
 * provider's `error`, `error_description` and `error_uri`.
 *
 * @since 0.1.0
 * @category errors
 */
export class OAuthProtocolError extends Schema.TaggedError<OAuthProtocolError>("@hyperauth/core/OAuthProtocolError")(
  "OAuthProtocolError",
  {
    provider,
    error: Schema.String,
    errorDescription: Schema.optional(Schema.String),
    errorUri: Schema.optional(Schema.String),
    status: Schema.optional(Schema.Number),
  },
) {
  get code(): ProtocolCode {
    return protocolCodeOf(this.error)
  }
  override get message(): string {
    const description = this.errorDescription === undefined ? "" : `: ${this.errorDescription}`
    return `${prefix(this.provider)}${this.error}${description}. ${protocolAdvice[this.code]}`
  }
}

/**
 * A response that did not match what the provider documents: an HTML error
 * page, truncated JSON, a field of the wrong type.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>("@hyperauth/core/InvalidResponse")(
  "InvalidResponse",
  {
    provider,
    url: Schema.String,
    status: Schema.Number,
    /** Why it could not be read, e.g. "an HTML page, not JSON" or a schema path. */
    reason: Schema.String,
    /** The start of the body, with token-like values removed. */
    excerpt: Schema.String,
  },
) {
  readonly code = "invalid_response" as const
  override get message(): string {
    const next =
      this.status >= 500
        ? "The provider or a proxy in front of it had a problem; try again later, and check the base URL if it persists."
        : "Check that the base URL points at the provider."
    return `${prefix(this.provider)}unexpected response from ${this.url} (HTTP ${this.status}, ${this.reason}): ${JSON.stringify(this.excerpt)}. ${next}`
  }
}

/**
 * A non-2xx answer that is neither an OAuth error nor an RFC 6750 challenge.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpError extends Schema.TaggedError<HttpError>("@hyperauth/core/HttpError")("HttpError", {
  provider,
  url: Schema.String,
  status: Schema.Number,
  excerpt: Schema.String,
}) {
  readonly code = "http_error" as const
  override get message(): string {
    const body = this.excerpt === "" ? "" : `: ${JSON.stringify(this.excerpt)}`
    return `${prefix(this.provider)}${this.url} answered HTTP ${this.status}${body}. ${this.status >= 500 ? "The provider had a problem; try again later." : "Check the request and the provider's configuration."}`
  }
}

/**
 * The `state` of an authorization redirect does not match the one sent: the
 * code is not exchanged (CSRF protection, RFC 6749 §10.12).
 *
 * @since 0.1.0
 * @category errors
 */
export class StateMismatch extends Schema.TaggedError<StateMismatch>("@hyperauth/core/StateMismatch")("StateMismatch", {
  provider,
}) {
  readonly code = "state_mismatch" as const
  override get message(): string {
    return `${prefix(this.provider)}the redirect's state does not match the login it claims to finish, so its code was not used. Start a new login and finish it with the URL that login leads to.`
  }
}

/**
 * No stored login for this provider and account.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotLoggedIn extends Schema.TaggedError<NotLoggedIn>("@hyperauth/core/NotLoggedIn")("NotLoggedIn", {
  provider: Schema.String,
  account: Schema.String,
  reason: Schema.optional(Schema.String),
}) {
  readonly code = "not_logged_in" as const
  override get message(): string {
    const why = this.reason === undefined ? "" : ` (${this.reason})`
    return `${this.provider}: account "${this.account}" is not logged in${why}. Log in with provider "${this.provider}" and account "${this.account}" first.`
  }
}

/**
 * The provider lacks configuration it needs.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotConfigured extends Schema.TaggedError<NotConfigured>("@hyperauth/core/NotConfigured")("NotConfigured", {
  provider: Schema.String,
  /** Settings to provide. */
  missing: Schema.Array(Schema.String),
  /** What is wrong with a setting that is present. */
  reason: Schema.optional(Schema.String),
}) {
  readonly code = "not_configured" as const
  override get message(): string {
    const set = this.missing.length > 0 ? ` set ${this.missing.join(", ")}.` : ""
    const why = this.reason === undefined ? "" : ` ${this.reason}`
    return `${this.provider} is not configured:${set}${why}`
  }
}

/**
 * The provider has no such operation (e.g. introspection on hyperline).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSupported extends Schema.TaggedError<NotSupported>("@hyperauth/core/NotSupported")("NotSupported", {
  provider: Schema.String,
  operation: Schema.String,
}) {
  readonly code = "not_supported" as const
  override get message(): string {
    return `${this.provider} does not support ${this.operation}.`
  }
}

/**
 * Input refused before any network call.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("@hyperauth/core/InvalidInput")("InvalidInput", {
  provider,
  /** What is wrong and how to fix it. */
  reason: Schema.String,
}) {
  readonly code = "invalid_input" as const
  override get message(): string {
    return `${prefix(this.provider)}${this.reason}`
  }
}

type StoreProblem =
  | "wrong_key"
  | "key_required"
  | "unencrypted"
  | "corrupted"
  | "newer_version"
  | "locked"
  | "unreachable"
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
  io: (path, detail) => `The token store ${path} could not be used${detail}. Check that its directory is writable.`,
}

/**
 * The store cannot be read or written: a wrong key, a damaged file, a file
 * from a newer hyperauth, or a file system failure. The file is left as it
 * is; the message names it and what to do.
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
      "io",
    ) satisfies Schema.Schema<StoreProblem>,
    detail: Schema.optional(Schema.String),
  },
) {
  /** A store the user must fix is a configuration problem. */
  readonly code = "not_configured" as const
  override get message(): string {
    return storeProblem[this.reason](this.path, this.detail === undefined ? "" : ` (${this.detail})`)
  }
}

/**
 * Any hyperauth error.
 *
 * @since 0.1.0
 * @category errors
 */
export type OAuthError =
  | InvalidToken
  | ConnectionError
  | Timeout
  | OAuthProtocolError
  | InvalidResponse
  | HttpError
  | StateMismatch
  | NotLoggedIn
  | NotConfigured
  | NotSupported
  | InvalidInput
  | TokenStoreError

/**
 * The errors of a request to a provider.
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestFailure = InvalidToken | ConnectionError | Timeout | OAuthProtocolError | InvalidResponse | HttpError

/**
 * The stable codes of hyperauth errors.
 *
 * @since 0.1.0
 * @category errors
 */
export type Code = OAuthError["code"]

/**
 * Every stable code a hyperauth error can carry, in the contract's order;
 * tests and documentation derive their lists from this one.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * OAuthError.codes.includes("invalid_token") // true
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export const codes = [
  "invalid_token",
  "connection_error",
  "timeout",
  "access_denied",
  "expired_token",
  "invalid_grant",
  "invalid_client",
  "invalid_request",
  "invalid_scope",
  "state_mismatch",
  "invalid_response",
  "http_error",
  "not_logged_in",
  "not_configured",
  "not_supported",
  "invalid_input",
] as const satisfies ReadonlyArray<Code>

// Fails to compile when a code is added to an error but not to `codes`.
const everyCodeListed: Exclude<Code, (typeof codes)[number]> extends never ? true : never = true
void everyCodeListed

const tags: ReadonlyArray<OAuthError["_tag"]> = [
  "InvalidToken",
  "ConnectionError",
  "Timeout",
  "OAuthProtocolError",
  "InvalidResponse",
  "HttpError",
  "StateMismatch",
  "NotLoggedIn",
  "NotConfigured",
  "NotSupported",
  "InvalidInput",
  "TokenStoreError",
]

/**
 * @since 0.1.0
 * @category guards
 */
export const isOAuthError = (u: unknown): u is OAuthError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && (tags as ReadonlyArray<string>).includes(u._tag)
