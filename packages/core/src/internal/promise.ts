/**
 * What the Promise facades (`@hyperauth/core/promise` and its provider
 * namespaces) share: the rejection, the call options, the plain token, and
 * the one place where an Effect becomes a Promise.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as ApiClient from "../ApiClient.js"
import * as NodeHttpTransport from "../NodeHttpTransport.js"
import { type Code, InvalidInput, InvalidResponse, isOAuthError, type OAuthError } from "../OAuthError.js"
import { TokenSet } from "../Token.js"
import { defaultMaxBodyBytes } from "./classify.js"
import { lazy } from "./lazy.js"
import * as SharedCalls from "./sharedCalls.js"

/**
 * An access token, in the seed's camelCase (`token.accessToken`) with the
 * RFC 6749 names as aliases. Every provider's Promise functions resolve
 * with this shape; the tokens in it are plain strings.
 *
 * @example
 * ```ts
 * import { initiateDeviceFlow, pollForToken, type Token } from "@hyperauth/core/promise"
 *
 * const token: Token = await pollForToken(await initiateDeviceFlow())
 * const authorization = `${token.tokenType} ${token.accessToken}` // token.token_type and token.access_token are the same
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Token {
  readonly accessToken: string
  readonly tokenType: string
  readonly expiresIn?: number | undefined
  readonly expiresAt?: Date | undefined
  readonly refreshToken?: string | undefined
  readonly scope?: string | undefined
  readonly access_token: string
  readonly token_type: string
  readonly expires_in?: number | undefined
  readonly refresh_token?: string | undefined
}

/**
 * The rejection of every function here.
 *
 * @example
 * ```ts
 * import { HyperauthError, initiateDeviceFlow, pollForToken } from "@hyperauth/core/promise"
 *
 * try {
 *   await pollForToken(await initiateDeviceFlow())
 * } catch (error) {
 *   if (!(error instanceof HyperauthError && error.code === "access_denied")) throw error
 *   console.log("The user refused the login")
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HyperauthError extends Error {
  override readonly name = "HyperauthError"
  /** Stable code: `invalid_token`, `connection_error`, `timeout`, `access_denied`, ... */
  readonly code: Code
  /** The provider the call was for (`hyper`, `hyperid`, ...). */
  readonly provider?: string | undefined
  /** The provider's own `error` word for OAuth protocol errors. */
  readonly error?: string | undefined
  readonly error_description?: string | undefined
  readonly status?: number | undefined
  /** Off the error's own properties, so that neither its JSON nor `console.log(error)` prints it. */
  readonly #token: Token | undefined

  /**
   * `options.token` is a token issued before the call failed (its `token`);
   * `options.cause`, what made it fail, when that is not `cause` itself.
   */
  constructor(cause: OAuthError, options?: { readonly token?: Token | undefined; readonly cause?: unknown }) {
    super(cause.message, options !== undefined && "cause" in options ? { cause: options.cause } : undefined)
    this.#token = options?.token
    this.code = cause.code
    this.provider = "provider" in cause ? cause.provider : undefined
    if (cause._tag === "OAuthProtocolError") {
      this.error = cause.error
      this.error_description = cause.errorDescription
      this.status = cause.status
    } else if (cause._tag === "HttpError" || cause._tag === "InvalidResponse") {
      this.status = cause.status
    }
  }

  /**
   * A token that was issued all the same, when only what came after
   * failed: `pollForToken`'s, when its `onSuccess` threw. The grant it came
   * from is spent, so this is the one copy: keep it as you would have.
   * Never in the message, the stack or the JSON.
   */
  get token(): Token | undefined {
    return this.#token
  }

  /**
   * What `JSON.stringify(error)` writes: the name, code, message (an
   * `Error`'s own is not enumerable, and it is what says what to do next),
   * provider, and the provider's `error`, `error_description` and `status`
   * when it answered. Never the `token` or the `cause`.
   *
   * @example
   * ```ts
   * import { HyperauthError, hyperproof } from "@hyperauth/core/promise"
   *
   * await hyperproof.getToken().catch((error: unknown) => {
   *   // {"name":"HyperauthError","code":"invalid_client","message":"hyperproof: …","provider":"hyperproof",…}
   *   if (error instanceof HyperauthError) console.error(JSON.stringify(error))
   * })
   * ```
   */
  toJSON(): HyperauthErrorJson {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      provider: this.provider,
      error: this.error,
      error_description: this.error_description,
      status: this.status,
    }
  }
}

