/**
 * The token model: what a login or refresh yields, with absolute expiry
 * times computed from the `Clock` when the answer arrived, and every token
 * held as `Redacted` so it cannot reach a log by accident.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { minScrubbableLength, withoutKnownSecrets } from "./internal/scrub.js"
import * as wire from "./internal/wire.js"

/**
 * A set of tokens for one login. Encodes to JSON with ISO 8601 times (the
 * token store's format); decoding gives `Redacted` tokens back.
 *
 * @example
 * ```ts
 * import { DateTime, Redacted } from "effect"
 * import { Token } from "@hyperauth/core"
 *
 * const now = DateTime.unsafeNow()
 * const token = new Token.TokenSet({
 *   accessToken: Redacted.make("at-1"),
 *   tokenType: "Bearer",
 *   receivedAt: now,
 *   expiresAt: DateTime.add(now, { minutes: 5 }),
 * })
 * token.expiresWithin(now, "1 minute") // false
 * String(token.accessToken) // "<redacted>"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class TokenSet extends Schema.Class<TokenSet>("@hyperauth/core/TokenSet")({
  accessToken: Schema.Redacted(Schema.String),
  /** Normalised: "Bearer" whatever case the provider used. */
  tokenType: Schema.String,
  receivedAt: Schema.DateTimeUtc,
  /** Absent when the provider did not say (`expires_in` is optional in RFC 6749). */
  expiresAt: Schema.optional(Schema.DateTimeUtc),
  refreshToken: Schema.optional(Schema.Redacted(Schema.String)),
  refreshExpiresAt: Schema.optional(Schema.DateTimeUtc),
  scope: Schema.optional(Schema.String),
  /**
   * The `Provider.source` of the service that obtained it: `Accounts` uses a
   * login only with the provider settings that made it. Absent on tokens
   * made by hand and on logins stored before it was recorded.
   */
  source: Schema.optional(Schema.String),
}) {
  /** Whether the access token expires within `margin` of `now` (or already has). */
  expiresWithin(now: DateTime.Utc, margin: Duration.DurationInput): boolean {
    return this.expiresAt !== undefined && DateTime.lessThanOrEqualTo(this.expiresAt, DateTime.addDuration(now, margin))
  }

  /** Whole seconds until the access token expires (0 once it has), if known. */
  expiresIn(now: DateTime.Utc): Option.Option<number> {
    return this.expiresAt === undefined
      ? Option.none()
      : Option.some(Math.max(0, Math.floor(DateTime.distance(now, this.expiresAt) / 1000)))
  }

  /** Whether a refresh token is held and has not expired at `now`. */
  canRefresh(now: DateTime.Utc): boolean {
    return (
      this.refreshToken !== undefined &&
      (this.refreshExpiresAt === undefined || DateTime.greaterThan(this.refreshExpiresAt, now))
    )
  }
}

/**
 * An RFC 6749 §5.1 access token response as it comes off the wire
 * (`access_token`, `expires_in`, `refresh_token`, `scope`, ...), what
 * `fromResponse` makes a `TokenSet` of. `token_type`, when present, is
 * Bearer (in any case).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Token } from "@hyperauth/core"
 *
 * const answer = Schema.decodeUnknownSync(Token.TokenResponse)({ access_token: "at-1", token_type: "bearer", expires_in: 300 })
 * answer.expires_in // 300
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const TokenResponse = wire.TokenResponse

/**
 * A decoded access token response: `TokenResponse`'s type.
 *
 * @example
 * ```ts
 * import type { Token } from "@hyperauth/core"
 *
 * const answer: Token.TokenResponse = { access_token: "at-1", expires_in: 300 }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenResponse extends Schema.Schema.Type<typeof TokenResponse> {}

/** The answer's scope without the tokens it came with or the request's secrets: a server may echo either. */
const grantedScope = (response: TokenResponse, secrets: ReadonlyArray<Redacted.Redacted<string>> = []): string =>
  withoutKnownSecrets(response.scope ?? "", [
    ...[response.access_token, response.refresh_token].flatMap((token) =>
      // Those too short to find safely are left out: the scope is not withheld whole for them.
      token === undefined || token.length < minScrubbableLength ? [] : [Redacted.make(token)],
    ),
    ...secrets.filter((secret) => Redacted.value(secret).length >= minScrubbableLength),
  ])

