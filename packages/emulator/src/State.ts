/**
 * What the emulated providers remember: a clock that tests can move, the
 * tokens they issued, and the means to forget what no answer depends on.
 */
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from "node:crypto"

/**
 * Wall-clock time that only moves forward, and that tests can move forward
 * to expire codes and tokens.
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

  /**
   * Milliseconds since the epoch, as the emulator sees it: wall time when
   * the process started, run on by a monotonic clock, so that a system clock
   * stepped back cannot bring expired codes and tokens back to life.
   */
  now(): number {
    return performance.timeOrigin + performance.now() + this.#offsetMs
  }

  /**
   * Moves the emulator's time forward by `seconds` (0 or more, finite). Never
   * back: what expired may already be forgotten, so moving back could not
   * revive it, only what a sweep had not reached yet.
   */
  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(`clock.advance takes a finite number of seconds, 0 or more (got ${seconds})`)
    }
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
  /** When the user authenticated for the login it belongs to (OIDC `auth_time`), emulator time. */
  readonly authenticatedAt: number
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
  /** When the user authenticated, if before now: a refresh keeps its login's. */
  readonly authenticatedAt?: number | undefined
}

/** Neither revoked nor expired. Expiry never moves later, so a token that is not usable never will be again. */
const usable = (token: IssuedToken, now: number): boolean =>
  !token.revoked && (token.expiresAt === undefined || token.expiresAt > now)

/**
 * Drops the oldest entries of `log` past its newest `limit`, a quarter of
 * `limit` at a time so that dropping costs O(1) per entry: once full, the
 * log holds from `limit` to 1.25 × `limit` entries.
 */
export const keepNewest = (log: Array<unknown>, limit: number): void => {
  if (log.length > limit + Math.floor(limit / 4)) log.splice(0, log.length - limit)
}

/** How many refreshes `Tokens.refreshLog` keeps at least; `Tokens.refreshes` counts them all. */
export const refreshLogLimit = 10_000

/**
 * When to sweep a store that grows with use: once it has doubled since the
 * last sweep left it (and holds at least `floor`), so that a sweep costs
 * O(1) per entry added and what waits to be forgotten never outnumbers what
 * is still alive by much.
 */
export class Sweeps {
  readonly #floor: number
  #next: number

  constructor(floor = 256) {
    this.#floor = floor
    this.#next = floor
  }

  /** Whether a store of `size` entries is due for a sweep. */
  due(size: number): boolean {
    return size >= this.#next
  }

  /** A sweep left `size` entries. */
  swept(size: number): void {
    this.#next = Math.max(this.#floor, 2 * size)
  }
}

/**
 * A map that forgets an entry once `done` says no answer depends on it any
 * more: when the entry is looked up, and in sweeps as the map grows.
 */
export class Forgetful<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #sweeps = new Sweeps()
  readonly #done: (value: V) => boolean
  readonly #forgotten: (value: V) => void

  /** `forgotten` hears of each entry forgotten, e.g. to drop it from an index. */
  constructor(done: (value: V) => boolean, forgotten: (value: V) => void = () => {}) {
    this.#done = done
    this.#forgotten = forgotten
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined || !this.#done(value)) return value
    this.delete(key)
    return undefined
  }

  set(key: K, value: V): void {
    if (this.#sweeps.due(this.#entries.size)) {
      for (const [known, entry] of this.#entries) if (this.#done(entry)) this.delete(known)
      this.#sweeps.swept(this.#entries.size)
    }
    this.#entries.set(key, value)
  }

  delete(key: K): void {
    const value = this.#entries.get(key)
    if (value === undefined) return
    this.#entries.delete(key)
    this.#forgotten(value)
  }

  values(): IterableIterator<V> {
    return this.#entries.values()
  }
}

/**
 * Opaque values that carry their own expiry under a key of this emulator
 * alone, so that one forgotten once it expired is still told from one never
 * issued, as a provider that signs its codes tells them.
 */