/**
 * The JSON of a `HyperauthError` (`error.toJSON()`): members that are
 * `undefined` are left out of `JSON.stringify`'s text.
 *
 * @example
 * ```ts
 * import { HyperauthError, type HyperauthErrorJson } from "@hyperauth/core/promise"
 *
 * const logged = (error: unknown): HyperauthErrorJson | undefined =>
 *   error instanceof HyperauthError ? error.toJSON() : undefined
 * ```
 *
 * @since 0.2.0
 * @category errors
 */
export interface HyperauthErrorJson {
  readonly name: "HyperauthError"
  readonly code: Code
  readonly message: string
  readonly provider?: string | undefined
  readonly error?: string | undefined
  readonly error_description?: string | undefined
  readonly status?: number | undefined
}

/**
 * How a call may be stopped: an `AbortSignal`, as `fetch` takes one. Once
 * it aborts, the call stops (a poll sends no further request) and rejects
 * with the signal's `reason`. A call that presents a one-time grant
 * (`completeLogin`, `refresh`, `pollForToken`) is never cut while the
 * grant's request is on its way, since the provider may have spent the
 * grant already: it waits a second at most for the answer and resolves
 * with the tokens it brings, abort or not. Any other answer (the grant
 * refused, the provider unreachable) rejects with the signal's `reason`, as
 * every aborted call does: only issued tokens outrank the abort. An answer later than that is
 * kept for five minutes, and the next call with the same grant (a
 * reloaded callback page, a refresh of the same refresh token) resolves
 * with it, sending nothing. Only a call with all the provider checks with
 * the grant shares its answer: the same PKCE verifier, redirect URI and
 * client. One with the grant alone (a code off a leaked redirect URL) is
 * given nothing, and sends nothing while the grant is on its way or spent.
 *
 * @example
 * ```ts
 * import { initiateDeviceFlow, pollForToken } from "@hyperauth/core/promise"
 *
 * const deviceCode = await initiateDeviceFlow()
 * // Give up after two minutes instead of waiting for the code to expire.
 * const token = await pollForToken(deviceCode, undefined, { signal: AbortSignal.timeout(120_000) })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface CallOptions {
  /** This realm's or another's (a `node:vm` context's, a polyfill's): what counts is its shape. */
  readonly signal?: AbortSignal | undefined
}

/**
 * The transport every facade call sends on, made on first use and kept for
 * the process: calls reuse its keep-alive connections, where a transport per
 * call paid a new TCP (and TLS) handshake for each. Idle, its sockets keep no
 * process running (Node's agent lets go of free sockets).
 */
export const transport = lazy(() =>
  Layer.succeedContext(
    Effect.runSync(Effect.flatMap(Scope.make(), (scope) => Layer.buildWithScope(NodeHttpTransport.layer, scope))),
  ),
)

/**
 * Whether `value` is an `AbortSignal` by its shape, of this realm or not (a
 * `node:vm` context's, a polyfill's, another copy of a web platform's):
 * what fetch and Effect use of one, `aborted` and its listeners.
 */
const isSignal = (value: unknown): boolean =>
  value instanceof AbortSignal ||
  (isObject(value) &&
    typeof Reflect.get(value, "aborted") === "boolean" &&
    typeof Reflect.get(value, "addEventListener") === "function" &&
    typeof Reflect.get(value, "removeEventListener") === "function")

/**
 * The signal of a call's options: none when absent or `null`, else an
 * `AbortSignal` (by its shape) or `invalid`. May throw: the caller's
 * getters and Proxies run here (see `boundary`).
 */
const signalOf = (options: CallOptions | undefined): AbortSignal | undefined | "invalid" => {
  const signal = isObject(options) ? (options.signal ?? undefined) : undefined
  if (signal === undefined) return undefined
  if (!isSignal(signal)) return "invalid"
  // What the call will do with it, tried first: a listener that cannot be added would otherwise throw once the call runs.
  const probe = () => {}
  signal.addEventListener("abort", probe)
  signal.removeEventListener("abort", probe)
  return signal
}

