/**
 * A provider's API as one of its logins: an `HttpClient` that resolves
 * relative URLs against the provider's API base, adds what every call to
 * that provider needs (`Provider.decorate`, e.g. `Hyperline-CompanyId`)
 * and the login's Bearer token from `Accounts`, and answers a 401 by
 * renewing the token once and sending again. Callers refused at once
 * share one renewal (`Accounts.replaceRejected`); a token that cannot be
 * renewed is `invalid_token`.
 *
 * It is an `HttpClient` like any other, so the `@effect/platform`
 * combinators and response readers apply to it; `exchange` sends through
 * the core's pipeline instead (time limit, retries of safe requests, a
 * capped body, secrets kept out of errors) and returns the whole answer.
 *
 * @example
 * ```ts
 * import { AuthorizedClient, Hyperline } from "@hyperauth/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function* () {
 *   const hyperline = yield* Hyperline.Hyperline
 *   const api = yield* AuthorizedClient.make(hyperline.provider, "default", { companyId: "cmp_acme" })
 *   const answer = yield* api.exchange(HttpClientRequest.get("/v1/customers"))
 *   // or as an HttpClient: yield* api.get("/v1/customers")
 * })
 * ```
 *
 * @since 0.2.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Accounts from "./Accounts.js"
import * as ApiClient from "./ApiClient.js"
import type * as Limits from "./Limits.js"
import * as NodeHttpTransport from "./NodeHttpTransport.js"
import { InvalidInput, InvalidToken } from "./OAuthError.js"
import type { Provider } from "./Provider.js"
import type { TokenSet } from "./Token.js"
import type { AccountKey } from "./TokenStore.js"

/**
 * Where an authorized client's token comes from, and how a token the API
 * refused is replaced. `fromAccounts` is the usual one; `fromToken` sends
 * a token you hold as it is.
 *
 * @example
 * ```ts
 * import { type Accounts, AuthorizedClient } from "@hyperauth/core"
 *
 * const credentials = (accounts: Accounts.Service): AuthorizedClient.Credentials =>
 *   AuthorizedClient.fromAccounts(accounts, { provider: "hyperid", account: "default" })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Credentials {
  /** The token to send. */
  readonly current: Effect.Effect<TokenSet, Accounts.AccessError>
  /** A token to send instead of `rejected`, which the API refused (401). */
  readonly replace: (rejected: TokenSet) => Effect.Effect<TokenSet, Accounts.AccessError>
}

/**
 * How an authorized client sends: the company its calls act for (hyperline)
 * and the pipeline's time limit and retries (`Limits.Options`) for one
 * attempt of `exchange`.
 *
 * @example
 * ```ts
 * import { AuthorizedClient } from "@hyperauth/core"
 *
 * const options: AuthorizedClient.Options = { companyId: "cmp_acme", timeout: "10 seconds" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends Limits.Options {
  /** Handed to `Provider.decorate` (hyperline: the `Hyperline-CompanyId` header). */
  readonly companyId?: string | undefined
}

/**
 * An `HttpClient` for one login of one provider: relative URLs on its API
 * base, its headers and the login's Bearer token added, a 401 answered by
 * one renewal and one more try; `exchange` for the whole answer.
 *
 * @example
 * ```ts
 * import { AuthorizedClient } from "@hyperauth/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 *
 * const answer = (api: AuthorizedClient.AuthorizedClient) =>
 *   api.exchange(HttpClientRequest.get("/v1/controls/ctl_1"), { maxBodyBytes: 1024 * 1024 })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface AuthorizedClient
  extends HttpClient.HttpClient.With<HttpClientError.HttpClientError | Accounts.AccessError> {
  /** The provider whose API this calls. */
  readonly provider: Provider
  /**
   * Sends through the core's pipeline and returns the whole answer (status,
   * headers, body, cut at `maxBodyBytes`, 256 KiB by default), whatever its
   * status: a 401 after the renewal included. `companyId` replaces the
   * client's for this call.
   */
  readonly exchange: (
    request: HttpClientRequest.HttpClientRequest,
    options?: ExchangeOptions,
  ) => Effect.Effect<ApiClient.ApiResponse, Accounts.AccessError>
}

