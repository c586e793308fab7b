/**
 * Mutual exclusion between processes through a lock file created with
 * O_EXCL. A lock older than `staleMs` is taken to be left over from a crash.
 */
import * as fs from "node:fs/promises"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import { TokenStoreError } from "../OAuthError.js"
import { fsEffect, isErrno } from "./fsEffect.js"

const RETRY_MS = 20

export interface LockOptions {
  /** The store the lock guards, named in errors. */
  readonly storePath: string
  /** How long to wait for the lock before failing with `locked`. */
  readonly waitMs: number
  /** A lock file older than this is removed. */
  readonly staleMs: number
}

/** Runs `effect` holding the lock file at `lockPath`. */
export const withLockFile = <A, E, R>(
  lockPath: string,
  options: LockOptions,
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | TokenStoreError, R> => {
  const io = <T>(what: string, run: () => Promise<T>) => fsEffect(options.storePath, what, run)
  const acquire = Effect.gen(function* () {
    yield* io("create directory", () => fs.mkdir(dirname(lockPath), { recursive: true, mode: 0o700 }))
    const deadline = Date.now() + options.waitMs
    while (true) {
      const taken = yield* io("lock", () =>
        fs.open(lockPath, "wx", 0o600).then(
          (handle) =>
            handle
              .writeFile(`${process.pid}\n`)
              .finally(() => handle.close())
              .then(() => true),
          (error: unknown) => (isErrno(error, "EEXIST") ? false : Promise.reject(error)),
        ),
      )
      if (taken) return
      const age = yield* io("lock", () =>
        fs.stat(lockPath).then(
          (stat) => Date.now() - stat.mtimeMs,
          () => 0,
        ),
      )
      if (age > options.staleMs) yield* io("lock", () => fs.rm(lockPath, { force: true }))
      else if (Date.now() > deadline) return yield* new TokenStoreError({ path: options.storePath, reason: "locked" })
      else yield* Effect.sleep(RETRY_MS)
    }
  })
  return Effect.acquireUseRelease(
    acquire,
    () => effect,
    () => Effect.promise(() => fs.rm(lockPath, { force: true })),
  )
}