/**
 * The `invalid_input` of an argument that threw when read (a getter, a
 * Proxy's trap): `what` in the message, and what it threw as the cause,
 * which is the caller's own and is not repeated.
 */
export const unreadable = (provider: string, what: string, cause: unknown): HyperauthError =>
  new HyperauthError(
    new InvalidInput({
      provider,
      reason: `${what} threw when read (what it threw is this error's cause): pass plain data. Nothing was sent.`,
    }),
    { cause },
  )

/**
 * Reads what a caller passed with `read`, as data: a getter or a Proxy
 * that throws is `invalid_input` (`unreadable`), never a defect. What it
 * returns is the caller's values copied, so that nothing reads the
 * caller's objects again.
 */
export const readInput = <A>(provider: string, what: string, read: () => A): Effect.Effect<A, HyperauthError> =>
  Effect.try({ try: read, catch: (cause) => unreadable(provider, what, cause) })

/**
 * Where every facade call begins: its options' signal is read (an aborted
 * one starts nothing, as with `fetch`), then `begin` starts the call. A
 * function that returns a Promise never throws: an option or a signal that
 * throws when read rejects with `invalid_input`, before anything starts.
 */
const boundary = <A>(
  provider: string,
  options: CallOptions | undefined,
  begin: (signal: AbortSignal | undefined) => Promise<Exit.Exit<A, OAuthError | HyperauthError>>,
): Promise<A> => {
  let signal: AbortSignal | undefined
  try {
    const read = signalOf(options)
    if (read === "invalid") return invalidSignal(provider)
    signal = read
    // What fetch does: an aborted signal starts nothing.
    if (signal?.aborted === true) return Promise.reject(signal.reason)
  } catch (cause) {
    return Promise.reject(unreadable(provider, "the options (or their signal)", cause))
  }
  return begin(signal).then((exit) => settle(exit, signal))
}

const invalidSignal = (provider: string): Promise<never> => {
  const reason = "signal must be an AbortSignal (an AbortController's, or AbortSignal.timeout(ms)). Nothing was sent."
  return Promise.reject(new HyperauthError(new InvalidInput({ provider, reason })))
}

/** Whether `signal` aborted, and its reason: a signal whose getters throw counts as aborted, for that reason. */
const abortOf = (signal: AbortSignal | undefined): { readonly reason: unknown } | undefined => {
  try {
    return signal?.aborted === true ? { reason: signal.reason } : undefined
  } catch (cause) {
    return { reason: cause }
  }
}

/** A call's end as its Promise settles: its value, the abort's reason, or a `HyperauthError`. */
const settle = <A>(exit: Exit.Exit<A, OAuthError | HyperauthError>, signal: AbortSignal | undefined): A => {
  if (Exit.isSuccess(exit)) return exit.value
  const aborted = Cause.isInterruptedOnly(exit.cause) ? abortOf(signal) : undefined
  if (aborted !== undefined) throw aborted.reason
  const failure = Cause.squash(exit.cause)
  throw failure instanceof HyperauthError ? failure : isOAuthError(failure) ? new HyperauthError(failure) : failure
}

/**
 * Runs `program` as a Promise: the boundary where a typed failure becomes a
 * `HyperauthError` rejection. An aborted signal starts nothing, as with
 * `fetch`; one that aborts during the call interrupts it and rejects with
 * its `reason`. Options that are absent or `null` have no signal (as
 * `fetch` takes a `null` init); a signal is taken by its shape (`aborted`,
 * `reason`, `addEventListener`, `removeEventListener`), so that one of
 * another realm works too, and anything else starts nothing and rejects
 * with `invalid_input`.
 */
export const run = <A>(
  provider: string,
  program: Effect.Effect<A, OAuthError | HyperauthError>,
  options?: CallOptions,
): Promise<A> =>
  boundary(provider, options, (signal) => Effect.runPromiseExit(program, signal === undefined ? undefined : { signal }))

/**
 * Runs a call that presents a one-time grant as a Promise, as `run` does,
 * except that the signal is the program's, for the `SharedCalls` it
 * presents the grant in: an abort stops the call at the presentation's next
 * wait (rejecting with its `reason`), never while the grant's request is on
 * its way, whose answer the provider may have issued already. Should that
 * answer bring the tokens, the call resolves with them, abort or not.
 */
