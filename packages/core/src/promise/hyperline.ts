/**
 * hyperline with Promises, a thin facade over the `Hyperline` Effect
 * service: start a login, finish it from the redirect, refresh, revoke, and
 * call the API as `fetch` would, with the `Hyperline-CompanyId` header.
 *
 * ```ts
 * import { hyperline } from "@hyperauth/core/promise"
 *
 * const login = await hyperline.authorizationUrl() // keep it (plain strings) until the browser comes back
 * console.log(`Open ${login.url}`)
 * const token = await hyperline.completeLogin(login, "http://127.0.0.1:8976/callback/hyperline?code=…&state=…")
 * const response = await hyperline.fetch(token, "/v1/customers", { companyId: "cmp_acme" })
 * const customers: unknown = await response.json()
 * const renewed = await hyperline.refresh(token)
 * await hyperline.revoke(renewed)
 * ```
 *
 * Settings are read from the environment at each call, as the service's
 * `layerConfig` reads them (`HYPERLINE_CLIENT_ID`, `HYPERLINE_CLIENT_SECRET`,
 * `HYPERLINE_ENVIRONMENT`, `HYPERLINE_BASE_URL`, `HYPERLINE_REDIRECT_URI`,
 * `HYPERLINE_COMPANY_ID`, `HYPERAUTH_HTTP_TIMEOUT`); each call has its own
 * connections, closed when it ends. Failures reject with a
 * `HyperauthError`, whose `code` is one of the stable codes; every call
 * takes an `AbortSignal`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Hyperline from "../Hyperline.js"
import {
  type ApiRequestInit,
  apiRequest,
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
  toResponse,
  transport,
} from "../internal/promise.js"
import { refreshTokenOf } from "../internal/provider.js"
import * as SharedCalls from "../internal/sharedCalls.js"
import { InvalidInput, type OAuthError } from "../OAuthError.js"
import type { TokenSet } from "../Token.js"

const providerId = "hyperline"

/** On a service of the settings the call reads. */
const provided = <A, E>(program: Effect.Effect<A, E, Hyperline.Hyperline>): Effect.Effect<A, E | OAuthError> =>
  Effect.provide(program, Hyperline.layerConfig.pipe(Layer.provide(transport())))

/** The service of `settings`, on the facades' shared transport. */
const serviceOf = (settings: Hyperline.Options) => Hyperline.definition.layer(settings).pipe(Layer.provide(transport()))

/** What hyperline checks with a grant, besides the grant: where it is sent, and the client that sends it. */
const clientProof = (settings: Hyperline.Options): ReadonlyArray<string> => [
  settings.origin,
  settings.clientId,
  Redacted.value(settings.clientSecret),
]

/** Each call on a service of the settings it reads, on the facades' shared transport. */
const run = <A>(
  program: Effect.Effect<A, OAuthError | HyperauthError, Hyperline.Hyperline>,
  options?: CallOptions,
): Promise<A> => runPromise(providerId, provided(program), options)

/** Completions of one login with one redirect: shared while one runs, refused once one succeeded (a reused code ends the login). */
const completions = completeOnce<TokenSet>(providerId)

/** Refreshes of one refresh token at once: rotated, a second would reuse it, which ends the login; rotated, its answer is kept 30 s for a refresh of the spent token after it. */
const refreshes = SharedCalls.make<TokenSet, OAuthError>(refreshSharing(providerId, "HYPERLINE"))

/**
 * A started login: the URL to send the user to, and what finishing it
 * needs (its `state` and redirect URI). Plain strings, so a web app can
 * keep it in its session between the redirect and the callback.
 *
 * @example
 * ```ts
 * import { hyperline } from "@hyperauth/core/promise"
 *
 * const login: hyperline.Login = await hyperline.authorizationUrl({ redirectUri: "https://app.example.com/callback" })
 * const kept = JSON.stringify(login) // into the session; JSON.parse(kept) finishes the login later
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Login {
  readonly url: string
  readonly state: string
  readonly redirectUri: string
}

/**
 * Starts a login: the authorization URL with `client_id`, `redirect_uri`
 * (`HYPERLINE_REDIRECT_URI` unless given), `response_type=code` and a fresh
 * `state`. Nothing is sent until `completeLogin`; an option other than
 * `redirectUri` and `signal` is `invalid_input`.
 *
 * @example
 * ```ts
 * import { hyperline } from "@hyperauth/core/promise"
 *
 * const login = await hyperline.authorizationUrl()
 * // Redirect the user's browser to login.url; keep login for the callback.
 * ```
 *
 * @since 0.2.0
 * @category login
 */