export class Seal {
  readonly #key = randomBytes(32)

  /** A value for `holder` (e.g. the client it was issued to) that expires at `expiresAt`, emulator time. */
  issue(prefix: string, holder: string, expiresAt: number): string {
    const body = Buffer.alloc(24)
    randomFillSync(body, 0, 16)
    body.writeDoubleBE(expiresAt, 16)
    return `${prefix}_${Buffer.concat([body, this.#tag(prefix, holder, body)]).toString("base64url")}`
  }

  /** When `value` expires, if this seal issued it with `prefix` for `holder`; otherwise undefined. */
  expiry(value: string, prefix: string, holder: string): number | undefined {
    const encoded = value.startsWith(`${prefix}_`) ? value.slice(prefix.length + 1) : ""
    const raw = Buffer.from(encoded, "base64url")
    if (raw.length !== 40 || raw.toString("base64url") !== encoded) return undefined
    const body = raw.subarray(0, 24)
    return timingSafeEqual(raw.subarray(24), this.#tag(prefix, holder, body)) ? body.readDoubleBE(16) : undefined
  }

  #tag(prefix: string, holder: string, body: Buffer): Buffer {
    return createHmac("sha256", this.#key).update(`${prefix}\0${holder}\0`).update(body).digest().subarray(0, 16)
  }
}

/**
 * The tokens the emulator issued that still matter, by value: `expire` or
 * `revoke` them to test what a client does next. A token is forgotten once
 * no answer depends on it any more: when it is expired or revoked, or, for
 * a refresh token spent under rotation, once nothing of its login is valid
 * (reusing it then revokes nothing). A forgotten token is answered as the
 * invalid one it was: inactive, 401 `invalid_token`, `invalid_grant`.
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
  /** The remembered tokens of each login, to end it or tell whether it lasts. */
  readonly #byGrant = new Map<string, Set<IssuedToken>>()
  readonly #sweeps = new Sweeps()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** How many tokens are remembered (tests check that it stays bounded). */
  get size(): number {
    return this.#byValue.size
  }