export const runGrant = <A>(
  provider: string,
  options: CallOptions | undefined,
  program: (signal: AbortSignal | undefined) => Effect.Effect<A, OAuthError | HyperauthError>,
): Promise<A> => boundary(provider, options, (signal) => Effect.runPromiseExit(program(signal)))

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null

/**
 * The options a JavaScript caller passed, copied (its own members, each
 * read once): none when absent or `null` (as `fetch` takes a `null` init);
 * anything but an object is `invalid_input`, and so is one that throws
 * when read (a getter, a Proxy).
 */
export const optionsOf = <T extends object>(
  provider: string,
  options: T | undefined,
): Effect.Effect<Partial<T>, InvalidInput | HyperauthError> =>
  options === undefined || options === null
    ? Effect.succeed({})
    : isObject(options)
      ? readInput(provider, "the options", (): Partial<T> => ({ ...options }))
      : Effect.fail(
          new InvalidInput({ provider, reason: "the options must be an object, or left out. Nothing was sent." }),
        )

/** An optional text option a JavaScript caller may have given any value: absent or `null` is none, else text or `invalid_input`. */
export const optionalText = (
  provider: string,
  name: string,
  value: string | undefined,
): Effect.Effect<string | undefined, InvalidInput> =>
  value === undefined || value === null || typeof value === "string"
    ? Effect.succeed(value ?? undefined)
    : Effect.fail(new InvalidInput({ provider, reason: `${name} must be text. Nothing was sent.` }))

/** A token set as the plain `Token`, its times relative to `now`. */
export const toToken = (token: TokenSet, now: DateTime.Utc): Token => {
  const accessToken = Redacted.value(token.accessToken)
  const refreshToken = token.refreshToken === undefined ? undefined : Redacted.value(token.refreshToken)
  const seconds = Option.getOrUndefined(token.expiresIn(now))
  return {
    accessToken,
    tokenType: token.tokenType,
    expiresIn: seconds,
    expiresAt: token.expiresAt === undefined ? undefined : DateTime.toDate(token.expiresAt),
    refreshToken,
    scope: token.scope,
    access_token: accessToken,
    token_type: token.tokenType,
    expires_in: seconds,
    refresh_token: refreshToken,
  }
}

/**
 * Hands an issued token to the caller's `callback` (`name` in messages),
 * waiting for the promise it returns, if any. Should it throw or reject,
 * the token is not lost with it: the failure is `invalid_input` carrying
 * the token (`HyperauthError.token`) and, as its `cause`, what the
 * callback threw or its promise's reason, whose text is the caller's and
 * is not repeated.
 */
export const handOver = (
  provider: string,
  name: string,
  callback: (token: Token) => unknown,
  token: Token,
): Effect.Effect<void, HyperauthError> => {
  // What ended the callback, and what its cause is, as the message says them.
  const failed = (ended: string, cause: string) => (reason: unknown) =>
    new HyperauthError(
      new InvalidInput({
        provider,
        reason: `${ended} after the token was issued (${cause} is this error's cause). The token is this error's token property: keep it, its grant is spent and issues no other.`,
      }),
      { token, cause: reason },
    )
  return Effect.flatMap(
    Effect.try({ try: () => callback(token), catch: failed(`${name} threw`, "what it threw") }),
    (result) =>
      Effect.tryPromise({
        try: async () => {
          await result
        },
        catch: failed(`${name}'s promise rejected`, "its reason"),
      }),
  )
}

/** The plain `Token` of a token set, its times from now. */
export const tokenOf = (token: TokenSet): Effect.Effect<Token> => Effect.map(DateTime.now, (now) => toToken(token, now))

/**
 * The token set of what a caller holds for a refresh or a revocation: a
 * refresh token, or a `Token` (its refresh token and scope; a refresh answer
 * without either keeps them). None, an empty one, or one that is not text,
 * leaves the set without a refresh token, which the services refuse as
 * `invalid_input` before sending anything.
 */
