/**
 * The public errors of hyperauth.
 *
 * `OAuthError` is a `Schema.Union` of the tagged error classes below: the
 * one list of what can fail. Every error carries a stable `code`, and every
 * class lists the codes its instances can carry (`InvalidToken.codes`), so
 * `codes`, the list `docs/mcp-tools.md` documents and the tests check, is
 * derived from the union. Each message says what happened and what to do
 * next. Errors are built only from non-secret facts (provider id, URL
 * without query, status, the provider's own `error` fields, a scrubbed body
 * excerpt), so printing one, logging its JSON or reading its stack can never
 * leak a secret or a token.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OAuthError } from "@hyperauth/core"
 *
 * const failed = Effect.fail(new OAuthError.NotLoggedIn({ provider: "hyperid", account: "work" }))
 *
 * // Every error has a stable `code` and a message that says what to do next.
 * const described = failed.pipe(Effect.catchAll((error) => Effect.succeed(`${error.code}: ${error.message}`)))
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { lazy } from "./internal/lazy.js"
import { isServerError } from "./internal/status.js"
import { TokenStoreError } from "./internal/storeErrors.js"

const provider = Schema.optional(Schema.String)

/** "hyperid: " when the provider is known, so every message names its source. */
const prefix = (p: string | undefined): string => (p === undefined ? "" : `${p}: `)

/**
 * The access token was rejected (RFC 6750 `invalid_token`) or is no longer
 * active.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const error = new OAuthError.InvalidToken({ provider: "hyperid", description: "token revoked" })
 * error.code // "invalid_token"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidToken extends Schema.TaggedError<InvalidToken>("@hyperauth/core/InvalidToken")("InvalidToken", {
  provider,
  description: Schema.optional(Schema.String),
  /** False when no refresh can renew it (no refresh token, or one already tried): only a new login helps. */
  renewable: Schema.optional(Schema.Boolean),
  /**
   * The flow of the login whose token was refused, when that decides what
   * to do next (`Provider.FlowKind`): a `client_credentials` token refused
   * right after it was issued is the client's access, which no new token
   * and no login changes.
   */
  flow: Schema.optional(Schema.Literal("device_code", "authorization_code", "client_credentials")),
}) {
  /** The codes its instances carry. */
  static readonly codes = ["invalid_token"] as const
  readonly code = "invalid_token" as const
  override get message(): string {
    const why = this.description === undefined ? "" : ` (${this.description})`
    if (this.flow === "client_credentials" && this.renewable === false) {
      return `${prefix(this.provider)}the API refused a token just issued to this client${why}. Another token would be refused too: check the client's permissions on this API, the scope it asks for, and that its token server issues tokens for this API.`
    }
    const next = this.renewable === false ? "Log in again." : "Refresh the token or log in again."
    return `${prefix(this.provider)}the access token is invalid or expired${why}. ${next}`
  }
}

/**
 * The provider could not be reached: connection refused or reset, DNS
 * failure, or a request that could not be sent.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const error = new OAuthError.ConnectionError({
 *   provider: "hyper",
 *   url: "https://api.hyper.io/oauth/token",
 *   reason: "connection refused",
 * })
 * error.code // "connection_error"
 * ```
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
  /** The codes its instances carry. */
  static readonly codes = ["connection_error"] as const
  readonly code = "connection_error" as const
  override get message(): string {
    return `${prefix(this.provider)}cannot reach ${this.url} (${this.reason}). Check the network and the provider's base URL setting, then try again.`
  }
}

