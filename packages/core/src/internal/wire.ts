/**
 * Wire formats (snake_case, as the RFCs and the providers send them).
 * Public models in camelCase are built from these in the public modules.
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * The longest lifetime taken from a provider: ten years. Far past any real
 * token or device code, and far inside what dates can hold, so that no
 * stored expiry can break a later read of it.
 */
export const maxLifetimeSeconds = 10 * 366 * 24 * 60 * 60

const lifetime = Schema.Number.pipe(
  Schema.finite({ message: () => "a lifetime must be a finite number of seconds" }),
  Schema.between(0, maxLifetimeSeconds, { message: () => `a lifetime must be 0 to ${maxLifetimeSeconds} seconds` }),
)

/** A count of seconds sent as a JSON number or a numeric string ("3600"), finite and at most ten years. */
export const Seconds = Schema.Union(lifetime, Schema.compose(Schema.NumberFromString, lifetime))

/** An instant in seconds since the epoch (RFC 7662 `exp`, `iat`, `nbf`); `1e999` parses as Infinity. */
const NumericDate = Schema.Number.pipe(Schema.finite())

/** RFC 6750: the only token type these providers issue, in any case. */
const BearerType = Schema.String.pipe(
  Schema.filter((type) => type.toLowerCase() === "bearer", { message: () => "token_type must be Bearer" }),
)

/**
 * An optional member: absent, or `null`, which servers write for "none"
 * (decoded as absent, so the decoded type is that of `Schema.optional`).
 */
const optional = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.optionalWith(schema, { nullable: true })

/**
 * An error body's prose (`error_description`, `error_uri`): text, or none
 * when it is absent or anything but text. The code decides what an error
 * is; a server that writes a number or an object there still said it (a
 * device poll's `slow_down` must slow the poll, not end it).
 */
const proseOrNone = Schema.optionalToOptional(Schema.Unknown, Schema.String, {
  decode: Option.filter((value): value is string => typeof value === "string"),
  encode: (value) => value,
})

/**
 * An optional member that sloppy servers send as `""` when they have none:
 * absent, `null`, `undefined` (a member set so in code) or `""` are all
 * decoded as absent; any other value must be one `schema` takes. (Encoded
 * back, an absent member stays absent.)
 */
const optionalOrEmpty = (schema: Schema.Schema<string>) =>
  Schema.optionalToOptional(Schema.NullishOr(Schema.String), schema, {
    decode: Option.filter((value): value is string => value !== null && value !== undefined && value !== ""),
    encode: (value) => value,
  })

/**
 * The reason an answer without an access token is `invalid_response` for:
 * its own words, shown as they are (they carry no value of the answer).
 */
export const noAccessToken = "the provider sent no access token"

/**
 * The longest token taken: 64 KiB, four times what most servers take in a
 * header (8 to 16 KB). Every answer of a token's API is searched for some
 * forty spellings of it, kept for the next answer; those of a 250 KB token
 * are some 100 MB.
 */
export const maxTokenLength = 64 * 1024

/**
 * RFC 6749 A.12 and A.17: a token is 1*VSCHAR, printable ASCII. An access
 * token goes into an Authorization header on every call: a line break there
 * is a header injection, or a login whose every call fails. At most
 * `maxTokenLength` characters.
 */
const TokenValue = Schema.String.pipe(
  Schema.pattern(/^[\x20-\x7e]+$/, { message: () => "a token must be printable ASCII (RFC 6749 A.12)" }),
  Schema.maxLength(maxTokenLength, { message: () => `a token must be at most ${maxTokenLength} characters` }),
)

/** The longest scope taken with a token: far past any list of scopes, kept and shown with its login. */
const maxScopeLength = 16 * 1024

/**
 * RFC 6749 §3.3: scope tokens of printable ASCII between spaces (taken as
 * any printable ASCII, commas too, as some servers write them), at most
 * `maxScopeLength` characters: it is stored with the login and shown with
 * every account.
 */
const ScopeValue = Schema.String.pipe(
  Schema.pattern(/^[\x20-\x7e]*$/, { message: () => "a scope must be printable ASCII (RFC 6749 §3.3)" }),
  Schema.maxLength(maxScopeLength, { message: () => `a scope must be at most ${maxScopeLength} characters` }),
)