export const heldTokenSet = (
  provider: string,
  held: string | Pick<Token, "refreshToken" | "scope">,
): Effect.Effect<TokenSet, HyperauthError> =>
  Effect.gen(function* () {
    const { refreshToken, scope } = yield* readInput(provider, "the token", () => {
      const object = typeof held === "object" && held !== null ? held : undefined
      return { refreshToken: typeof held === "string" ? held : object?.refreshToken, scope: object?.scope }
    })
    const receivedAt = yield* DateTime.now
    return new TokenSet(
      {
        // Not sent by a refresh or a revocation; a token set needs one.
        accessToken: Redacted.make(""),
        tokenType: "Bearer",
        receivedAt,
        // "" is none (`token.refreshToken ?? ""`): sent, a revocation of nothing would seem to succeed.
        refreshToken: typeof refreshToken === "string" && refreshToken !== "" ? Redacted.make(refreshToken) : undefined,
        scope: typeof scope === "string" ? scope : undefined,
      },
      { disableValidation: true },
    )
  })

/**
 * A refresh's presentation, as the key of the calls that share it
 * (`SharedCalls`): the refresh token, with the client that presents it
 * (`proof`: the origin, client id and secret). None without a refresh
 * token: the service refuses it, sending nothing.
 */
export const refreshPresentation = (
  held: TokenSet,
  proof: ReadonlyArray<string>,
): SharedCalls.Presentation | undefined =>
  held.refreshToken === undefined ? undefined : { grant: Redacted.value(held.refreshToken), proof }

/**
 * How long the answer of a refresh that rotated its refresh token is kept
 * for a refresh of the same, now spent, token by the same client: 30 s,
 * the default of the providers that keep such a grace themselves (Okta's
 * refresh token rotation grace period; Auth0 calls it a reuse interval).
 * A request that read the token before another renewed it gets the same
 * new tokens, sending nothing. Past it the spent token is presented, and
 * a strictly rotating provider takes it for theft and ends the login (RFC
 * 9700 §4.14.2): the window is short so as not to blunt that detection.
 */
export const rotatedKeptFor = 30_000

/**
 * What a refresh makes of a kept answer (`SharedCalls`' `fromKept`): one
 * whose access token has expired since it came is renewed once, by
 * `renew`, with the refresh token it holds, so that a refresh resolves
 * with an access token still valid. Should the renewal fail, or the answer
 * hold no refresh token that can renew it, the kept answer is handed out
 * as it is: it holds the one copy of the rotated refresh token.
 */
export const renewedIfExpired =
  (renew: (held: TokenSet) => Effect.Effect<TokenSet, unknown>) =>
  (answer: TokenSet): Effect.Effect<TokenSet> =>
    Effect.flatMap(DateTime.now, (now) =>
      answer.expiresWithin(now, 0) && answer.canRefresh(now)
        ? Effect.orElseSucceed(renew(answer), () => answer)
        : Effect.succeed(answer),
    )

/**
 * How the refreshes of one refresh token are shared (`SharedCalls`): a
 * refresh token is spent by an answer that rotated it, whose answer is
 * then kept for `rotatedKeptFor` for the same refresh again, and refused
 * to a refresh by another client (`PREFIX_CLIENT_ID` and the rest),
 * sending nothing.
 */
export const refreshSharing = (provider: string, prefix: string): SharedCalls.Options<TokenSet, OAuthError> => ({
  otherProof: () =>
    new InvalidInput({
      provider,
      reason: `this refresh token was spent here by a refresh with other client settings (${prefix}_CLIENT_ID, ${prefix}_CLIENT_SECRET, the origin): refresh with the settings that issued it, or log in again. Nothing was sent.`,
    }),
  spends: (renewed, presented) =>
    renewed.refreshToken !== undefined && Redacted.value(renewed.refreshToken) !== presented,
  keepTaken: rotatedKeptFor,
})

/**
 * A login's completion, whose code is presented once: the completions of
 * the same login with the same redirect (as a callback submitted twice, or
 * a reloaded callback page, sends them) and the same proof (`proof`: the
 * PKCE verifier, the redirect URI, the client and the origin, all the
 * provider checks with the code) share one exchange while it runs, and
 * once it succeeded, one more is `invalid_input`, with nothing sent. Sent
 * again, the spent code would make the provider end the login it gave.
 * One with the code but other proof (a forged verifier) is never given the
 * exchange's answer: it waits for the exchange to end, and fails with
 * `invalid_input` once the code is spent, sending nothing. A completion
 * that failed may be tried again: its code may be unspent.
 */
