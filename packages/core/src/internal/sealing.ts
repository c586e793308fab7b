/**
 * Encryption at rest, the same on every backend: AES-256-GCM under a key
 * derived with scrypt from `HYPERAUTH_STORE_KEY`, a fresh nonce per seal,
 * and associated data that binds a sealed value to its place (format and,
 * for per-record backends, the record's key), so it cannot be moved.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

// scrypt cost N = 2^14: about 16 MiB and tens of milliseconds per derivation.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const

export const Cipher = Schema.Struct({
  alg: Schema.Literal("aes-256-gcm"),
  kdf: Schema.Literal("scrypt"),
  salt: Schema.String,
  nonce: Schema.String,
  tag: Schema.String,
})

export const Sealed = Schema.Struct({ cipher: Cipher, data: Schema.String })
export type Sealed = typeof Sealed.Type

/** GCM cannot tell a wrong key from altered bytes. */
export class OpenFailed extends Schema.TaggedError<OpenFailed>()("OpenFailed", {}) {}

export interface Sealer {
  readonly seal: (plain: string, aad: string, salt?: string) => Sealed
  readonly open: (sealed: Sealed, aad: string) => Effect.Effect<string, OpenFailed>
}

/** A sealer for one secret; derived keys are cached per salt. */
export const make = (secret: Redacted.Redacted<string>): Sealer => {
  const derived = new Map<string, Buffer>()
  const keyFor = (salt: string): Buffer => {
    const cached = derived.get(salt)
    if (cached !== undefined) return cached
    const fresh = scryptSync(Redacted.value(secret), Buffer.from(salt, "base64"), 32, SCRYPT)
    derived.set(salt, fresh)
    return fresh
  }
  return {
    seal: (plain, aad, salt = randomBytes(16).toString("base64")) => {
      const nonce = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", keyFor(salt), nonce)
      cipher.setAAD(Buffer.from(aad))
      const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()])
      return {
        cipher: {
          alg: "aes-256-gcm",
          kdf: "scrypt",
          salt,
          nonce: nonce.toString("base64"),
          tag: cipher.getAuthTag().toString("base64"),
        },
        data: data.toString("base64"),
      }
    },
    open: (sealed, aad) =>
      Effect.try({
        try: () => {
          const decipher = createDecipheriv(
            "aes-256-gcm",
            keyFor(sealed.cipher.salt),
            Buffer.from(sealed.cipher.nonce, "base64"),
          )
          decipher.setAAD(Buffer.from(aad))
          decipher.setAuthTag(Buffer.from(sealed.cipher.tag, "base64"))
          return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8")
        },
        catch: () => new OpenFailed(),
      }),
  }
}

/** A new random salt, for a store that keeps one salt for all its values. */
export const newSalt = (): string => randomBytes(16).toString("base64")