  issue(kind: TokenKind, options: IssueOptions): IssuedToken {
    if (this.#sweeps.due(this.#byValue.size)) this.#sweep()
    const now = this.#clock.now()
    const token: IssuedToken = {
      ...options,
      value: opaque(`${options.provider}_${kind === "access" ? "at" : "rt"}`),
      kind,
      issuedAt: now,
      authenticatedAt: options.authenticatedAt ?? now,
      expiresAt: options.lifetime === undefined ? undefined : now + options.lifetime * 1000,
      revoked: false,
      spent: false,
    }
    this.#byValue.set(token.value, token)
    const login = this.#byGrant.get(token.grant)
    if (login === undefined) this.#byGrant.set(token.grant, new Set([token]))
    else login.add(token)
    return token
  }

  /** The token if it is of this kind and provider, not revoked and not expired. */
  valid(value: string | undefined, kind: TokenKind, provider: string): IssuedToken | undefined {
    const token = value === undefined ? undefined : this.#byValue.get(value)
    if (token === undefined || token.kind !== kind || token.provider !== provider) return undefined
    return usable(token, this.#clock.now()) ? token : undefined
  }

  /** Refresh grants answered with new tokens, per provider. */
  readonly refreshes = new Map<string, number>()
  /**
   * When the latest refresh grants were answered (emulator time), oldest
   * first: the last 10 000 at least, older ones dropped a batch at a time.
   */
  readonly refreshLog: Array<{ readonly provider: string; readonly at: number }> = []
  /** Refresh tokens presented again after they were spent (each revoked its grant). */
  reusedRefreshTokens = 0

  /**
   * A refresh grant for `value`. Under strict rotation a refresh token is
   * good once: presenting it again while its login lasts is taken as theft,
   * as real providers take it, and ends the whole login. Once the login has
   * ended a spent token is only invalid, as in Keycloak, where the session
   * it names is gone. The token to renew, or why not.
   */
  redeemRefresh(
    value: string | undefined,
    provider: string,
    clientId: string,
    rotate: boolean,
  ): IssuedToken | "reused" | "invalid" {
    const known = value === undefined ? undefined : this.#byValue.get(value)
    if (known !== undefined && known.kind === "refresh" && known.provider === provider && known.spent) {
      if (this.#lasts(known.grant, this.#clock.now())) {
        this.reusedRefreshTokens += 1
        this.revokeGrant(known.grant)
        return "reused"
      }
      // Ended: nothing of it is needed any more, and each presentation would walk it again.
      this.#forget(known.grant)
    }
    const token = this.valid(value, "refresh", provider)
    if (token === undefined || token.clientId !== clientId) return "invalid"
    if (rotate) {
      token.spent = true
      token.revoked = true
    }
    this.refreshes.set(provider, (this.refreshes.get(provider) ?? 0) + 1)
    this.refreshLog.push({ provider, at: this.#clock.now() })
    keepNewest(this.refreshLog, refreshLogLimit)
    return token
  }

  /** Revokes one token; whether it was valid. */
  revoke(value: string): boolean {
    const token = this.#byValue.get(value)
    if (token === undefined || !usable(token, this.#clock.now())) return false
    token.revoked = true
    return true
  }

  /** Revokes every token of one login (logout, a reused code), and forgets them: no answer depends on them now. */
  revokeGrant(grant: string): void {
    for (const token of this.#byGrant.get(grant) ?? []) token.revoked = true
    this.#forget(grant)
  }

  /** Makes matching valid tokens (access tokens unless `kind` says) expire now, e.g. to test refresh; how many. */
  expire(filter: { readonly provider?: string; readonly kind?: TokenKind } = {}): number {
    const now = this.#clock.now()
    let count = 0
    for (const token of this.#byValue.values()) {
      if (filter.provider !== undefined && token.provider !== filter.provider) continue
      if (token.kind !== (filter.kind ?? "access") || !usable(token, now)) continue
      token.expiresAt = now
      count += 1
    }
    return count
  }

  /** Revokes every valid token of a provider; how many. */
  revokeAll(provider: string): number {
    const now = this.#clock.now()
    let count = 0
    for (const token of this.#byValue.values()) {
      if (token.provider === provider && usable(token, now)) {
        token.revoked = true
        count += 1
      }
    }
    return count
  }

  /** Whether anything of a login can still be used. */
  #lasts(grant: string, now: number): boolean {
    for (const token of this.#byGrant.get(grant) ?? []) if (usable(token, now)) return true
    return false
  }

  /**
   * Forgets every token of a login that has ended (nothing of it usable), as
   * a sweep would: at once, so that a reused code, a logout or a spent token
   * presented again costs its login's size once, not on every request.
   */
  #forget(grant: string): void {
    for (const token of this.#byGrant.get(grant) ?? []) this.#byValue.delete(token.value)
    this.#byGrant.delete(grant)
  }

  /** Forgets every token no answer depends on any more (see the class). */
  #sweep(): void {
    const now = this.#clock.now()
    // Each login is looked at once per sweep, however many spent tokens it left.
    const lasting = new Map<string, boolean>()
    const lasts = (grant: string): boolean => {
      const known = lasting.get(grant)
      if (known !== undefined) return known
      const answer = this.#lasts(grant, now)
      lasting.set(grant, answer)
      return answer
    }
    for (const token of this.#byValue.values()) {
      if (usable(token, now) || (token.spent && lasts(token.grant))) continue
      this.#byValue.delete(token.value)
      const login = this.#byGrant.get(token.grant)
      login?.delete(token)
      if (login?.size === 0) this.#byGrant.delete(token.grant)
    }
    this.#sweeps.swept(this.#byValue.size)
  }
}

/** The person who approves logins in the emulator. */
export const defaultUser = {
  sub: "user_ada",
  email: "ada@example.com",
  givenName: "Ada",
  surname: "Lovelace",
} as const
