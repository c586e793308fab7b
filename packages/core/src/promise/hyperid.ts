/**
 * hyperid with Promises, a thin facade over the `HyperId` Effect service:
 * start a login, finish it from the redirect, refresh, introspect, log out.
 *
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * // Keep the login (plain strings: JSON in your session is fine) until the browser comes back.
 * const login = await hyperid.authorizationUrl({ scope: "openid email", ui_locales: "en" })
 * console.log(`Open ${login.url}`)
 * const landedOn = "http://127.0.0.1:8976/callback/hyperid?state=…&code=…&locale=en" // where the browser was sent back
 * const token = await hyperid.completeLogin(login, landedOn)
 * const info = await hyperid.introspectToken(token.accessToken)
 * const renewed = await hyperid.refresh(token)
 * await hyperid.logout(renewed)
 * ```
 *
 * Settings are read from the environment at each call, as the service's
 * `layerConfig` reads them (`HYPERID_CLIENT_ID`, `HYPERID_CLIENT_SECRET`,
 * `HYPERID_ENVIRONMENT`, `HYPERID_BASE_URL`, `HYPERID_REDIRECT_URI`,
 * `HYPERAUTH_HTTP_TIMEOUT`); each call has its own connections, closed
 * when it ends. Failures reject with a `HyperauthError`, whose `code` is
 * one of the stable codes; every call takes an `AbortSignal`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as HyperId from "../HyperId.js"
import type { IntrospectionResponse } from "../Introspection.js"
import {
  type CallOptions,
  completeOnce,
  type HyperauthError,
  heldAccessToken,
  heldTokenSet,
  optionalText,
  optionsOf,
  readInput,
  refreshPresentation,
  refreshSharing,
  renewedIfExpired,
  runGrant,
  run as runPromise,
  type Token,
  tokenOf,
  transport,
} from "../internal/promise.js"
import { refreshTokenOf } from "../internal/provider.js"
import * as SharedCalls from "../internal/sharedCalls.js"
import { InvalidInput, type OAuthError } from "../OAuthError.js"
import type { TokenSet } from "../Token.js"

const providerId = "hyperid"

/** On a service of the settings the call reads. */
const provided = <A, E>(program: Effect.Effect<A, E, HyperId.HyperId>): Effect.Effect<A, E | OAuthError> =>
  Effect.provide(program, HyperId.layerConfig.pipe(Layer.provide(transport())))

/** The service of `settings`, on the facades' shared transport. */
const serviceOf = (settings: HyperId.Options) => HyperId.definition.layer(settings).pipe(Layer.provide(transport()))

/** What hyperid checks with a grant, besides the grant: where it is sent, and the client that sends it. */
const clientProof = (settings: HyperId.Options): ReadonlyArray<string> => [
  settings.origin,
  settings.clientId,
  Redacted.value(settings.clientSecret),
]

/** Each call on a service of the settings it reads, on the facades' shared transport. */
const run = <A>(
  program: Effect.Effect<A, OAuthError | HyperauthError, HyperId.HyperId>,
  options?: CallOptions,
): Promise<A> => runPromise(providerId, provided(program), options)

/** Completions of one login with one redirect: shared while one runs, refused once one succeeded (a reused code ends the login). */
const completions = completeOnce<HyperId.LoginResult>(providerId)

/** Refreshes of one refresh token at once: rotated, a second would reuse it, which ends the login; rotated, its answer is kept 30 s for a refresh of the spent token after it. */
const refreshes = SharedCalls.make<TokenSet, OAuthError>(refreshSharing(providerId, "HYPERID"))

/**
 * What a login asks for: the scope, the redirect URI (`HYPERID_REDIRECT_URI`
 * when absent) and hyperid's own parameters, under the names its
 * documentation gives them. `verification_level` 2 (social) needs
 * `twitter-check` or `telegram-check` in `scope`; an unknown name is
 * `invalid_input`.
 *
 * @example
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * const options: hyperid.AuthorizationOptions = { scope: "openid telegram-check", verification_level: 2, ui_locales: "de" }
 * const login = await hyperid.authorizationUrl(options)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface AuthorizationOptions extends CallOptions {
  readonly scope?: string | undefined
  readonly redirectUri?: string | undefined
  readonly flow_mode?: number | undefined
  readonly ui_locales?: string | undefined
  readonly login_hint?: string | undefined
  /** 4 = KYC full, 3 = KYC basic, 2 = social (needs twitter-check or telegram-check in scope). */
  readonly verification_level?: 2 | 3 | 4 | undefined
}

