/**
 * Wire formats (snake_case, as the RFCs and the providers send them).
 * Public models in camelCase are built from these in the public modules.
 */
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

const tokenFields = {
  access_token: Schema.NonEmptyString,
  expires_in: Schema.optional(Seconds),
  refresh_token: Schema.optional(Schema.NonEmptyString),
  refresh_expires_in: Schema.optional(Seconds),
  scope: Schema.optional(Schema.String),
  // No `id_token`: hyperauth does not validate ID tokens, so it keeps none.
}

/**
 * RFC 6749 §5.1 access token response as hyperid documents it: without
 * `token_type`, Bearer being the only type it issues. A `token_type` that is
 * present must still be Bearer.
 */
export const TokenResponse = Schema.Struct({ ...tokenFields, token_type: Schema.optional(BearerType) })
export type TokenResponse = typeof TokenResponse.Type

/** RFC 6749 §5.1 access token response, `token_type` required (hyper, hyperline, hyperproof). */
export const BearerTokenResponse = Schema.Struct({ ...tokenFields, token_type: BearerType })

/** RFC 6749 §5.2 error response. */
export const ErrorResponse = Schema.Struct({
  // An error code is a single word (RFC 6749 §5.2), unlike `{"error": "Not found"}`.
  error: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.-]+$/)),
  error_description: Schema.optional(Schema.String),
  error_uri: Schema.optional(Schema.String),
})
export type ErrorResponse = typeof ErrorResponse.Type

/** RFC 8628 §3.2 device authorization response. */
export const DeviceAuthorizationResponse = Schema.Struct({
  device_code: Schema.NonEmptyString,
  user_code: Schema.NonEmptyString,
  verification_uri: Schema.NonEmptyString,
  verification_uri_complete: Schema.optional(Schema.String),
  expires_in: Seconds,
  interval: Schema.optional(Seconds),
})
export type DeviceAuthorizationResponse = typeof DeviceAuthorizationResponse.Type

/** RFC 7662 §2.2 introspection response; unknown members are kept. */
export const IntrospectionResponse = Schema.Struct(
  {
    active: Schema.Boolean,
    scope: Schema.optional(Schema.String),
    client_id: Schema.optional(Schema.String),
    username: Schema.optional(Schema.String),
    token_type: Schema.optional(Schema.String),
    exp: Schema.optional(NumericDate),
    iat: Schema.optional(NumericDate),
    nbf: Schema.optional(NumericDate),
    sub: Schema.optional(Schema.String),
    aud: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
    iss: Schema.optional(Schema.String),
    jti: Schema.optional(Schema.String),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)
export type IntrospectionResponse = typeof IntrospectionResponse.Type
