/**
 * The `--http` transport's sessions: how many may be open at once, and
 * which idle ones are reclaimed. A session is idle when no request of it is
 * open (an open GET stream counts as one) and its last one ended more than
 * the idle timeout ago. Time is read from `now`, so that tests can move it.
 */
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"

export interface SessionLimits {
  /** How long a session may go without a request before it is closed. */
  readonly idleMillis: number
  /** How many sessions may be open (or being opened) at once. */
  readonly max: number
  /** The clock, `Date.now` by default. */
  readonly now?: (() => number) | undefined
}

/** 15 minutes without a request, at most 64 sessions. */
export const defaultLimits: SessionLimits = { idleMillis: 15 * 60 * 1000, max: 64 }

interface Entry {
  readonly transport: StreamableHTTPServerTransport
  lastSeen: number
  open: number
}

export interface Sessions {
  readonly get: (id: string) => StreamableHTTPServerTransport | undefined
  /** Whether a new session may start now; if so, one place is held until `add` or `release`. */
  readonly reserve: () => boolean
  /** The reserved place becomes the session `id`. */
  readonly add: (id: string, transport: StreamableHTTPServerTransport) => void
  /** The reserved place is given back: no session started. */
  readonly release: () => void
  /** Marks a request of the session as open until the returned function is called. */
  readonly begin: (id: string) => () => void
  readonly remove: (id: string) => void
  /** Closes the sessions that have been idle longer than the limit. */
  readonly reclaim: () => Promise<void>
  readonly closeAll: () => Promise<void>
  readonly size: () => number
}

export const make = (limits: SessionLimits): Sessions => {
  const now = limits.now ?? Date.now
  const entries = new Map<string, Entry>()
  let starting = 0

  const close = async (id: string, entry: Entry) => {
    entries.delete(id)
    await entry.transport.close().catch(() => undefined)
  }

  return {
    get: (id) => {
      const entry = entries.get(id)
      if (entry !== undefined) entry.lastSeen = now()
      return entry?.transport
    },
    reserve: () => {
      if (entries.size + starting >= limits.max) return false
      starting += 1
      return true
    },
    add: (id, transport) => {
      starting -= 1
      entries.set(id, { transport, lastSeen: now(), open: 0 })
    },
    release: () => {
      starting -= 1
    },
    begin: (id) => {
      const entry = entries.get(id)
      if (entry === undefined) return () => undefined
      entry.open += 1
      let ended = false
      return () => {
        if (ended) return
        ended = true
        entry.open -= 1
        entry.lastSeen = now()
      }
    },
    remove: (id) => {
      entries.delete(id)
    },
    reclaim: async () => {
      const cutoff = now() - limits.idleMillis
      const idle = [...entries].filter(([, entry]) => entry.open === 0 && entry.lastSeen <= cutoff)
      await Promise.all(idle.map(([id, entry]) => close(id, entry)))
    },
    closeAll: async () => {
      await Promise.all([...entries].map(([id, entry]) => close(id, entry)))
    },
    size: () => entries.size,
  }
}
