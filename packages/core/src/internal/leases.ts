/**
 * Leases on top of a backend's three atomic steps (try to take, renew,
 * release): waiting with backoff, one holder per key inside this process,
 * renewal while the holder works, release by the owner only, and takeover
 * of a lease whose holder is provably gone (expired without renewal, or a
 * dead process on this host).
 */
import { createHash, randomBytes } from "node:crypto"
import { readFileSync, readlinkSync } from "node:fs"
import { hostname } from "node:os"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { TokenStoreError } from "./storeErrors.js"

/** Who holds a lease: enough to tell, on the same host, whether it still runs. */
export interface Holder extends Identity {
  readonly owner: string
}

export interface LeaseState extends Holder {
  readonly fence: number
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
}

/** A held lease: its owner and fencing number, checked by fenced writes. */
export interface Lease {
  readonly key: string
  readonly owner: string
  readonly fence: number
}

export type Attempt =
  | { readonly _tag: "Acquired"; readonly fence: number }
  | { readonly _tag: "Held"; readonly by: LeaseState }

export interface Backend {
  /** Names the store in errors. */
  readonly location: string
  /**
   * Takes the lease if it is free, expired at `now`, or still held by
   * `replacing` (a holder found dead); otherwise says who holds it. `now`
   * is the caller's clock: a backend shared across hosts (Redis) judges
   * expiry by its own instead, as the hosts' clocks may disagree.
   */
  readonly tryAcquire: (
    key: string,
    holder: Holder,
    ttlMs: number,
    now: number,
    replacing: string | undefined,
  ) => Effect.Effect<Attempt, TokenStoreError>
  /** Extends the lease if `lease` still holds it; whether it did. */
  readonly renew: (lease: Lease, ttlMs: number, now: number) => Effect.Effect<boolean, TokenStoreError>
  /** Frees the lease if `lease` still holds it. */
  readonly release: (lease: Lease) => Effect.Effect<void, TokenStoreError>
}

export interface Options {
  /** How long a lease lasts without renewal (default 15 s). */
  readonly ttl?: Duration.DurationInput | undefined
  /** How long to wait for a lease before failing with `locked` (default 90 s). */
  readonly wait?: Duration.DurationInput | undefined
}

export const defaultTtl = Duration.seconds(15)
export const defaultWait = Duration.seconds(90)

/** This process, as lease holders are told apart. */
export interface Identity {
  readonly pid: number
  /**
   * The host's name, and on Linux a digest of its boot and pid namespace:
   * containers can share a name (host networking, a hostname set), and a
   * pid in another namespace, or from before a reboot, is another process.
   */
  readonly host: string
  /** When the process started (Linux: clock ticks since boot), if known: a pid taken again by a later process has another. */
  readonly started?: string | undefined
}

/** The start time of process `pid` (`/proc/<pid>/stat`, field 22), if it can be read. */
const startTimeOf = (pid: number | "self"): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may hold spaces: fields are counted after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

const namespaceOf = (): string | undefined => {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    return createHash("sha256")
      .update(`${boot} ${readlinkSync("/proc/self/ns/pid")}`)
      .digest("hex")
      .slice(0, 12)
  } catch {
    return undefined
  }
}

let identity: Identity | undefined

/** This process's identity, read the first time it is needed (not when the core is imported). */
export const thisProcess = (): Identity => {
  if (identity === undefined) {
    const namespace = namespaceOf()
    const name = hostname()
    identity = {
      pid: process.pid,
      host: namespace === undefined ? name : `${name} (${namespace})`,
      started: startTimeOf("self"),
    }
  }
  return identity
}

/**
 * Whether process `pid` on this host still runs (EPERM: it runs as
 * someone else), and is the one that started at `started`, when that is
 * known and its start can be read (`/proc` may hide other users' processes).
 */
export const isAlive = (pid: number, started?: string): boolean => {
  const now = started === undefined || started === "" ? undefined : startTimeOf(pid)
  if (now !== undefined) return now === started
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return typeof error === "object" && error !== null && "code" in error && error.code === "EPERM"
  }
}

const gone = (by: LeaseState, identity: Identity): boolean =>
  by.host === identity.host && by.pid !== identity.pid && !isAlive(by.pid, by.started)

export interface Leases {
  readonly acquire: (key: string, options?: Options) => Effect.Effect<Lease, TokenStoreError, Scope.Scope>
}

export const make = (backend: Backend, identity: Identity = thisProcess()): Leases => {
  // One holder per key in this process: fibers queue here, not on the backend.
  const local = new Map<string, Effect.Semaphore>()
  const localLock = (key: string) => {
    const existing = local.get(key)
    if (existing !== undefined) return existing
    const created = Effect.unsafeMakeSemaphore(1)
    local.set(key, created)
    return created
  }

  const take = (key: string, holder: Holder, ttlMs: number, waitMs: number) =>
    Effect.gen(function* () {
      const deadline = (yield* Clock.currentTimeMillis) + waitMs
      let pause = 10
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const attempt = yield* backend.tryAcquire(key, holder, ttlMs, now, undefined)
        if (attempt._tag === "Acquired") return attempt.fence
        if (gone(attempt.by, identity)) {
          const takeover = yield* backend.tryAcquire(key, holder, ttlMs, now, attempt.by.owner)
          if (takeover._tag === "Acquired") return takeover.fence
        }
        if (now >= deadline) {
          return yield* new TokenStoreError({
            path: backend.location,
            reason: "locked",
            detail: `held by process ${attempt.by.pid} on ${attempt.by.host}`,
          })
        }
        // Each attempt is atomic; the pause between them may be interrupted (nothing is held then).
        yield* Effect.interruptible(Effect.sleep(Math.min(pause, Math.max(1, deadline - now))))
        pause = Math.min(pause * 2, 200)
      }
    })

  return {
    acquire: (key, options = {}) =>
      Effect.gen(function* () {
        const ttlMs = Duration.toMillis(options.ttl ?? defaultTtl)
        const waitMs = Duration.toMillis(options.wait ?? defaultWait)
        const lock = localLock(key)
        // An acquire step is uninterruptible: only its waits are made interruptible, so that a
        // timeout or a cancelled call ends a wait at once, while no permit or lease taken is lost.
        yield* Effect.acquireRelease(Effect.interruptible(lock.take(1)), () => lock.release(1))
        const holder: Holder = { ...identity, owner: randomBytes(12).toString("base64url") }
        const fence = yield* Effect.acquireRelease(take(key, holder, ttlMs, waitMs), (fence) =>
          Effect.ignore(backend.release({ key, owner: holder.owner, fence })),
        )
        const lease: Lease = { key, owner: holder.owner, fence }
        // Renewed while held, so a refresh that waits out Retry-After keeps it.
        yield* Effect.forkScoped(
          Effect.sleep(Math.max(1, Math.floor(ttlMs / 3))).pipe(
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.flatMap((now) => Effect.ignore(backend.renew(lease, ttlMs, now))),
            Effect.forever,
          ),
        )
        return lease
      }),
  }
}