const tokenFields = {
  // Absent or `""`: no access token, said so (not as a shape).
  access_token: Schema.propertySignature(
    Schema.String.pipe(Schema.minLength(1, { message: () => noAccessToken }), Schema.compose(TokenValue)),
  ).annotations({ missingMessage: () => noAccessToken }),
  expires_in: optional(Seconds),
  // An empty refresh token or scope is none (RFC 6749 A.17, §3.3: each has at least one character).
  refresh_token: optionalOrEmpty(TokenValue),
  refresh_expires_in: optional(Seconds),
  scope: optionalOrEmpty(ScopeValue),
  // No `id_token`: hyperauth does not validate ID tokens, so it keeps none
  // (whatever it holds, `""` included, is not read).
}

/**
 * RFC 6749 §5.1 access token response as hyperid documents it: without
 * `token_type`, Bearer being the only type it issues. A `token_type` that is
 * present must still be Bearer.
 */
export const TokenResponse = Schema.Struct({ ...tokenFields, token_type: optional(BearerType) })
export type TokenResponse = typeof TokenResponse.Type

/** RFC 6749 §5.1 access token response, `token_type` required (hyper, hyperline, hyperproof). */
export const BearerTokenResponse = Schema.Struct({ ...tokenFields, token_type: BearerType })

/** RFC 6749 §5.2 error response. */
export const ErrorResponse = Schema.Struct({
  // RFC 6749 §5.2: 1*NQSCHAR, printable ASCII but `"` and `\`. So no line
  // break or control character can reach a message; whether the status
  // makes it an OAuth error is classify's decision.
  error: Schema.String.pipe(Schema.pattern(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/)),
  error_description: proseOrNone,
  error_uri: proseOrNone,
})
export type ErrorResponse = typeof ErrorResponse.Type

/** The longest URL taken to show the user (a verification URI): 8 KiB, as a request line is. */
const maxShownUrlLength = 8 * 1024

/**
 * An http or https URL: what the user is sent to open. Any other scheme
 * (`javascript:`, `data:`, `file:`) from a server or a man in the middle
 * would be shown or offered as a link all the same.
 */
const WebUrl = Schema.String.pipe(
  // Shown to the user as it is: no page needs more, and more would make the answer that shows it that long.
  Schema.maxLength(maxShownUrlLength, {
    message: () => `a URL shown to the user is at most ${maxShownUrlLength} characters`,
  }),
  Schema.filter((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
    description: "an http or https URL",
  }),
)

/**
 * RFC 8628 §3.2, §6.1: the code the user types, shown as it is: a line of
 * printable text (no control, line or paragraph separator, no mark that
 * reorders text) of at most 128 characters. A line break there would be a
 * line of instructions the provider wrote, in a prompt the user trusts.
 */
const UserCode = Schema.String.pipe(
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  Schema.pattern(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]{1,128}$/, {
    message: () => "a user code must be one line of at most 128 printable characters",
  }),
)

/** RFC 8628 §3.2 device authorization response. */
export const DeviceAuthorizationResponse = Schema.Struct({
  device_code: Schema.NonEmptyString,
  user_code: UserCode,
  verification_uri: WebUrl,
  verification_uri_complete: optional(WebUrl),
  expires_in: Seconds,
  interval: optional(Seconds),
})
export type DeviceAuthorizationResponse = typeof DeviceAuthorizationResponse.Type

/** RFC 7662 §2.2 introspection response; unknown members are kept. */
export const IntrospectionResponse = Schema.Struct(
  {
    active: Schema.Boolean,
    scope: optional(Schema.String),
    client_id: optional(Schema.String),
    username: optional(Schema.String),
    token_type: optional(Schema.String),
    exp: optional(NumericDate),
    iat: optional(NumericDate),
    nbf: optional(NumericDate),
    sub: optional(Schema.String),
    aud: optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
    iss: optional(Schema.String),
    jti: optional(Schema.String),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)
export type IntrospectionResponse = typeof IntrospectionResponse.Type