export const completeOnce = <A>(
  provider: string,
): ((
  state: string,
  redirectUrl: string,
  proof: ReadonlyArray<string>,
  exchange: Effect.Effect<A, OAuthError>,
  signal: SharedCalls.Signal | undefined,
) => Effect.Effect<A, OAuthError>) => {
  const running = SharedCalls.make<A, OAuthError>({
    otherProof: () =>
      new InvalidInput({
        provider,
        reason:
          "this login's code was redeemed here by a completion with another codeVerifier, redirectUri or client: pass the login authorizationUrl resolved with, unchanged, or start a new login. Nothing was sent.",
      }),
    again: () =>
      new InvalidInput({
        provider,
        reason:
          "this login was already completed with this redirect: its code is spent, and sent again it would end the login it gave. Keep the token the first completion resolved with, or start a new login. Nothing was sent.",
      }),
  })
  return (state, redirectUrl, proof, exchange, signal) =>
    // Not text: no code to speak of, and the service refuses it.
    typeof redirectUrl !== "string"
      ? exchange
      : // The same login (its state) and the same code (in the URL), with what the provider checks with it.
        running({ grant: `${state}\u0000${redirectUrl}`, proof }, exchange, signal)
}

/** What an access token may be: it goes into a header, so visible ASCII (RFC 6750's b64token is narrower still). */
const accessTokenPattern = /^[\x21-\x7e]+$/

/**
 * The access token of what a caller holds: the token, or a `Token`;
 * anything else, or a token that a header cannot carry, is `invalid_input`.
 */
export const heldAccessToken = (
  provider: string,
  held: string | Pick<Token, "accessToken">,
): Effect.Effect<Redacted.Redacted<string>, InvalidInput | HyperauthError> =>
  Effect.flatMap(
    readInput(provider, "the token", () => (typeof held === "object" && held !== null ? held.accessToken : held)),
    (accessToken) => accessTokenOf(provider, accessToken),
  )

const accessTokenOf = (
  provider: string,
  accessToken: unknown,
): Effect.Effect<Redacted.Redacted<string>, InvalidInput> => {
  if (typeof accessToken !== "string" || accessToken === "") {
    const reason = "no access token given: pass the access token, or the Token that holds it. Nothing was sent."
    return Effect.fail(new InvalidInput({ provider, reason }))
  }
  if (!accessTokenPattern.test(accessToken)) {
    // Never quoted: it may be a real token with a stray line break.
    const reason =
      "the access token has characters no access token has (a space, a line break, non-ASCII). Nothing was sent."
    return Effect.fail(new InvalidInput({ provider, reason }))
  }
  return Effect.succeed(Redacted.make(accessToken))
}

/**
 * An API call as `fetch` describes one: the method (`GET` by default),
 * headers, a body, and how much of the answer's body to read.
 *
 * @example
 * ```ts
 * import { type ApiRequestInit, hyperline } from "@hyperauth/core/promise"
 *
 * const init: ApiRequestInit = {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ name: "Ada Lovelace" }),
 * }
 * const response = await hyperline.fetch("an access token", "/v1/customers", init)
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface ApiRequestInit extends CallOptions {
  /** `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or `OPTIONS`, in any case; `GET` when absent. */
  readonly method?: string | undefined
  /** Sent as given, except `authorization`, which is the token's. A framing or hop-by-hop header is `invalid_input`. */
  readonly headers?: Readonly<Record<string, string>> | Iterable<readonly [string, string]> | undefined
  /**
   * Text (`text/plain;charset=UTF-8` unless a `content-type` header says
   * otherwise), bytes or form fields, as `fetch` sends them. Not with
   * `GET` or `HEAD`.
   */
  readonly body?: string | Uint8Array | URLSearchParams | undefined
  /**
   * The most of the answer's body to read, in bytes (256 KiB by default).
   * A larger body rejects with `invalid_response`, after the request was
   * handled: it is never handed over cut.
   */
  readonly maxBodyBytes?: number | undefined
}

const absoluteUrl = /^[a-z][a-z0-9+.-]*:/i