/**
 * A started login: the URL to send the user to, and what finishing it
 * needs (its `state`, PKCE verifier and redirect URI). Plain strings, so a
 * web app can keep it in its session between the redirect and the
 * callback; the verifier is a secret of this login, kept server-side.
 *
 * @example
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * const login: hyperid.Login = await hyperid.authorizationUrl({ scope: "openid" })
 * const kept = JSON.stringify(login) // into the session; JSON.parse(kept) finishes the login later
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Login {
  readonly url: string
  readonly state: string
  readonly codeVerifier: string
  readonly redirectUri: string
}

/**
 * The token of a finished login, with the `locale` the redirect carried.
 *
 * @example
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * const login = await hyperid.authorizationUrl({ scope: "openid" })
 * const token: hyperid.LoginToken = await hyperid.completeLogin(login, "http://127.0.0.1:8976/callback/hyperid?…")
 * const language = token.locale ?? "en"
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface LoginToken extends Token {
  readonly locale?: string | undefined
}

/**
 * Starts a login: the authorization URL, with a fresh `state` and PKCE
 * (S256). Bad parameters reject with `invalid_input` before anything is
 * sent; nothing is sent at all, in fact, until `completeLogin`.
 *
 * @example
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * const login = await hyperid.authorizationUrl({ scope: "openid email", verification_level: 3 })
 * // Redirect the user's browser to login.url; keep login for the callback.
 * ```
 *
 * @since 0.2.0
 * @category login
 */
export const authorizationUrl = (options?: AuthorizationOptions): Promise<Login> =>
  run(
    Effect.gen(function* () {
      // The signal is run's; every other member goes to the service, which refuses unknown ones.
      const { signal: _signal, scope, redirectUri, ...params } = yield* optionsOf(providerId, options)
      const request = {
        ...params,
        scope: yield* optionalText(providerId, "scope", scope),
        redirectUri: yield* optionalText(providerId, "redirectUri", redirectUri),
      }
      const hyperid = yield* HyperId.HyperId
      const started = yield* hyperid.authorizationUrl(request)
      return {
        url: started.url,
        state: started.state,
        codeVerifier: Redacted.value(started.codeVerifier),
        redirectUri: started.redirectUri,
      }
    }),
    options,
  )

/** The login as the service takes it; one that lost a member (a session that did not keep it) is `invalid_input`. */
const loginOf = (
  login: Pick<Login, "state" | "codeVerifier" | "redirectUri">,
): Effect.Effect<
  Pick<HyperId.AuthorizationRequest, "state" | "codeVerifier" | "redirectUri">,
  InvalidInput | HyperauthError
> => {
  if (typeof login === "string") {
    const reason = "the login is text: JSON.parse what the session kept, and pass the object. Nothing was sent."
    return Effect.fail(new InvalidInput({ provider: providerId, reason }))
  }
  return Effect.flatMap(
    readInput(providerId, "the login", () => {
      const held = typeof login === "object" && login !== null ? login : undefined
      return { state: held?.state, codeVerifier: held?.codeVerifier, redirectUri: held?.redirectUri }
    }),
    ({ state, codeVerifier, redirectUri }) =>
      typeof state === "string" && typeof codeVerifier === "string" && typeof redirectUri === "string"
        ? Effect.succeed({ state, codeVerifier: Redacted.make(codeVerifier), redirectUri })
        : Effect.fail(
            new InvalidInput({
              provider: providerId,
              reason:
                "the login lacks its state, codeVerifier or redirectUri: keep the whole object authorizationUrl resolved with, or start a new login. Nothing was sent.",
            }),
          ),
  )
}

/**
 * Finishes a login from the URL the browser was sent back to: checks its
 * `state` (`state_mismatch` otherwise, and the code is not sent), then
 * exchanges the code. The user's refusal rejects with `access_denied`.
 * Completions of the same login with the same URL at once (a callback
 * submitted twice) share one exchange (the same login: one with the code
 * but another codeVerifier or client is given nothing, and
 * rejects with `invalid_input` once the code is spent, sending nothing), and once one succeeded, another (a
 * reloaded callback page) rejects with `invalid_input`, sending nothing: a
 * code sent twice ends the login at hyperid. In this process; a completion
 * that failed may be tried again. An abort while the code is on its way
 * waits for the answer (a second at most) and resolves with its token; a
 * later answer is kept for the same completion again (see `CallOptions`).
 *
 * @example
 * ```ts
 * import { HyperauthError, hyperid } from "@hyperauth/core/promise"
 *
 * const login = await hyperid.authorizationUrl({ scope: "openid" })
 * try {
 *   const token = await hyperid.completeLogin(login, "http://127.0.0.1:8976/callback/hyperid?state=…&code=…")
 * } catch (error) {
 *   if (error instanceof HyperauthError && error.code === "state_mismatch") console.log("not this login's redirect")
 * }
 * ```
 *
 * @since 0.2.0
 * @category login
 */