/**
 * Builds a `TokenSet` from a token response received now.
 *
 * On refresh pass the `previous` set: a response without `refresh_token`
 * keeps the old one (RFC 6749 §6 lets the server not rotate it), along with
 * its expiry. A response without `scope` grants the scope the request asked
 * for, `context.scope` (RFC 6749 §5.1: it is left out when "identical to
 * the scope requested"), and where the request named none, the scope
 * `previous` had (§6: a refresh naming none keeps the scope granted). A
 * response without `expires_in` lives `context.defaultExpiresIn` seconds,
 * the default a provider documents (§5.1 has a server that leaves it out
 * document one), or has no known expiry.
 * An `id_token` is not kept: it is not validated here. A `scope` that holds
 * the answer's own tokens, or a secret the request carried
 * (`context.secrets`), has them replaced by `[redacted]`: a scope is shown
 * where tokens never are.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Token } from "@hyperauth/core"
 *
 * const program = Effect.gen(function* () {
 *   const first = yield* Token.fromResponse({ access_token: "at-1", expires_in: 300, refresh_token: "rt-1" })
 *   // A refresh answer without `refresh_token` keeps the one the set had.
 *   const refreshed = yield* Token.fromResponse({ access_token: "at-2", expires_in: 300 }, first)
 *   // An answer without `scope` grants the scope asked for.
 *   const granted = yield* Token.fromResponse({ access_token: "at-3" }, undefined, { scope: "read" })
 *   return refreshed.refreshToken !== undefined && granted.scope === "read" // true
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResponse = (
  response: TokenResponse,
  previous?: TokenSet,
  context?: {
    /** The scope the request asked for. */
    readonly scope?: string | undefined
    /** The access token lifetime the provider documents, in seconds. */
    readonly defaultExpiresIn?: number | undefined
    /** What the request carried (`Requests.Built.secrets`), which a scope must not show. */
    readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
    /** The `Provider.source` of the service that sent the request. */
    readonly source?: string | undefined
  },
): Effect.Effect<TokenSet> =>
  Effect.map(DateTime.now, (now) => {
    const after = (seconds: number | undefined) =>
      seconds === undefined ? undefined : DateTime.addDuration(now, Duration.seconds(seconds))
    return new TokenSet(
      {
        accessToken: Redacted.make(response.access_token),
        // The wire schemas admit Bearer alone, in any case, or none where the provider documents none.
        tokenType: "Bearer",
        receivedAt: now,
        expiresAt: after(response.expires_in ?? context?.defaultExpiresIn),
        refreshToken:
          response.refresh_token === undefined ? previous?.refreshToken : Redacted.make(response.refresh_token),
        refreshExpiresAt:
          response.refresh_token !== undefined || response.refresh_expires_in !== undefined
            ? // Keycloak sends refresh_expires_in 0 for offline tokens: they do not expire.
              after(response.refresh_expires_in === 0 ? undefined : response.refresh_expires_in)
            : previous?.refreshExpiresAt,
        // An empty requested scope is none (RFC 6749 §3.3: a scope has at least one token).
        scope:
          (response.scope === undefined ? undefined : grantedScope(response, context?.secrets)) ??
          (context?.scope || undefined) ??
          previous?.scope,
        source: context?.source ?? previous?.source,
      },
      // Every field comes from a decoded answer, a `previous` set or the Clock:
      // valid by construction, so the class's validator is not run again.
      { disableValidation: true },
    )
  })