/**
 * The request of a `fetch`-like call, or `invalid_input` before anything
 * is sent: a path is resolved against the provider's API base (the service
 * refuses an absolute URL elsewhere).
 */
export const apiRequest = (
  provider: string,
  path: string,
  init: ApiRequestInit | undefined,
): Effect.Effect<HttpClientRequest.HttpClientRequest, InvalidInput | HyperauthError> =>
  Effect.gen(function* () {
    const refuse = (reason: string) => new InvalidInput({ provider, reason: `${reason} Nothing was sent.` })
    if (typeof path !== "string") return yield* refuse("the path must be text, such as /v1/customers.")
    const { method: given, maxBodyBytes, headers, body } = yield* optionsOf(provider, init)
    const method = ((yield* optionalText(provider, "the method", given)) ?? "GET").toUpperCase()
    if (!HttpMethod.isHttpMethod(method)) {
      return yield* refuse("the method must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.")
    }
    if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
      return yield* refuse("maxBodyBytes must be a whole number of bytes above 0.")
    }
    if (headers !== undefined && !isObject(headers)) {
      return yield* refuse("the headers must be an object of names and values, [name, value] pairs or a Headers.")
    }
    const url = path.startsWith("/") || absoluteUrl.test(path) ? path : `/${path}`
    // Headers as given: an object, pairs or a Headers, any of which may throw when read.
    const headed = yield* readInput(provider, "the headers", () =>
      HttpClientRequest.make(method)(url).pipe(HttpClientRequest.setHeaders(headers ?? {})),
    )
    // The caller's headers, checked before the body adds its own framing (content-length).
    const request = yield* ApiClient.validateHeaders(provider, headed)
    // No body, or a null one, as fetch has it.
    if (body === undefined || body === null) return request
    if (method === "GET" || method === "HEAD") return yield* refuse(`a ${method} request has no body.`)
    // A content-type given in the headers is the body's; else fetch's for its kind.
    const type = (otherwise: string) => request.headers["content-type"] ?? otherwise
    // Told apart by kind, which a Proxy's traps may refuse to tell.
    const sent = yield* readInput(provider, "the body", () => {
      if (typeof body === "string") return HttpClientRequest.bodyText(request, body, type("text/plain;charset=UTF-8"))
      if (body instanceof URLSearchParams) {
        return HttpClientRequest.bodyText(
          request,
          body.toString(),
          type("application/x-www-form-urlencoded;charset=UTF-8"),
        )
      }
      if (body instanceof Uint8Array) {
        return HttpClientRequest.bodyUint8Array(request, body, type("application/octet-stream"))
      }
      return undefined
    })
    if (sent !== undefined) return sent
    return yield* refuse("the body must be text, a Uint8Array or URLSearchParams.")
  })

/** Statuses whose answer has no body (a `Response` with one cannot be made). */
const nullBodyStatuses = new Set([204, 205, 304])

/**
 * The whole answer to `request` as a standard `Response` (without a body
 * for a `HEAD`, as `fetch` has it). A body cut at `maxBodyBytes` is
 * `invalid_response` (never a cut body that looks whole), and so is a
 * status a `Response` cannot carry.
 */
export const toResponse = (
  provider: string,
  request: HttpClientRequest.HttpClientRequest,
  answer: ApiClient.ApiResponse,
  maxBodyBytes: number | undefined,
): Effect.Effect<Response, InvalidResponse> => {
  const refuse = (reason: string) =>
    // No excerpt: the body may reflect the request, token included.
    new InvalidResponse({ provider, url: answer.url, status: answer.status, reason, excerpt: "" })
  if (answer.truncated) {
    const limit = maxBodyBytes ?? defaultMaxBodyBytes
    return Effect.fail(refuse(`a body larger than maxBodyBytes, ${limit} bytes; pass a larger maxBodyBytes`))
  }
  if (answer.status < 200 || answer.status > 599) return Effect.fail(refuse("a status outside 200-599"))
  return Effect.try({
    try: () =>
      new Response(request.method === "HEAD" || nullBodyStatuses.has(answer.status) ? null : answer.body, {
        status: answer.status,
        headers: answer.headers,
      }),
    catch: () => refuse("headers a Response cannot hold"),
  })
}
