/**
 * What the emulator keeps of the requests it receives: the newest ones in
 * full, and counts of them all, so that memory stays bounded however many
 * requests a test or a benchmark sends.
 */
import type { LoggedRequest } from "./Emulator.js"
import type { OriginName } from "./Origins.js"
import { keepNewest } from "./State.js"

/** How many requests `Emulator.requests` keeps at least. */
export const requestLogLimit = 1_000

/**
 * How many kinds of request (origin, method, path, status, error) with a
 * path that is no route's own are counted by path. Clients choose those
 * paths (`/v1/anything`, a typo), so past this many a new kind is counted
 * without its path (a kind counted by path before goes on being): exact for
 * every filter that names no path.
 */
export const otherPathKinds = 1_000

type LogEntry = { -readonly [K in keyof LoggedRequest]: LoggedRequest[K] }

/** A kind of request and how many there were; `path` is absent when it was not counted by path. */
interface Tally {
  readonly request: Omit<LoggedRequest, "path"> & { readonly path: string | undefined }
  /** Counted by a path that is no route's own (see `otherPathKinds`). */
  readonly otherPath: boolean
  n: number
}

export class RequestLog {
  /** The newest requests, oldest first. */
  readonly requests: Array<LoggedRequest> = []
  readonly #tallies = new Map<string, Tally>()
  /** The routes' own paths, always counted by path: there are only so many. */
  readonly #routePaths: ReadonlySet<string>
  #otherKinds = 0

  constructor(routePaths: Iterable<string>) {
    this.#routePaths = new Set(routePaths)
  }

  /** How many kinds of request are counted (tests check that it stays bounded). */
  get kinds(): number {
    return this.#tallies.size
  }

  /** Logs a request as it arrives; the function it gives records the answer. */
  arrived(origin: OriginName, method: string, path: string): (status: number, error: string | undefined) => void {
    const entry: LogEntry = { origin, method, path }
    this.requests.push(entry)
    keepNewest(this.requests, requestLogLimit)
    // Counted as in flight (no status) until answered, as `count` has always seen it.
    let key = this.#add(entry)
    return (status, error) => {
      entry.status = status
      entry.error = error
      this.#remove(key)
      key = this.#add(entry)
    }
  }

  /** How many requests, of all received, match every field `filter` gives. */
  count(filter: Partial<LoggedRequest>): number {
    let total = 0
    for (const { request, n } of this.#tallies.values()) {
      const matches = Object.entries(filter).every(
        ([field, want]) => want === undefined || request[field as keyof LoggedRequest] === want,
      )
      if (matches) total += n
    }
    return total
  }

  /** Counts one request; the key it was counted under. */
  #add(request: LoggedRequest): string {
    const other = !this.#routePaths.has(request.path)
    const keyed = (path: string | undefined) =>
      JSON.stringify([request.origin, request.method, path, request.status, request.error])
    // A kind already counted by path stays counted by path; only new kinds of other paths go without it past the cap.
    const byPath = keyed(request.path)
    const path = other && this.#otherKinds >= otherPathKinds && !this.#tallies.has(byPath) ? undefined : request.path
    const key = path === undefined ? keyed(undefined) : byPath
    const tally = this.#tallies.get(key)
    if (tally !== undefined) {
      tally.n += 1
      return key
    }
    const otherPath = other && path !== undefined
    if (otherPath) this.#otherKinds += 1
    this.#tallies.set(key, { request: { ...request, path }, otherPath, n: 1 })
    return key
  }

  #remove(key: string): void {
    const tally = this.#tallies.get(key)
    if (tally === undefined) return
    tally.n -= 1
    if (tally.n > 0) return
    this.#tallies.delete(key)
    if (tally.otherPath) this.#otherKinds -= 1
  }
}
