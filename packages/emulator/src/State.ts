/**
 * What the emulated providers remember: a clock that tests can move, and
 * the tokens they issued.
 */
import { randomBytes } from "node:crypto"

/**
 * Wall-clock time that tests can move forward to expire codes and tokens.
 *
 * @example
 * ```ts
 * import { start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * emulator.clock.advance(3600) // every token that lived an hour has now expired
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Clock {
  #offsetMs = 0

  /** Milliseconds since the epoch, as the emulator sees it. */
  now(): number {
    return Date.now() + this.#offsetMs
  }

  /** Moves the emulator's time forward. */
  advance(seconds: number): void {
    this.#offsetMs += seconds * 1000
  }
}

/** An unguessable value, prefixed so that a reader can tell what it is. */
export const opaque = (prefix: string): string => `${prefix}_${randomBytes(24).toString("base64url")}`

export type TokenKind = "access" | "refresh"

/**
 * A token the emulator issued, and what became of it.
 *
 * @example
 * ```ts
 * import { type IssuedToken, start } from "@hyperauth/emulator"
 *
 * declare const accessToken: string // one a client got from the emulator's hyper
 * const emulator = await start()
 * const issued: IssuedToken | undefined = emulator.tokens.valid(accessToken, "access", "hyper")
 * issued?.scope // what it was granted, while it is valid
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuedToken {
  readonly value: string
  readonly kind: TokenKind
  readonly provider: string
  readonly clientId: string
  readonly subject: string
  readonly scope: string
  /** Tokens of one login share a grant; logging out or revoking ends it. */
  readonly grant: string
  readonly issuedAt: number
  expiresAt: number | undefined
  revoked: boolean
  /** A refresh token already exchanged under strict rotation. */
  spent: boolean
}

export interface IssueOptions {
  readonly provider: string
  readonly clientId: string
  readonly subject: string
  readonly scope: string
  readonly grant: string
  /** Lifetime in seconds; never expires when absent. */
  readonly lifetime?: number | undefined
}

/**
 * Every token the emulator issued, by value: `expire` or `revoke` them to
 * test what a client does next.
 *
 * @example
 * ```ts
 * import { start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * // Expire every hyperid access token at once; refresh tokens stay valid.
 * emulator.tokens.expire({ provider: "hyperid", kind: "access" })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Tokens {
  readonly #byValue = new Map<string, IssuedToken>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  issue(kind: TokenKind, options: IssueOptions): IssuedToken {
    const now = this.#clock.now()
    const token: IssuedToken = {
      ...options,
      value: opaque(`${options.provider}_${kind === "access" ? "at" : "rt"}`),
      kind,
      issuedAt: now,
      expiresAt: options.lifetime === undefined ? undefined : now + options.lifetime * 1000,
      revoked: false,
      spent: false,
    }
    this.#byValue.set(token.value, token)
    return token
  }

  /** The token if it is of this kind and provider, not revoked and not expired. */
  valid(value: string | undefined, kind: TokenKind, provider: string): IssuedToken | undefined {
    const token = value === undefined ? undefined : this.#byValue.get(value)
    if (token === undefined || token.kind !== kind || token.provider !== provider || token.revoked) return undefined
    if (token.expiresAt !== undefined && token.expiresAt <= this.#clock.now()) return undefined
    return token
  }

  /** Refresh grants answered with new tokens, per provider. */
  readonly refreshes = new Map<string, number>()
  /** When each refresh grant was answered (emulator time), oldest first. */
  readonly refreshLog: Array<{ readonly provider: string; readonly at: number }> = []
  /** Refresh tokens presented again after they were spent (each revoked its grant). */
  reusedRefreshTokens = 0

  /**
   * A refresh grant for `value`. Under strict rotation a refresh token is
   * good once: presenting it again is taken as theft, as real providers
   * take it, and ends the whole grant. The token to renew, or why not.
   */
  redeemRefresh(
    value: string | undefined,
    provider: string,
    clientId: string,
    rotate: boolean,
  ): IssuedToken | "reused" | "invalid" {
    const known = value === undefined ? undefined : this.#byValue.get(value)
    if (known !== undefined && known.kind === "refresh" && known.provider === provider && known.spent) {
      this.reusedRefreshTokens += 1
      this.revokeGrant(known.grant)
      return "reused"
    }
    const token = this.valid(value, "refresh", provider)
    if (token === undefined || token.clientId !== clientId) return "invalid"
    if (rotate) {
      token.spent = true
      token.revoked = true
    }
    this.refreshes.set(provider, (this.refreshes.get(provider) ?? 0) + 1)
    this.refreshLog.push({ provider, at: this.#clock.now() })
    return token
  }

  /** Revokes one token; whether it was known. */
  revoke(value: string): boolean {
    const token = this.#byValue.get(value)
    if (token === undefined) return false
    token.revoked = true
    return true
  }

  /** Revokes every token of one login (logout, a reused code). */
  revokeGrant(grant: string): void {
    for (const token of this.#byValue.values()) if (token.grant === grant) token.revoked = true
  }

  /** Makes matching access tokens expire now (e.g. to test refresh). */
  expire(filter: { readonly provider?: string; readonly kind?: TokenKind } = {}): number {
    const now = this.#clock.now()
    let count = 0
    for (const token of this.#byValue.values()) {
      if (filter.provider !== undefined && token.provider !== filter.provider) continue
      if (token.kind !== (filter.kind ?? "access")) continue
      token.expiresAt = now
      count += 1
    }
    return count
  }

  /** Revokes every token of a provider. */
  revokeAll(provider: string): number {
    let count = 0
    for (const token of this.#byValue.values()) {
      if (token.provider === provider && !token.revoked) {
        token.revoked = true
        count += 1
      }
    }
    return count
  }
}

/** The person who approves logins in the emulator. */
export const defaultUser = {
  sub: "user_ada",
  email: "ada@example.com",
  givenName: "Ada",
  surname: "Lovelace",
} as const
