/**
 * The `--http` transport's sessions: how many may be open at once, and
 * which are closed to make room or because nobody uses them.
 *
 * A session is busy while a request of its client's is open (a POST or
 * DELETE being answered) or its client has still to answer one of the
 * server's (an elicitation); a busy session is never closed. Its GET
 * stream is no work: it is open for as long as the client listens.
 *
 * - Idle: nothing open, not even a GET stream, since its last request ended
 *   more than `idleMillis` ago. It is closed (at the next request, or the
 *   sweep).
 * - Quiet: not busy (its GET stream may be open) since its last request
 *   ended at least `quietMillis` ago. At the cap, a new session takes the
 *   place of the one quiet the longest: its stream is ended and it is
 *   closed, and its client, answered 404, starts a new session when it
 *   next needs one (MCP Streamable HTTP, "Session Management"). Without
 *   that, clients that each listened on a GET stream held every place for
 *   ever. Below the cap a listening session stays: nobody needs its place.
 *   The floor keeps a session in use (a request now and then) from losing
 *   its place to each newcomer; past the cap with none quiet that long, a
 *   new session is refused.
 *
 * Time is read from `now`, so that tests can move it.
 */
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"

export interface SessionLimits {
  /** How long a session may go without a request, and with no GET stream open, before it is closed. */
  readonly idleMillis: number
  /** How long a session must have been quiet before a new one may take its place at the cap. */
  readonly quietMillis: number
  /** How many sessions may be open (or being opened) at once. */
  readonly max: number
  /** The clock, `Date.now` by default. */
  readonly now?: (() => number) | undefined
}

/** 15 minutes without a request, at most 64 sessions; at the cap, a place is taken from one quiet for a minute. */
export const defaultLimits: SessionLimits = { idleMillis: 15 * 60 * 1000, quietMillis: 60 * 1000, max: 64 }

/** What keeps a session open: its GET stream (`"stream"`), or work (`"request"`, every other request). */
export type Hold = "stream" | "request"

interface Entry {
  readonly transport: StreamableHTTPServerTransport
  lastSeen: number
  streams: number
  requests: number
}

export interface Sessions {
  readonly get: (id: string) => StreamableHTTPServerTransport | undefined
  /**
   * Whether a new session may start now, at the cap by closing the session
   * quiet the longest; if so, one place is held until `add` or `release`.
   */
  readonly reserve: () => boolean
  /** The reserved place becomes the session `id`. */
  readonly add: (id: string, transport: StreamableHTTPServerTransport) => void
  /** The reserved place is given back: no session started. */
  readonly release: () => void
  /**
   * Marks the session as held until the returned function is called: by its
   * GET stream, or by a request (a POST or DELETE, or a request of the
   * server's its client has still to answer).
   */
  readonly begin: (id: string, hold: Hold) => () => void
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

  /** The session quiet the longest, if one has been quiet long enough to give its place. */
  const quietest = (): [string, Entry] | undefined => {
    const cutoff = now() - limits.quietMillis
    let found: [string, Entry] | undefined
    for (const [id, entry] of entries)
      if (
        entry.requests === 0 &&
        entry.lastSeen <= cutoff &&
        (found === undefined || entry.lastSeen < found[1].lastSeen)
      )
        found = [id, entry]
    return found
  }

  return {
    get: (id) => {
      const entry = entries.get(id)
      if (entry !== undefined) entry.lastSeen = now()
      return entry?.transport
    },
    reserve: () => {
      if (entries.size + starting >= limits.max) {
        const taken = quietest()
        if (taken === undefined) return false
        void close(...taken)
      }
      starting += 1
      return true
    },
    add: (id, transport) => {
      starting -= 1
      entries.set(id, { transport, lastSeen: now(), streams: 0, requests: 0 })
    },
    release: () => {
      starting -= 1
    },
    begin: (id, hold) => {
      const entry = entries.get(id)
      if (entry === undefined) return () => undefined
      const count = hold === "stream" ? "streams" : "requests"
      entry[count] += 1
      let ended = false
      return () => {
        if (ended) return
        ended = true
        entry[count] -= 1
        entry.lastSeen = now()
      }
    },
    remove: (id) => {
      entries.delete(id)
    },
    reclaim: async () => {
      const cutoff = now() - limits.idleMillis
      const idle = [...entries].filter(
        ([, entry]) => entry.requests === 0 && entry.streams === 0 && entry.lastSeen <= cutoff,
      )
      await Promise.all(idle.map(([id, entry]) => close(id, entry)))
    },
    closeAll: async () => {
      await Promise.all([...entries].map(([id, entry]) => close(id, entry)))
    },
    size: () => entries.size,
  }
}