/**
 * A request took longer than the per-request limit.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const error = new OAuthError.Timeout({ provider: "hyper", url: "https://api.hyper.io/oauth/token", timeoutMillis: 30_000 })
 * error.message // "hyper: the request to https://api.hyper.io/oauth/token exceeded the 30 s limit. ..."
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@hyperauth/core/Timeout")("Timeout", {
  provider,
  url: Schema.String,
  timeoutMillis: Schema.Number,
}) {
  /** The codes its instances carry. */
  static readonly codes = ["timeout"] as const
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
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const code: OAuthError.ProtocolCode = new OAuthError.OAuthProtocolError({ provider: "hyper", error: "access_denied" }).code
 * code // "access_denied"
 * ```
 *
 * @since 0.1.0
 * @category models
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
 * provider's `error`, `error_description` and `error_uri`. Its `code` is the
 * provider's `error` when that is a stable code, else the nearest one.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * new OAuthError.OAuthProtocolError({ provider: "hyperid", error: "invalid_grant" }).code // "invalid_grant"
 * new OAuthError.OAuthProtocolError({ provider: "hyperid", error: "server_error" }).code // "http_error"
 * ```
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
  /** The codes its instances carry. */
  static readonly codes = [...protocolCodes, "http_error"] as const
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
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const error = new OAuthError.InvalidResponse({
 *   provider: "hyperline",
 *   url: "https://api.hyperline.co/v1/oauth/tokens",
 *   status: 200,
 *   reason: "an HTML page, not JSON",
 *   excerpt: "<html><body>Maintenance</body></html>",
 * })
 * error.code // "invalid_response"
 * ```
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
  /** The codes its instances carry. */
  static readonly codes = ["invalid_response"] as const
  readonly code = "invalid_response" as const
  override get message(): string {
    const next = isServerError(this.status)
      ? "The provider or a proxy in front of it had a problem; try again later, and check the base URL if it persists."
      : "Check that the base URL points at the provider."
    return `${prefix(this.provider)}unexpected response from ${this.url} (HTTP ${this.status}, ${this.reason}): ${JSON.stringify(this.excerpt)}. ${next}`
  }
}

/** What to do after an HTTP error status. */
const httpAdvice = (status: number): string =>
  status === 429
    ? "The provider says too many requests: wait (its Retry-After, if it sent one) and try again."
    : isServerError(status)
      ? "The provider had a problem; try again later."
      : "Check the request and the provider's configuration."

/**
 * A non-2xx answer that is neither an OAuth error nor an RFC 6750 challenge.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const error = new OAuthError.HttpError({ provider: "hyperproof", url: "https://api.hyperproof.app/v1/controls/ctl_1", status: 503, excerpt: "" })
 * error.code // "http_error"
 * ```
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
  /** The codes its instances carry. */
  static readonly codes = ["http_error"] as const
  readonly code = "http_error" as const
  override get message(): string {
    const body = this.excerpt === "" ? "" : `: ${JSON.stringify(this.excerpt)}`
    return `${prefix(this.provider)}${this.url} answered HTTP ${this.status}${body}. ${httpAdvice(this.status)}`
  }
}

/**
 * The `state` of an authorization redirect does not match the one sent: the
 * code is not exchanged (CSRF protection, RFC 6749 §10.12).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OAuthError } from "@hyperauth/core"
 *
 * const program = Effect.fail(new OAuthError.StateMismatch({ provider: "hyperline" })).pipe(
 *   Effect.catchTag("StateMismatch", () => Effect.succeed("start a new login")),
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StateMismatch extends Schema.TaggedError<StateMismatch>("@hyperauth/core/StateMismatch")("StateMismatch", {
  provider,
}) {
  /** The codes its instances carry. */
  static readonly codes = ["state_mismatch"] as const
  readonly code = "state_mismatch" as const
  override get message(): string {
    return `${prefix(this.provider)}the redirect's state is missing or is not that of the login it claims to finish (the URL is from another login, or forged), so its code was not used. The login still waits: finish it with the URL its own authorization URL leads to, or start a new login.`
  }
}

/**
 * No stored login for this provider and account.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * new OAuthError.NotLoggedIn({ provider: "hyperid", account: "work" }).message
 * // 'hyperid: account "work" is not logged in. Log in with provider "hyperid" and account "work" first.'
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NotLoggedIn extends Schema.TaggedError<NotLoggedIn>("@hyperauth/core/NotLoggedIn")("NotLoggedIn", {
  provider: Schema.String,
  account: Schema.String,
  reason: Schema.optional(Schema.String),
}) {
  /** The codes its instances carry. */
  static readonly codes = ["not_logged_in"] as const
  readonly code = "not_logged_in" as const
  override get message(): string {
    const why = this.reason === undefined ? "" : ` (${this.reason})`
    return `${this.provider}: account "${this.account}" is not logged in${why}. Log in with provider "${this.provider}" and account "${this.account}" first.`
  }
}

/**
 * The provider lacks configuration it needs.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * new OAuthError.NotConfigured({ provider: "hyper", missing: ["HYPER_CLIENT_ID"] }).message
 * // "hyper is not configured: set HYPER_CLIENT_ID."
 * ```
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
  /** The codes its instances carry. */
  static readonly codes = ["not_configured"] as const
  readonly code = "not_configured" as const
  override get message(): string {
    const set = this.missing.length > 0 ? ` set ${this.missing.join(", ")}.` : ""
    // A reason ends its sentence: what a caller appends (a server's advice) starts the next one.
    const why = this.reason === undefined ? "" : ` ${this.reason}${/[.!?]$/.test(this.reason) ? "" : "."}`
    return `${this.provider} is not configured:${set}${why}`
  }
}

/**
 * The provider has no such operation (e.g. introspection on hyperline).
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * new OAuthError.NotSupported({ provider: "hyperline", operation: "introspection" }).message
 * // "hyperline does not support introspection."
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSupported extends Schema.TaggedError<NotSupported>("@hyperauth/core/NotSupported")("NotSupported", {
  provider: Schema.String,
  operation: Schema.String,
}) {
  /** The codes its instances carry. */
  static readonly codes = ["not_supported"] as const
  readonly code = "not_supported" as const
  override get message(): string {
    return `${this.provider} does not support ${this.operation}.`
  }
}