/**
 * Options of one `exchange`: how much of the body to read, and the company
 * to act for instead of the client's.
 *
 * @example
 * ```ts
 * import { AuthorizedClient } from "@hyperauth/core"
 *
 * const options: AuthorizedClient.ExchangeOptions = { maxBodyBytes: 1024 * 1024, companyId: "cmp_globex" }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface ExchangeOptions {
  /** Read at most this many bytes of the body (256 KiB by default); `truncated` says it was cut. */
  readonly maxBodyBytes?: number | undefined
  /** Replaces `Options.companyId` for this call. */
  readonly companyId?: string | undefined
}

/** What a `companyId` may be: a header value, and an id (visible ASCII, no spaces). */
const companyIdPattern = /^[\x21-\x7e]+$/

const cannotRenew = (provider: string) =>
  new InvalidToken({ provider, description: "the API refused it, and no refresh can renew it", renewable: false })

/**
 * A login kept by `Accounts`: its valid access token (refreshed when it
 * expires within `Accounts.refreshMargin`), and after a 401 a renewal
 * shared by every caller refused with the same token. A login that cannot
 * be renewed is `invalid_token`.
 *
 * @example
 * ```ts
 * import { Accounts, AuthorizedClient } from "@hyperauth/core"
 * import * as Effect from "effect/Effect"
 *
 * const credentials = Effect.map(Accounts.Accounts, (accounts) =>
 *   AuthorizedClient.fromAccounts(accounts, { provider: "hyperproof", account: "default" }),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromAccounts = (accounts: Accounts.Service, key: AccountKey): Credentials => ({
  current: accounts.accessToken(key),
  replace: (rejected) =>
    accounts.replaceRejected(key, rejected).pipe(
      Effect.catchTags({
        NotLoggedIn: () => Effect.fail(cannotRenew(key.provider)),
        NotSupported: () => Effect.fail(cannotRenew(key.provider)),
      }),
    ),
})

/**
 * A token you hold, sent as it is: a 401 is `invalid_token`, since nothing
 * here can renew it (you may: the message says to refresh it, or log in).
 *
 * @example
 * ```ts
 * import { AuthorizedClient, type Token } from "@hyperauth/core"
 *
 * const credentials = (token: Token.TokenSet) => AuthorizedClient.fromToken("hyperline", token)
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromToken = (provider: string, token: TokenSet): Credentials => ({
  current: Effect.succeed(token),
  replace: () => Effect.fail(new InvalidToken({ provider, description: "the API refused it" })),
})

/** A refused answer's body is not wanted; reading a little of it lets the connection be reused. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response instanceof NodeHttpTransport.NodeHttpResponse ? Effect.ignore(response.readCapped(64 * 1024)) : Effect.void

/**
 * A redirect is an answer, as in the core's pipeline: fetch would follow it
 * with the token (Node's own transport never follows one).
 */
const manualRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(effect, FetchHttpClient.RequestInit, {
      ...Option.getOrElse(init, () => ({})),
      redirect: "manual",
    }),
  )