export const completeLogin = (
  login: Pick<Login, "state" | "codeVerifier" | "redirectUri">,
  redirectUrl: string,
  options?: CallOptions,
): Promise<LoginToken> =>
  runGrant(providerId, options, (signal) =>
    Effect.gen(function* () {
      const request = yield* loginOf(login)
      const settings = yield* HyperId.definition.loadConfig
      const exchange = Effect.provide(
        Effect.flatMap(HyperId.HyperId, (hyperid) => hyperid.completeLogin(request, redirectUrl)),
        serviceOf(settings),
      )
      // All hyperid checks with the code: the verifier and redirect URI of the login, and the client.
      const proof = [...clientProof(settings), request.redirectUri, Redacted.value(request.codeVerifier)]
      const { token, locale } = yield* completions(request.state, redirectUrl, proof, exchange, signal)
      return { ...(yield* tokenOf(token)), locale }
    }),
  )

/**
 * A new token from a refresh token, or from a `Token` that holds one (a
 * refresh answer without a new refresh token keeps it). No refresh token
 * rejects with `invalid_input` before anything is sent; one the realm no
 * longer accepts, with `invalid_grant`. Refreshes of the same refresh
 * token at once share one request, in this process: where refresh tokens
 * rotate, a second would be a reuse, which ends the login.
 * An abort while the refresh is on its way waits for its answer (a second
 * at most) and resolves with it: the old refresh token may be spent by
 * then. A later answer is kept for the next refresh of the same refresh
 * token (see `CallOptions`). A refresh that rotated the refresh token keeps
 * its answer 30 s for a refresh of the spent token after it (a request
 * that read the token before the renewal), which resolves with the same
 * new tokens, sending nothing; past that, the spent token is sent, and a
 * provider that rotates strictly ends the login, as it must for a stolen
 * token. A kept answer whose access token has expired meanwhile is renewed
 * once with the refresh token it holds (as it is, should that fail: its
 * `expiresIn` is then 0). Keep the token each refresh resolves with.
 *
 * @example
 * ```ts
 * import { hyperid, type Token } from "@hyperauth/core/promise"
 *
 * const renew = (token: Token): Promise<Token> => hyperid.refresh(token) // or hyperid.refresh(token.refreshToken ?? "")
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const refresh = (token: string | Pick<Token, "refreshToken" | "scope">, options?: CallOptions): Promise<Token> =>
  runGrant(providerId, options, (signal) =>
    Effect.gen(function* () {
      const held = yield* heldTokenSet(providerId, token)
      const settings = yield* HyperId.definition.loadConfig
      const proof = clientProof(settings)
      const renewal = (of: TokenSet) =>
        Effect.provide(
          Effect.flatMap(HyperId.HyperId, (hyperid) => hyperid.refresh(of)),
          serviceOf(settings),
        )
      // A kept answer whose access token expired meanwhile is renewed once, shared like every refresh of its token.
      const renewKept = renewedIfExpired((kept) => refreshes(refreshPresentation(kept, proof), renewal(kept), signal))
      return yield* tokenOf(yield* refreshes(refreshPresentation(held, proof), renewal(held), signal, renewKept))
    }),
  )

/**
 * Introspects an access token (RFC 7662), given as text or as the `Token`
 * that holds it. An invalid one resolves with `{ active: false }`; none (an
 * empty one) rejects with `invalid_input`, and nothing is sent.
 *
 * @example
 * ```ts
 * import { hyperid } from "@hyperauth/core/promise"
 *
 * const info = await hyperid.introspectToken("an access token")
 * if (info.active) console.log(`${info.sub} (${info.email}), scope ${info.scope}`)
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const introspectToken = (
  token: string | Pick<Token, "accessToken">,
  options?: CallOptions,
): Promise<IntrospectionResponse> =>
  run(
    Effect.gen(function* () {
      const accessToken = yield* heldAccessToken(providerId, token)
      const hyperid = yield* HyperId.HyperId
      return yield* hyperid.introspect(accessToken)
    }),
    options,
  )

/**
 * Ends the session of a refresh token (or of the `Token` that holds one),
 * and with it its access tokens. A session that has already ended (the
 * realm's `invalid_grant`) resolves too: it is logged out.
 *
 * @example
 * ```ts
 * import { hyperid, type Token } from "@hyperauth/core/promise"
 *
 * const signOut = (token: Token): Promise<void> => hyperid.logout(token)
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const logout = (token: string | Pick<Token, "refreshToken">, options?: CallOptions): Promise<void> =>
  run(
    Effect.gen(function* () {
      const refreshToken = yield* refreshTokenOf(providerId, yield* heldTokenSet(providerId, token))
      const hyperid = yield* HyperId.HyperId
      yield* hyperid.logout(refreshToken)
    }),
    options,
  )
