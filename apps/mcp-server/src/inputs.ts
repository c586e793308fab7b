/**
 * Input and output pieces several tools share, as Effect `Schema`s.
 *
 * Checks are `Schema.filter`s annotated with `rule`, not Effect's built-in
 * filters: those describe themselves ("a string at least 1 character(s)
 * long") and that description would reach the JSON Schema of fields that
 * have none of their own.
 *
 * @since 0.2.0
 */
import { Provider, type Token } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** "a, b or c". */
const oneOf = (names: ReadonlyArray<string>) =>
  names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`

/**
 * Annotations for a `Schema.filter`: the message a caller gets when the
 * value breaks it (it names no value: the value may be a secret), and the
 * JSON Schema keywords that say the same to a client.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { rule } from "./inputs.js"
 *
 * const LoginId = Schema.String.pipe(Schema.filter((s) => s.length > 0, rule("must not be empty", { minLength: 1 })))
 * ```
 *
 * @since 0.2.0
 * @category annotations
 */
export const rule = (message: string, jsonSchema: Readonly<Record<string, unknown>>) => ({
  message: () => message,
  jsonSchema,
})

/**
 * A string with at least one character.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { NonEmpty } from "./inputs.js"
 *
 * const Input = Schema.Struct({ login_id: NonEmpty })
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const NonEmpty = Schema.String.pipe(
  Schema.filter((s) => s.length > 0, rule("must not be empty", { minLength: 1 })),
)

/**
 * At most `max` characters in a string. With `atMostEntries`, nothing a
 * call carries grows without bound on its way to a provider, the store or
 * an answer.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { atMostChars } from "./inputs.js"
 *
 * const Scope = Schema.String.pipe(atMostChars(1024))
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const atMostChars =
  (max: number) =>
  <I, R>(schema: Schema.Schema<string, I, R>): Schema.Schema<string, I, R> =>
    schema.pipe(Schema.filter((s) => s.length <= max, rule(`must be at most ${max} characters`, { maxLength: max })))

/**
 * At most `max` entries in an object: a header or query map, say.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { atMostEntries } from "./inputs.js"
 *
 * const Headers = Schema.Record({ key: Schema.String, value: Schema.String }).pipe(atMostEntries(64))
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const atMostEntries =
  (max: number) =>
  <A extends Readonly<Record<string, unknown>>, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, I, R> =>
    schema.pipe(
      Schema.filter(
        (o) => Object.keys(o).length <= max,
        rule(`must have at most ${max} entries`, { maxProperties: max }),
      ),
    )

/**
 * A whole number, as JSON Schema's `integer`.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Integer } from "./inputs.js"
 *
 * const Output = Schema.Struct({ status: Integer })
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const Integer = Schema.Number.pipe(
  // Marked as Effect's integer check, so that a description added to it reaches the JSON Schema.
  Schema.filter(Number.isSafeInteger, {
    schemaId: Schema.IntSchemaId,
    ...rule("must be a whole number", { type: "integer" }),
  }),
)

/**
 * An optional input field that is `value` when left out.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { withDefault } from "./inputs.js"
 *
 * const Input = Schema.Struct({ reveal: withDefault(Schema.Boolean, false) })
 * // Schema.decodeUnknownSync(Input)({}) is { reveal: false }
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const withDefault = <A extends string | number | boolean>(schema: Schema.Schema<A>, value: A) =>
  Schema.optionalWith(schema.annotations({ default: value }), { default: () => value })

/**
 * The provider a tool acts on.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { ProviderId } from "./inputs.js"
 *
 * const Input = Schema.Struct({ provider: ProviderId })
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const ProviderId = Schema.Literal(...Provider.providerIds).annotations({
  description: `The provider: ${oneOf(Provider.providerIds)}.`,
})

const accountPattern = /^[A-Za-z0-9._@-]+$/

/**
 * The account label: several logins per provider, `"default"` when left out.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { Account, ProviderId } from "./inputs.js"
 *
 * const Input = Schema.Struct({ provider: ProviderId, account: Account })
 * // Schema.decodeUnknownSync(Input)({ provider: "hyper" }).account === "default"
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const Account = withDefault(
  Schema.String.pipe(
    Schema.filter(
      (s) => s.length >= 1 && s.length <= 64,
      rule("must be 1 to 64 characters", { minLength: 1, maxLength: 64 }),
    ),
    Schema.filter(
      (s) => accountPattern.test(s),
      rule("must use letters, digits, '.', '_', '@' or '-'", { pattern: accountPattern.source }),
    ),
  ).annotations({
    description: 'A label you choose for this login, so one server can hold several per provider. Default "default".',
  }),
  "default",
)

/** An ISO 8601 time. */
const Iso = Schema.String.annotations({ description: "ISO 8601" })

/**
 * The fields of token info, the result of `get_token`, `refresh_token` and a finished login
 * (`get_token` adds `access_token` when asked to reveal it).
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { TokenInfo } from "./inputs.js"
 *
 * const Output = Schema.Struct(TokenInfo)
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const TokenInfo = {
  provider: Schema.String,
  account: Schema.String,
  status: Schema.Literal("authenticated", "expired"),
  token_type: Schema.String,
  expires_at: Schema.optional(Iso),
  expires_in: Schema.optional(Integer.annotations({ description: "Seconds left" })),
  scope: Schema.optional(Schema.String),
  has_refresh_token: Schema.Boolean,
  refresh_expires_at: Schema.optional(Iso),
}

/**
 * Token metadata; the raw tokens are left out.
 *
 * @example
 * ```ts
 * import * as DateTime from "effect/DateTime"
 * import * as Effect from "effect/Effect"
 * import type { Token } from "@hyperauth/core"
 * import { describeToken } from "./inputs.js"
 *
 * const info = (token: Token.TokenSet) => Effect.map(DateTime.now, (now) => describeToken("hyper", "default", token, now))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const describeToken = (provider: string, accountLabel: string, token: Token.TokenSet, now: DateTime.Utc) => {
  const expired = token.expiresAt !== undefined && DateTime.lessThanOrEqualTo(token.expiresAt, now)
  return {
    provider,
    account: accountLabel,
    status: expired ? ("expired" as const) : ("authenticated" as const),
    token_type: token.tokenType,
    ...(token.expiresAt === undefined ? {} : { expires_at: DateTime.formatIso(token.expiresAt) }),
    ...Option.match(token.expiresIn(now), { onNone: () => ({}), onSome: (expires_in) => ({ expires_in }) }),
    ...(token.scope === undefined || token.scope === "" ? {} : { scope: token.scope }),
    has_refresh_token: token.refreshToken !== undefined,
    ...(token.refreshExpiresAt === undefined ? {} : { refresh_expires_at: DateTime.formatIso(token.refreshExpiresAt) }),
  }
}

/**
 * The token info fields, all optional, for results that may also be pending.
 *
 * @example
 * ```ts
 * import * as Schema from "effect/Schema"
 * import { OptionalTokenInfo } from "./inputs.js"
 *
 * const Output = Schema.Struct({ ...OptionalTokenInfo, status: Schema.Literal("authenticated", "pending") })
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionalTokenInfo = {
  provider: Schema.optional(TokenInfo.provider),
  account: Schema.optional(TokenInfo.account),
  token_type: Schema.optional(TokenInfo.token_type),
  expires_at: TokenInfo.expires_at,
  expires_in: TokenInfo.expires_in,
  scope: TokenInfo.scope,
  has_refresh_token: Schema.optional(TokenInfo.has_refresh_token),
  refresh_expires_at: TokenInfo.refresh_expires_at,
}