/**
 * Input refused before any network call; in the Promise API, also a
 * callback of the caller's that threw (`pollForToken`'s `onSuccess`).
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * new OAuthError.InvalidInput({ provider: "hyperid", reason: "verification_level must be 2, 3 or 4." }).message
 * // "hyperid: verification_level must be 2, 3 or 4."
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("@hyperauth/core/InvalidInput")("InvalidInput", {
  provider,
  /** What is wrong and how to fix it. */
  reason: Schema.String,
}) {
  /** The codes its instances carry. */
  static readonly codes = ["invalid_input"] as const
  readonly code = "invalid_input" as const
  override get message(): string {
    return `${prefix(this.provider)}${this.reason}`
  }
}

export {
  /**
   * The token store's error, whose home is `TokenStore.TokenStoreError`;
   * it is one of the `OAuthError`s, and named here too so that existing
   * imports keep working.
   *
   * @example
   * ```ts
   * import { OAuthError, TokenStore } from "@hyperauth/core"
   *
   * OAuthError.TokenStoreError === TokenStore.TokenStoreError // true
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  TokenStoreError,
}

/**
 * Any hyperauth error, as a schema: the union of every error class, so one
 * `Schema.decodeUnknown(OAuthError)` turns an encoded error back into its
 * class (with its `code` and message), and `OAuthError.members` lists them.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { OAuthError } from "@hyperauth/core"
 *
 * const encoded = Schema.encodeSync(OAuthError.OAuthError)(new OAuthError.Timeout({ url: "https://api.hyper.io/oauth/token", timeoutMillis: 30_000 }))
 * const error = Schema.decodeUnknownSync(OAuthError.OAuthError)(encoded)
 * error.code // "timeout"
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OAuthError = Schema.Union(
  InvalidToken,
  ConnectionError,
  Timeout,
  OAuthProtocolError,
  InvalidResponse,
  HttpError,
  StateMismatch,
  NotLoggedIn,
  NotConfigured,
  NotSupported,
  InvalidInput,
  TokenStoreError,
)

/**
 * Any hyperauth error: each has a stable `code` and a message that says
 * what to do next.
 *
 * @example
 * ```ts
 * import type { OAuthError } from "@hyperauth/core"
 *
 * const explain = (error: OAuthError.OAuthError) => `${error.code}: ${error.message}`
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type OAuthError = typeof OAuthError.Type

/**
 * The errors of a request to a provider.
 *
 * @example
 * ```ts
 * import type { OAuthError } from "@hyperauth/core"
 *
 * const mayTryLater = (failure: OAuthError.RequestFailure) =>
 *   failure._tag === "Timeout" || failure._tag === "ConnectionError" || failure.code === "http_error"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type RequestFailure =
  | InvalidToken
  | ConnectionError
  | Timeout
  | OAuthProtocolError
  | InvalidResponse
  | HttpError
  | InvalidInput

/**
 * The stable codes of hyperauth errors.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * const isCode = (text: string): text is OAuthError.Code => (OAuthError.codes as ReadonlyArray<string>).includes(text)
 * isCode("invalid_grant") // true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type Code = OAuthError["code"]

type Member = (typeof OAuthError.members)[number]

// Fails to compile when a class's `codes` and the `code` of its instances
// disagree, so `codes` below cannot miss one.
type Unlisted<M> = M extends {
  readonly codes: ReadonlyArray<infer Listed>
  readonly prototype: { readonly code: infer C }
}
  ? Exclude<C, Listed> | Exclude<Listed, C>
  : M
const everyCodeListed: [Unlisted<Member>] extends [never] ? true : never = true
void everyCodeListed

/**
 * Every stable code a hyperauth error can carry: the codes of the members of
 * `OAuthError`, in its order, each once. The tests and `docs/mcp-tools.md`
 * are checked against this list.
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
export const codes: ReadonlyArray<Code> = [
  ...new Set(OAuthError.members.flatMap((member): ReadonlyArray<Code> => member.codes)),
]

/** Compiled on the first check, not when the module loads. */
const isOAuthErrorGuard = lazy(() => Schema.is(OAuthError))

/**
 * Whether a value is one of the `OAuthError`s: an instance of a member of
 * the union.
 *
 * @example
 * ```ts
 * import { OAuthError } from "@hyperauth/core"
 *
 * OAuthError.isOAuthError(new OAuthError.InvalidInput({ reason: "path must start with /" })) // true
 * OAuthError.isOAuthError(new Error("boom")) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isOAuthError = (u: unknown): u is OAuthError => isOAuthErrorGuard()(u)
