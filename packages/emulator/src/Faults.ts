/**
 * The fault switchboard: make a route slow, fail, hang up or answer garbage,
 * so that clients can be tested against what real networks and servers do.
 */
import type { OriginName } from "./Origins.js"

/**
 * One fault: which requests it applies to (origin, method, path, how many)
 * and what it does to them (delay, a status, a dropped or reset connection,
 * truncated JSON).
 *
 * @example
 * ```ts
 * import { type Fault, start } from "@hyperauth/emulator"
 *
 * // hyperproof's token endpoint down for two requests, asking to come back in 2 s.
 * const outage: Fault = { origin: "hyperproofAccounts", path: "/oauth/token", status: 503, headers: { "retry-after": "2" }, times: 2 }
 * const emulator = await start()
 * emulator.faults.inject(outage)
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Fault {
  /** Which listener; any when absent. */
  readonly origin?: OriginName | undefined
  /** Exact path, e.g. "/oauth/token"; any when absent. */
  readonly path?: string | undefined
  /** HTTP method; any when absent. */
  readonly method?: string | undefined
  /** Wait this long before doing anything else. */
  readonly latencyMs?: number | undefined
  /**
   * Handle the request, then wait this long before answering: the provider
   * has acted (a code redeemed, a refresh token spent) while its answer is
   * still on the way, as when a server or the network is slow after the fact.
   */
  readonly answerLatencyMs?: number | undefined
  /** Answer with this status (and `body`, `headers`) instead of the route. */
  readonly status?: number | undefined
  /** Text is sent as UTF-8, bytes (a `Uint8Array`, e.g. ones that are no UTF-8) as they are, anything else as JSON. */
  readonly body?: string | Uint8Array | object | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Close the connection without an answer. */
  readonly drop?: boolean | undefined
  /** Reset the connection (TCP RST, `ECONNRESET` at the client) without an answer. */
  readonly reset?: boolean | undefined
  /** Send the answer's body gzip-compressed (`content-encoding: gzip`), e.g. a small bomb of a large body. */
  readonly gzip?: boolean | undefined
  /** Answer 200 with a truncated JSON body. */
  readonly malformed?: boolean | undefined
  /** How many requests it applies to; unlimited when absent. */
  readonly times?: number | undefined
}

interface Armed {
  readonly fault: Fault
  remaining: number
}

/**
 * The emulator's fault switchboard: `inject` arms a fault, the newest
 * matching one wins, `clear` disarms them all.
 *
 * @example
 * ```ts
 * import { start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * // The next token request to hyper is answered 503 with Retry-After; later ones are not.
 * const disarm = emulator.faults.inject({ origin: "hyper", path: "/oauth/token", status: 503, headers: { "retry-after": "1" }, times: 1 })
 * disarm()
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Faults {
  #armed: Array<Armed> = []

  /** Arms a fault; the newest matching fault wins. Returns a disarm function. */
  inject(fault: Fault): () => void {
    const armed = { fault, remaining: fault.times ?? Number.POSITIVE_INFINITY }
    this.#armed.unshift(armed)
    return () => {
      this.#armed = this.#armed.filter((a) => a !== armed)
    }
  }

  clear(): void {
    this.#armed = []
  }

  /** The fault for this request, if any, counting it as used. */
  take(origin: OriginName, method: string, path: string): Fault | undefined {
    const armed = this.#armed.find(
      ({ fault, remaining }) =>
        remaining > 0 &&
        (fault.origin === undefined || fault.origin === origin) &&
        (fault.method === undefined || fault.method.toUpperCase() === method) &&
        (fault.path === undefined || fault.path === path),
    )
    if (armed === undefined) return undefined
    armed.remaining -= 1
    if (armed.remaining <= 0) this.#armed = this.#armed.filter((a) => a !== armed)
    return armed.fault
  }
}
