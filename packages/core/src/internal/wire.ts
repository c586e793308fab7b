/**
 * Wire formats (snake_case, as the RFCs and the providers send them).
 * Public models in camelCase are built from these in the public modules.
 */
import * as Schema from "effect/Schema"

/** A count of seconds sent as a JSON number or a numeric string ("3600"). */
export const Seconds = Schema.Union(Schema.NonNegative, Schema.compose(Schema.NumberFromString, Schema.NonNegative))

/** RFC 6749 §5.1 access token response (plus OIDC / Keycloak extras). */
export const TokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  // Required by RFC 6749, but hyperid's documented answer omits it; Bearer
  // is then the only type these providers issue.
  token_type: Schema.optional(Schema.String),
  expires_in: Schema.optional(Seconds),
  refresh_token: Schema.optional(Schema.NonEmptyString),
  refresh_expires_in: Schema.optional(Seconds),
  scope: Schema.optional(Schema.String),
  id_token: Schema.optional(Schema.String),
})
export type TokenResponse = typeof TokenResponse.Type

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
    exp: Schema.optional(Schema.Number),
    iat: Schema.optional(Schema.Number),
    nbf: Schema.optional(Schema.Number),
    sub: Schema.optional(Schema.String),
    aud: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
    iss: Schema.optional(Schema.String),
    jti: Schema.optional(Schema.String),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)
export type IntrospectionResponse = typeof IntrospectionResponse.Type
