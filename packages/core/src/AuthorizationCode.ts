/**
 * Helpers of the authorization code grant (RFC 6749 §4.1): `state`, PKCE
 * (RFC 7636, S256) and reading the redirect the browser lands on.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { asProse, oneLine, shortened } from "./internal/scrub.js"
import { InvalidInput, OAuthProtocolError, StateMismatch } from "./OAuthError.js"

/**
 * How long a started authorization-code login waits for the browser's
 * redirect before it expires (hyperid and hyperline alike).
 *
 * @example
 * ```ts
 * import { AuthorizationCode } from "@hyperauth/core"
 * import * as Duration from "effect/Duration"
 *
 * Duration.toMinutes(AuthorizationCode.loginLifetime) // 10
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const loginLifetime: Duration.Duration = Duration.minutes(10)

/**
 * A fresh `state`: 256 random bits, base64url (RFC 6749 §10.12 asks for a
 * non-guessable value).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * const state = Effect.runSync(AuthorizationCode.makeState) // 43 characters, different every time
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeState: Effect.Effect<string> = Effect.sync(() => randomBytes(32).toString("base64url"))

/**
 * A PKCE pair (RFC 7636 §4.1-4.2): the verifier stays with the client, the
 * S256 challenge goes in the authorization URL.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * const pkce: AuthorizationCode.Pkce = Effect.runSync(AuthorizationCode.makePkce)
 * AuthorizationCode.s256(Redacted.value(pkce.verifier)) === pkce.challenge // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Pkce {
  readonly verifier: Redacted.Redacted<string>
  readonly challenge: string
  readonly method: "S256"
}

/**
 * The S256 challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))).
 *
 * @example
 * ```ts
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * // The example of RFC 7636 appendix B.
 * AuthorizationCode.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const s256 = (verifier: string): string => createHash("sha256").update(verifier, "ascii").digest("base64url")

/**
 * A fresh PKCE pair with a 43-character verifier (256 random bits).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * const program = Effect.gen(function* () {
 *   const pkce = yield* AuthorizationCode.makePkce
 *   // `challenge` and `method` go in the authorization URL; `verifier` (Redacted) in the code exchange.
 *   return `code_challenge=${pkce.challenge}&code_challenge_method=${pkce.method}`
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePkce: Effect.Effect<Pkce> = Effect.sync(() => {
  const verifier = randomBytes(32).toString("base64url")
  return { verifier: Redacted.make(verifier), challenge: s256(verifier), method: "S256" }
})

/**
 * Whether a `state` received equals the one sent: the one place states are
 * compared, in constant time that does not leak the length either.
 *
 * @example
 * ```ts
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * AuthorizationCode.sameState("b4Xq", "b4Xq") // true
 * AuthorizationCode.sameState("b4Xq", "b4X") // false
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const sameState = (received: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(received).digest(), createHash("sha256").update(expected).digest())

/**
 * The name of a parameter the query carries more than once, if any: an
 * authorization response with a repeated parameter is refused (RFC 6749
 * §3.1, "parameters MUST NOT be included more than once").
 *
 * @example
 * ```ts
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * AuthorizationCode.repeatedParameter(new URLSearchParams("code=a&state=s&code=b")) // "code"
 * AuthorizationCode.repeatedParameter(new URLSearchParams("code=a&state=s")) // undefined
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const repeatedParameter = (query: URLSearchParams): string | undefined => {
  const seen = new Set<string>()
  for (const key of query.keys()) {
    if (seen.has(key)) return key
    seen.add(key)
  }
  return undefined
}

/**
 * What an authorization redirect carried.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * const code = AuthorizationCode.parseRedirect("http://127.0.0.1:8976/callback/hyperline?code=c0de&state=s1", {
 *   expectedState: "s1",
 *   provider: "hyperline",
 * }).pipe(Effect.map((redirect: AuthorizationCode.Redirect) => Redacted.value(redirect.code))) // "c0de"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Redirect {
  readonly code: Redacted.Redacted<string>
  /** Every other query parameter, e.g. hyperid's `locale`. */
  readonly params: Readonly<Record<string, string>>
}

/**
 * What the redirect says in prose (`error_description`, `error_uri`), as
 * it goes into messages, the listener's page and the log: anyone who can
 * send the browser to the redirect URI writes it, so it is `Scrub.asProse`,
 * one line of at most 500 characters, like a token endpoint's.
 */
const prose = (text: string | null): string | undefined => (text === null ? undefined : asProse(text))

