/**
 * The one-time grants this process presented and the provider accepted:
 * presented again, the provider would take it for a stolen grant and end
 * the login it gave (RFC 6749 §4.1.2), so it is refused here instead.
 *
 * Kept as SHA-256 digests, not the grants, and at most `capacity` of them
 * (the oldest forgotten first): a grant is spent within minutes of being
 * issued, and a web app's callback page is reloaded soon after, if ever.
 */
import { createHash } from "node:crypto"

export interface SpentGrants {
  /** Whether `grant` was presented and accepted. */
  readonly has: (grant: string) => boolean
  /** Marks `grant` spent. */
  readonly add: (grant: string) => void
}

export const make = (capacity = 10_000): SpentGrants => {
  // A Set keeps insertion order: its first digest is the oldest.
  const spent = new Set<string>()
  const digest = (grant: string) => createHash("sha256").update(grant).digest("base64url")
  return {
    has: (grant) => spent.has(digest(grant)),
    add: (grant) => {
      spent.add(digest(grant))
      if (spent.size > capacity) {
        const oldest = spent.values().next()
        if (oldest.done !== true) spent.delete(oldest.value)
      }
    },
  }
}