/**
 * An authorized client on `client` with `credentials`: the constructor
 * under `make`, for a client or credentials of your own.
 *
 * @example
 * ```ts
 * import { AuthorizedClient, type Provider, type Token } from "@hyperauth/core"
 * import * as HttpClient from "@effect/platform/HttpClient"
 * import * as Effect from "effect/Effect"
 *
 * // A token you hold, sent on the HttpClient in context.
 * const api = (provider: Provider.Provider, token: Token.TokenSet) =>
 *   Effect.map(HttpClient.HttpClient, (client) =>
 *     AuthorizedClient.makeWith(client, provider, AuthorizedClient.fromToken(provider.id, token)),
 *   )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeWith = (
  client: HttpClient.HttpClient,
  provider: Provider,
  credentials: Credentials,
  options: Options = {},
): AuthorizedClient => {
  const base = provider.apiBaseUrl.replace(/\/+$/, "")
  // Compared as URLs are sent: parsed, so no spelling of another host or a `..` passes for the base.
  const baseHref = new URL(base).href.replace(/\/+$/, "")
  /** Where `url` (absolute, or a path on the base) is sent, if that is on the base. */
  const onBase = (url: string): string | undefined => {
    if (!URL.canParse(url)) return undefined
    const href = new URL(url).href
    return href === baseHref ||
      href === `${baseHref}/` ||
      href.startsWith(`${baseHref}/`) ||
      href.startsWith(`${baseHref}?`)
      ? href
      : undefined
  }

  /**
   * On the API base (relative URLs resolved against it), with the provider's
   * headers. An `Either`, which is an `Effect`: no step of its own per call.
   */
  const prepare = (
    request: HttpClientRequest.HttpClientRequest,
    companyId = options.companyId,
  ): Either.Either<HttpClientRequest.HttpClientRequest, InvalidInput> => {
    const absolute = /^[a-z][a-z0-9+.-]*:/i.test(request.url)
    // A path is joined to the base as text, so only one that starts a path or a query stays on its host:
    // `@host/x` or `.host/x` would change the base's authority.
    const path = request.url === "" || (/^[/?]/.test(request.url) && !request.url.startsWith("//"))
    const href = absolute ? onBase(request.url) : path ? onBase(`${base}${request.url}`) : undefined
    if (href === undefined) {
      // The token is for this API only: never sent anywhere else.
      return Either.left(
        new InvalidInput({
          provider: provider.id,
          reason: absolute
            ? `the URL is not on the API base ${base}; give a path (resolved against it). Nothing was sent.`
            : `the path must start with / (it is resolved against the API base ${base}). Nothing was sent.`,
        }),
      )
    }
    if (companyId !== undefined && !(typeof companyId === "string" && companyIdPattern.test(companyId))) {
      // Else a header HTTP cannot carry, which would fail as a connection_error.
      return Either.left(
        new InvalidInput({
          provider: provider.id,
          reason: "companyId must be a company id such as cmp_acme (visible ASCII, no spaces). Nothing was sent.",
        }),
      )
    }
    return Either.right(provider.decorate(HttpClientRequest.setUrl(request, href), { companyId }))
  }

  /** Sends with the current token; after a 401, once more with its replacement. */
  const authorized =
    <A extends { readonly status: number }, E>(
      send: (request: HttpClientRequest.HttpClientRequest, token: TokenSet) => Effect.Effect<A, E>,
      refused: (answer: A) => Effect.Effect<void>,
    ) =>
    (request: HttpClientRequest.HttpClientRequest): Effect.Effect<A, E | Accounts.AccessError> =>
      Effect.flatMap(credentials.current, (token) =>
        Effect.flatMap(send(request, token), (answer) =>
          answer.status === 401
            ? Effect.zipRight(
                refused(answer),
                Effect.flatMap(credentials.replace(token), (renewed) => send(request, renewed)),
              )
            : Effect.succeed(answer),
        ),
      )

  const execute = authorized(
    (request, token) =>
      manualRedirects(client.execute(HttpClientRequest.bearerToken(request, Redacted.value(token.accessToken)))),
    discard,
  )
  const api = ApiClient.make(client, { ...options, provider: provider.id })

  const http = HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest, Accounts.AccessError>) =>
      Effect.flatMap(request, execute),
    (request) => Effect.suspend(() => prepare(request)),
  )
  return Object.assign(http, {
    provider,
    exchange: (request: HttpClientRequest.HttpClientRequest, exchange: ExchangeOptions = {}) =>
      Effect.flatMap(
        prepare(request, exchange.companyId ?? options.companyId),
        authorized(
          (prepared, token) =>
            api.send(prepared, { accessToken: token.accessToken, maxBodyBytes: exchange.maxBodyBytes }),
          () => Effect.void,
        ),
      ),
  })
}

/**
 * An authorized client for the login `account` of `provider`, kept by
 * `Accounts`, sending on the `HttpClient` of the context.
 *
 * @example
 * ```ts
 * import { AuthorizedClient, Hyperproof } from "@hyperauth/core"
 * import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function* () {
 *   const hyperproof = yield* Hyperproof.Hyperproof
 *   const api = yield* AuthorizedClient.make(hyperproof.provider, "default")
 *   const answer = yield* api.exchange(HttpClientRequest.get("/v1/controls/ctl_access_review"))
 *   return answer.status
 * })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  provider: Provider,
  account: string,
  options?: Options,
): Effect.Effect<AuthorizedClient, never, HttpClient.HttpClient | Accounts.Accounts> =>
  Effect.map(Effect.zip(HttpClient.HttpClient, Accounts.Accounts), ([client, accounts]) =>
    makeWith(client, provider, fromAccounts(accounts, { provider: provider.id, account }), options),
  )
