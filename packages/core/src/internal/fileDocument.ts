/**
 * One JSON document in one file: versioned, optionally encrypted with
 * AES-256-GCM, changed only under a lock file, and replaced atomically
 * (temporary file, flush, rename).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto"
import * as fs from "node:fs/promises"
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { TokenStoreError } from "../OAuthError.js"
import { fsEffect, isErrno } from "./fsEffect.js"
import { withLockFile } from "./lockFile.js"
import * as SingleFlight from "./singleFlight.js"

const FORMAT = "hyperauth-token-store"
const VERSION = 1
/** Authenticated with the ciphertext, so a file cannot pass for another format. */
const AAD = Buffer.from(`${FORMAT}:v${VERSION}`)
const LOCK_WAIT_MS = 10_000
/** A lock older than this is left over from a crash. */
const STALE_LOCK_MS = 30_000

// scrypt cost N = 2^14: about 16 MiB and tens of milliseconds per derivation.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const

const Header = Schema.Struct({ format: Schema.String, version: Schema.Number })

const Plain = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Number,
  revision: Schema.Number,
  entries: Schema.Unknown,
})

const Sealed = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Number,
  revision: Schema.Number,
  cipher: Schema.Struct({
    alg: Schema.Literal("aes-256-gcm"),
    kdf: Schema.Literal("scrypt"),
    salt: Schema.String,
    nonce: Schema.String,
    tag: Schema.String,
  }),
  data: Schema.String,
})

const Document = Schema.Union(Sealed, Plain)
type Document = typeof Document.Type

/** Test seams: what happens between the steps of a read or a write. */
export interface Hooks {
  /** Runs after the file is read, before it is parsed. */
  readonly afterRead?: Effect.Effect<void> | undefined
  /** Runs after the temporary file is flushed, before it replaces the document. */
  readonly beforeRename?: Effect.Effect<void> | undefined
}

export interface FileDocument {
  /** The document's entries; `{}` when the file does not exist yet. */
  readonly read: Effect.Effect<unknown, TokenStoreError>
  /**
   * Under the lock: reads the entries, lets `f` compute a result and maybe
   * new entries, and writes those atomically.
   */
  readonly update: <A>(
    f: (entries: unknown) => Effect.Effect<readonly [A, Option.Option<unknown>], TokenStoreError>,
  ) => Effect.Effect<A, TokenStoreError>
}