export const authorizationUrl = (
  options?: { readonly redirectUri?: string | undefined } & CallOptions,
): Promise<Login> =>
  run(
    Effect.gen(function* () {
      const { signal: _signal, redirectUri, ...unknown } = yield* optionsOf(providerId, options)
      // As hyperid's: a misspelt option is refused, not dropped.
      const names = Object.keys(unknown)
      if (names.length > 0) {
        const reason = `${names.join(", ")} is not a hyperline option: it takes redirectUri and signal. Nothing was sent.`
        return yield* new InvalidInput({ provider: providerId, reason })
      }
      const request = { redirectUri: yield* optionalText(providerId, "redirectUri", redirectUri) }
      const hyperline = yield* Hyperline.Hyperline
      const started = yield* hyperline.authorizationUrl(request)
      return { url: started.url, state: started.state, redirectUri: started.redirectUri }
    }),
    options,
  )

/** The login as the service takes it; one that lost a member (a session that did not keep it) is `invalid_input`. */
const loginOf = (
  login: Pick<Login, "state" | "redirectUri">,
): Effect.Effect<Pick<Hyperline.AuthorizationRequest, "state" | "redirectUri">, InvalidInput | HyperauthError> => {
  if (typeof login === "string") {
    const reason = "the login is text: JSON.parse what the session kept, and pass the object. Nothing was sent."
    return Effect.fail(new InvalidInput({ provider: providerId, reason }))
  }
  return Effect.flatMap(
    readInput(providerId, "the login", () => {
      const held = typeof login === "object" && login !== null ? login : undefined
      return { state: held?.state, redirectUri: held?.redirectUri }
    }),
    ({ state, redirectUri }) =>
      typeof state === "string" && typeof redirectUri === "string"
        ? Effect.succeed({ state, redirectUri })
        : Effect.fail(
            new InvalidInput({
              provider: providerId,
              reason:
                "the login lacks its state or redirectUri: keep the whole object authorizationUrl resolved with, or start a new login. Nothing was sent.",
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
 * but another redirectUri or client is given nothing, and
 * rejects with `invalid_input` once the code is spent, sending nothing), and once one succeeded, another (a
 * reloaded callback page) rejects with `invalid_input`, sending nothing: a
 * code sent twice is a reuse. In this process; a completion that failed
 * may be tried again. An abort while the code is on its way waits for the
 * answer (a second at most) and resolves with its token; a later answer is
 * kept for the same completion again (see `CallOptions`).
 *
 * @example
 * ```ts
 * import { HyperauthError, hyperline } from "@hyperauth/core/promise"
 *
 * const login = await hyperline.authorizationUrl()
 * try {
 *   const token = await hyperline.completeLogin(login, "http://127.0.0.1:8976/callback/hyperline?code=…&state=…")
 * } catch (error) {
 *   if (error instanceof HyperauthError && error.code === "state_mismatch") console.log("not this login's redirect")
 * }
 * ```
 *
 * @since 0.2.0
 * @category login
 */
export const completeLogin = (
  login: Pick<Login, "state" | "redirectUri">,
  redirectUrl: string,
  options?: CallOptions,
): Promise<Token> =>
  runGrant(providerId, options, (signal) =>
    Effect.gen(function* () {
      const request = yield* loginOf(login)
      const settings = yield* Hyperline.definition.loadConfig
      const exchange = Effect.provide(
        Effect.flatMap(Hyperline.Hyperline, (hyperline) => hyperline.completeLogin(request, redirectUrl)),
        serviceOf(settings),
      )
      // All hyperline checks with the code: the login's redirect URI, and the client.
      const proof = [...clientProof(settings), request.redirectUri]
      return yield* tokenOf(yield* completions(request.state, redirectUrl, proof, exchange, signal))
    }),
  )

/**
 * A new token from a refresh token, or from a `Token` that holds one (a
 * refresh answer without a new refresh token keeps it). No refresh token
 * rejects with `invalid_input` before anything is sent; a revoked one,
 * with `invalid_grant`. Refreshes of the same refresh token at once share
 * one request, in this process: where refresh tokens rotate, a second
 * would be a reuse, which ends the login.
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
 * import { hyperline, type Token } from "@hyperauth/core/promise"
 *
 * const renew = (token: Token): Promise<Token> => hyperline.refresh(token)
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const refresh = (token: string | Pick<Token, "refreshToken" | "scope">, options?: CallOptions): Promise<Token> =>
  runGrant(providerId, options, (signal) =>
    Effect.gen(function* () {
      const held = yield* heldTokenSet(providerId, token)
      const settings = yield* Hyperline.definition.loadConfig
      const proof = clientProof(settings)
      const renewal = (of: TokenSet) =>
        Effect.provide(
          Effect.flatMap(Hyperline.Hyperline, (hyperline) => hyperline.refresh(of)),
          serviceOf(settings),
        )
      // A kept answer whose access token expired meanwhile is renewed once, shared like every refresh of its token.
      const renewKept = renewedIfExpired((kept) => refreshes(refreshPresentation(kept, proof), renewal(kept), signal))
      return yield* tokenOf(yield* refreshes(refreshPresentation(held, proof), renewal(held), signal, renewKept))
    }),
  )

/**
 * Revokes a refresh token (or that of a `Token`): it refreshes nothing
 * afterwards.
 *
 * @example
 * ```ts
 * import { hyperline, type Token } from "@hyperauth/core/promise"
 *
 * const signOut = (token: Token): Promise<void> => hyperline.revoke(token)
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const revoke = (token: string | Pick<Token, "refreshToken">, options?: CallOptions): Promise<void> =>
  run(
    Effect.gen(function* () {
      const refreshToken = yield* refreshTokenOf(providerId, yield* heldTokenSet(providerId, token))
      const hyperline = yield* Hyperline.Hyperline
      yield* hyperline.revoke(refreshToken)
    }),
    options,
  )

/**
 * Calls hyperline's API as `fetch` would, with the access token (as text,
 * or the `Token` that holds it) and `Hyperline-CompanyId` (`companyId`,
 * else `HYPERLINE_COMPANY_ID`, else none: the oldest company). A path is
 * resolved against the API origin; a URL elsewhere rejects with
 * `invalid_input`, and the token is never sent there. Resolves with a
 * standard `Response` whatever its status, as `fetch` does (redirects are
 * not followed), except a 401, which rejects with `invalid_token`: nothing
 * here can renew the token, so refresh it and call again.
 *
 * @example
 * ```ts
 * import { hyperline } from "@hyperauth/core/promise"
 *
 * const response = await hyperline.fetch("an access token", "/v1/customers?limit=10", { companyId: "cmp_acme" })
 * if (response.ok) console.log(await response.json())
 * ```
 *
 * @since 0.2.0
 * @category api
 */
export const fetch = (
  token: string | Pick<Token, "accessToken">,
  path: string,
  init?: ApiRequestInit & { readonly companyId?: string | undefined },
): Promise<Response> =>
  run(
    Effect.gen(function* () {
      const accessToken = yield* heldAccessToken(providerId, token)
      const request = yield* apiRequest(providerId, path, init)
      const { companyId, maxBodyBytes } = yield* optionsOf(providerId, init)
      const call = { companyId: yield* optionalText(providerId, "companyId", companyId), maxBodyBytes }
      const hyperline = yield* Hyperline.Hyperline
      const answer = yield* hyperline.request(accessToken, request, call)
      return yield* toResponse(providerId, request, answer, maxBodyBytes)
    }),
    init,
  )