/** A value from the URL as a message quotes it: on one line, and 200 characters at most. */
const quoted = (text: string): string => {
  const line = oneLine(text)
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/** Whether `url` is on `redirectUri`: the same origin and path (the query is the answer's). */
const onRedirectUri = (url: URL, redirectUri: string): boolean => {
  try {
    const expected = new URL(redirectUri)
    return url.origin === expected.origin && url.pathname === expected.pathname
  } catch {
    return false
  }
}

/**
 * Reads the URL the browser was redirected to (RFC 6749 §4.1.2).
 *
 * A parameter given twice is `InvalidInput`. The `state` is checked next and
 * in constant time: a missing or other one is `StateMismatch` whatever else
 * the URL says, so a forged redirect can neither hand over a code nor fake
 * an error (RFC 6749 §10.12). A URL off `redirectUri` is `InvalidInput`. An `iss` (RFC 9207) must equal `expectedIssuer` when one is given,
 * else it is `InvalidInput` (a response from another authorization server).
 * Then `error` (e.g. `access_denied`) becomes an `OAuthProtocolError`, and a
 * URL with neither `error` nor `code` is `InvalidInput`.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { AuthorizationCode } from "@hyperauth/core"
 *
 * const program = AuthorizationCode.parseRedirect("http://127.0.0.1:8976/callback/hyperid?code=c0de&state=s1&locale=en", {
 *   expectedState: "s1",
 *   provider: "hyperid",
 * }).pipe(Effect.map((redirect) => [Redacted.value(redirect.code), redirect.params])) // ["c0de", { locale: "en" }]
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRedirect = (
  url: string,
  options: {
    readonly expectedState: string
    readonly provider?: string | undefined
    /**
     * The redirect URI the login named: the URL must be on it (same origin
     * and path), or it is `InvalidInput`, so a URL from elsewhere that
     * carries this login's `state` still hands over no code.
     */
    readonly redirectUri?: string | undefined
    /** The authorization server's issuer, which an `iss` parameter must equal (RFC 9207 §2.4). */
    readonly expectedIssuer?: string | undefined
  },
): Effect.Effect<Redirect, StateMismatch | OAuthProtocolError | InvalidInput> =>
  Effect.suspend((): Effect.Effect<Redirect, StateMismatch | OAuthProtocolError | InvalidInput> => {
    const { provider, expectedState } = options
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return Effect.fail(
        new InvalidInput({
          provider,
          reason: "the redirect URL is not a valid URL: paste the whole address the browser landed on.",
        }),
      )
    }
    const query = parsed.searchParams
    const repeated = repeatedParameter(query)
    if (repeated !== undefined) {
      return Effect.fail(
        new InvalidInput({
          provider,
          reason: `the redirect URL carries "${quoted(repeated)}" more than once, which an authorization response never does: use the URL the browser landed on, unchanged.`,
        }),
      )
    }
    const state = query.get("state")
    if (state === null || !sameState(state, expectedState)) return Effect.fail(new StateMismatch({ provider }))
    if (options.redirectUri !== undefined && !onRedirectUri(parsed, options.redirectUri)) {
      return Effect.fail(
        new InvalidInput({
          provider,
          reason: `the URL is not on this login's redirect URI ${options.redirectUri}: paste the address the browser landed on after approving, unchanged.`,
        }),
      )
    }
    const iss = query.get("iss")
    if (iss !== null && options.expectedIssuer !== undefined && iss !== options.expectedIssuer) {
      return Effect.fail(
        new InvalidInput({
          provider,
          reason: `the redirect was issued by ${quoted(iss)}, not by ${options.expectedIssuer}: it does not answer this login. Open the login's authorization_url again.`,
        }),
      )
    }
    const error = query.get("error")
    if (error !== null) {
      // RFC 6749 §4.1.2.1: printable ASCII but `"` and `\`, so no line break or control character reaches a message.
      if (!/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(error)) {
        return Effect.fail(
          new InvalidInput({
            provider,
            reason:
              "the redirect's error code is not one an authorization server sends (RFC 6749 §4.1.2.1): open the login's authorization_url again.",
          }),
        )
      }
      return Effect.fail(
        new OAuthProtocolError({
          provider,
          // Printable ASCII already, but of any length: cut like a token endpoint's unregistered code.
          error: shortened(error),
          errorDescription: prose(query.get("error_description")),
          errorUri: prose(query.get("error_uri")),
        }),
      )
    }
    const code = query.get("code")
    if (code === null || code === "") {
      return Effect.fail(
        new InvalidInput({
          provider,
          reason: "the redirect URL has no code: paste the whole address the browser landed on after approving.",
        }),
      )
    }
    const params: Record<string, string> = {}
    for (const [key, value] of query) if (key !== "code" && key !== "state" && key !== "iss") params[key] = value
    return Effect.succeed({ code: Redacted.make(code), params })
  })