export const make = (path: string, key: Redacted.Redacted<string> | undefined, hooks: Hooks = {}): FileDocument => {
  const fail = (reason: TokenStoreError["reason"], detail?: string) => new TokenStoreError({ path, reason, detail })
  const io = <A>(what: string, run: () => Promise<A>) => fsEffect(path, what, run)

  const derived = new Map<string, Buffer>()
  const deriveKey = (secret: Redacted.Redacted<string>, salt: Buffer): Buffer => {
    const id = salt.toString("base64")
    const cached = derived.get(id)
    if (cached !== undefined) return cached
    const fresh = scryptSync(Redacted.value(secret), salt, 32, SCRYPT)
    derived.set(id, fresh)
    return fresh
  }

  /** Parses and, if sealed, decrypts; never alters the file. */
  const open = (
    text: string,
  ): Effect.Effect<{ readonly document: Document; readonly entries: unknown }, TokenStoreError> =>
    Effect.gen(function* () {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        return yield* fail("corrupted", "it is not complete JSON")
      }
      const header = Schema.decodeUnknownOption(Header)(json)
      if (Option.isNone(header) || header.value.format !== FORMAT) {
        return yield* fail("corrupted", "it is not a hyperauth token store")
      }
      if (header.value.version > VERSION) {
        return yield* fail("newer_version", `format version ${header.value.version}, this one reads ${VERSION}`)
      }
      const document = yield* Schema.decodeUnknown(Document)(json).pipe(
        Effect.mapError(() => fail("corrupted", "its structure is damaged")),
      )
      if (!("cipher" in document)) return { document, entries: document.entries }
      if (key === undefined) return yield* fail("key_required")
      try {
        const decipher = createDecipheriv(
          "aes-256-gcm",
          deriveKey(key, Buffer.from(document.cipher.salt, "base64")),
          Buffer.from(document.cipher.nonce, "base64"),
        )
        decipher.setAAD(AAD)
        decipher.setAuthTag(Buffer.from(document.cipher.tag, "base64"))
        const plain = Buffer.concat([decipher.update(Buffer.from(document.data, "base64")), decipher.final()])
        return { document, entries: JSON.parse(plain.toString("utf8")) as unknown }
      } catch {
        // GCM cannot tell a wrong key from altered bytes; the key is the likelier cause.
        return yield* fail("wrong_key")
      }
    })

  const load = Effect.flatMap(
    io("read", () =>
      fs
        .readFile(path, "utf8")
        .catch((error: unknown) => (isErrno(error, "ENOENT") ? undefined : Promise.reject(error))),
    ),
    (text) =>
      Effect.zipRight(hooks.afterRead ?? Effect.void, text === undefined ? Effect.succeed(undefined) : open(text)),
  )

  const seal = (entries: unknown, revision: number, previous: Document | undefined): Document => {
    if (key === undefined) return { format: FORMAT, version: VERSION, revision, entries }
    const salt =
      previous !== undefined && "cipher" in previous ? Buffer.from(previous.cipher.salt, "base64") : randomBytes(16)
    const nonce = randomBytes(12)
    const cipher = createCipheriv("aes-256-gcm", deriveKey(key, salt), nonce)
    cipher.setAAD(AAD)
    const data = Buffer.concat([cipher.update(JSON.stringify(entries), "utf8"), cipher.final()])
    return {
      format: FORMAT,
      version: VERSION,
      revision,
      cipher: {
        alg: "aes-256-gcm",
        kdf: "scrypt",
        salt: salt.toString("base64"),
        nonce: nonce.toString("base64"),
        tag: cipher.getAuthTag().toString("base64"),
      },
      data: data.toString("base64"),
    }
  }

  const writeAtomically = (document: Document) => {
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
    return Effect.gen(function* () {
      yield* io("write", async () => {
        const handle = await fs.open(temporary, "wx", 0o600)
        try {
          await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, "utf8")
          await handle.sync()
        } finally {
          await handle.close()
        }
      })
      if (hooks.beforeRename !== undefined) yield* hooks.beforeRename
      yield* io("replace", () => fs.rename(temporary, path))
      // Makes the rename itself durable; not every platform can sync a directory.
      yield* Effect.ignore(
        io("sync directory", () => fs.open(dirname(path), "r").then((d) => d.sync().finally(() => d.close()))),
      )
    }).pipe(Effect.onError(() => Effect.promise(() => fs.rm(temporary, { force: true }))))
  }

  // One writer at a time inside this process; the lock file orders processes.
  const mutex = Effect.unsafeMakeSemaphore(1)

  // Concurrent readers share one read and decryption of the file, keyed by
  // how many writes this process has made: a reader never joins a read that
  // began before a write of ours it must see.
  let writes = 0
  const reads = SingleFlight.make<number, unknown, TokenStoreError>()

  return {
    read: Effect.suspend(() =>
      reads(
        writes,
        Effect.map(load, (loaded) => loaded?.entries ?? {}),
      ),
    ),
    update: (f) =>
      mutex.withPermits(1)(
        withLockFile(
          `${path}.lock`,
          { storePath: path, waitMs: LOCK_WAIT_MS, staleMs: STALE_LOCK_MS },
          Effect.gen(function* () {
            const loaded = yield* load
            const [result, next] = yield* f(loaded?.entries ?? {})
            if (Option.isSome(next)) {
              const revision = (loaded?.document.revision ?? 0) + 1
              yield* writeAtomically(seal(next.value, revision, loaded?.document))
              writes++
            }
            return result
          }),
        ),
      ),
  }
}
