/**
 * A short lock between the processes of one host: a lock file that appears
 * complete (written aside, then hard-linked into place, which fails if it
 * exists) and names its holder. It is taken over at once from a holder
 * that no longer runs, and after `staleMs` from one that hangs; a takeover
 * is itself serialised by a second lock file, so two processes cannot both
 * remove a stale lock and each take it. Released only by its holder.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { dirname } from "node:path"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fsSync, isErrno } from "./fsEffect.js"
import { isAlive, thisProcess } from "./leases.js"
import type { TokenStoreError } from "./storeErrors.js"
import { TokenStoreError as StoreError } from "./storeErrors.js"

const RETRY_MS = 5

export interface LockOptions {
  /** The store the lock guards, named in errors. */
  readonly storePath: string
  /** How long to wait for the lock before failing with `locked`. */
  readonly waitMs: number
  /** A lock held longer than this is taken to hang and is taken over. */
  readonly staleMs: number
}

const Content = Schema.parseJson(
  Schema.Struct({
    owner: Schema.String,
    pid: Schema.Number,
    host: Schema.String,
    started: Schema.optional(Schema.String),
    at: Schema.Number,
  }),
)
type Content = typeof Content.Type

// Synchronous calls: a few tiny files on a local disk (see `fsSync`).

const readContent = (path: string): Content | undefined => {
  let text: string
  try {
    text = fs.readFileSync(path, "utf8")
  } catch {
    return undefined
  }
  const content = Schema.decodeUnknownOption(Content)(text)
  return content._tag === "Some" ? content.value : undefined
}

/** Creates `path` holding `content`, atomically; false if it exists. */
const createWith = (path: string, content: string): boolean => {
  // Named by its writer, so that one killed here can be told and its file removed.
  const aside = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.new`
  fs.writeFileSync(aside, content, { mode: 0o600, flag: "wx" })
  try {
    fs.linkSync(aside, path)
    return true
  } catch (error) {
    if (isErrno(error, "EEXIST")) return false
    throw error
  } finally {
    fs.rmSync(aside, { force: true })
  }
}

/**
 * `mkdir -p`, a level at a time. Node 20's recursive `mkdirSync` loops for
 * ever where mkdir answers ENOENT under a parent that exists (as in /proc).
 */
const makeDirectories = (directory: string, mode: number): void => {
  try {
    fs.mkdirSync(directory, { mode })
  } catch (error) {
    if (isErrno(error, "EEXIST")) return
    const parent = dirname(directory)
    if (!isErrno(error, "ENOENT") || parent === directory) throw error
    makeDirectories(parent, mode)
    fs.mkdirSync(directory, { mode })
  }
}

const abandoned = (holder: Content | undefined, staleMs: number, now: number): boolean =>
  holder !== undefined &&
  ((holder.host === thisProcess().host && holder.pid !== process.pid && !isAlive(holder.pid, holder.started)) ||
    now - holder.at > staleMs)

/**
 * Runs `remove` under the takeover lock of `path`, if it can be had now;
 * one left by a takeover that was itself abandoned, which would block
 * every other, is removed instead.
 */
const underTakeoverLock = (path: string, staleMs: number, remove: () => void): void => {
  const steal = `${path}.steal`
  const me = JSON.stringify({ owner: randomBytes(9).toString("base64url"), ...thisProcess(), at: Date.now() })
  if (!createWith(steal, me)) {
    if (abandoned(readContent(steal), staleMs, Date.now())) fs.rmSync(steal, { force: true })
    return
  }
  try {
    remove()
  } finally {
    fs.rmSync(steal, { force: true })
  }
}

/** Removes the lock at `path` if it still names `holder`, under the takeover lock. */
const takeOver = (path: string, holder: Content, staleMs: number): void =>
  underTakeoverLock(path, staleMs, () => {
    if (readContent(path)?.owner === holder.owner) fs.rmSync(path, { force: true })
  })

/**
 * Removes the lock at `path` if it is still the unreadable file `seen` (the
 * same inode and time), under the takeover lock: a lock left empty or cut
 * short (a power loss before its bytes reached the disk) names no holder to
 * wait for, so its age alone says it was abandoned.
 */
const takeOverUnreadable = (path: string, seen: fs.Stats, staleMs: number): void =>
  underTakeoverLock(path, staleMs, () => {
    const now = fs.statSync(path, { throwIfNoEntry: false })
    if (now?.ino === seen.ino && now.mtimeMs === seen.mtimeMs && readContent(path) === undefined) {
      fs.rmSync(path, { force: true })
    }
  })

/** Runs `effect` holding the lock file at `lockPath`. */
export const withLockFile = <A, E, R>(
  lockPath: string,
  options: LockOptions,
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | TokenStoreError, R> => {
  const io = <T>(what: string, run: () => T) => fsSync(options.storePath, what, run)
  const owner = randomBytes(9).toString("base64url")
  const acquire = Effect.gen(function* () {
    // The wait is counted by the fiber's Clock, as it sleeps by it; a holder's age by the wall clock it wrote.
    const deadline = (yield* Clock.currentTimeMillis) + options.waitMs
    let directory = false
    while (true) {
      const content = JSON.stringify({ owner, ...thisProcess(), at: Date.now() })
      const created = yield* io("lock", () => {
        try {
          return createWith(lockPath, content)
        } catch (error) {
          // The store's directory is made the first time it is needed.
          if (directory || !isErrno(error, "ENOENT")) throw error
          return undefined
        }
      })
      if (created === true) return
      if (created === undefined) {
        yield* io("create directory", () => makeDirectories(dirname(lockPath), 0o700))
        directory = true
        continue
      }
      const holder = readContent(lockPath)
      const unreadable =
        holder === undefined ? yield* io("lock", () => fs.statSync(lockPath, { throwIfNoEntry: false })) : undefined
      if (holder !== undefined && abandoned(holder, options.staleMs, Date.now())) {
        yield* io("take over lock", () => takeOver(lockPath, holder, options.staleMs))
      } else if (unreadable !== undefined && Date.now() - unreadable.mtimeMs > options.staleMs) {
        yield* io("take over lock", () => takeOverUnreadable(lockPath, unreadable, options.staleMs))
      } else if ((yield* Clock.currentTimeMillis) > deadline) {
        return yield* new StoreError({
          path: options.storePath,
          reason: "locked",
          detail:
            holder !== undefined
              ? `held by process ${holder.pid} on ${holder.host}`
              : unreadable !== undefined
                ? `its lock file ${lockPath} names no holder; it is taken over once ${Math.round(options.staleMs / 1000)} s old, or remove it`
                : undefined,
        })
      } else yield* Effect.interruptible(Effect.sleep(RETRY_MS)) // only the wait may be interrupted: nothing is held
    }
  })
  const release = Effect.ignore(
    io("unlock", () => {
      if (readContent(lockPath)?.owner === owner) fs.rmSync(lockPath, { force: true })
    }),
  )
  return Effect.acquireUseRelease(
    acquire,
    () => effect,
    () => release,
  )
}
