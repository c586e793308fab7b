/**
 * What the Promise facades (`@hyperauth/core/promise` and its provider
 * namespaces) share: the rejection, the call options, the plain token, and
 * the one place where an Effect becomes a Promise.
 */
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type Code, isOAuthError, type OAuthError } from "../OAuthError.js"
import type { TokenSet } from "../Token.js"

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
  /** The provider's own `error` word for OAuth protocol errors. */
  readonly error?: string | undefined
  readonly error_description?: string | undefined
  readonly status?: number | undefined

  constructor(cause: OAuthError) {
    super(cause.message)
    this.code = cause.code
    if (cause._tag === "OAuthProtocolError") {
      this.error = cause.error
      this.error_description = cause.errorDescription
      this.status = cause.status
    } else if (cause._tag === "HttpError" || cause._tag === "InvalidResponse") {
      this.status = cause.status
    }
  }
}

/**
 * How a call may be stopped: an `AbortSignal`, as `fetch` takes one. Once
 * it aborts, the call stops (a poll sends no further request) and rejects
 * with the signal's `reason`.
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
  readonly signal?: AbortSignal | undefined
}

/**
 * Runs `program` as a Promise: the boundary where a typed failure becomes a
 * `HyperauthError` rejection. An aborted signal starts nothing, as with
 * `fetch`; one that aborts during the call interrupts it and rejects with
 * its `reason`.
 */
export const run = <A>(program: Effect.Effect<A, OAuthError>, options?: CallOptions): Promise<A> => {
  const signal = options?.signal
  // What fetch does: an aborted signal starts nothing.
  if (signal?.aborted === true) return Promise.reject(signal.reason)
  return Effect.runPromiseExit(program, signal === undefined ? undefined : { signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    if (signal?.aborted === true && Cause.isInterruptedOnly(exit.cause)) throw signal.reason
    const failure = Cause.squash(exit.cause)
    throw isOAuthError(failure) ? new HyperauthError(failure) : failure
  })
}

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
