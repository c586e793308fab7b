/** How much each measurement does: the full run, or a quick one that only shows the bench still works. */
import type { Rounds } from "./stats.js"

export interface Scale {
  /** Sequential calls per contender: API calls and grants. */
  readonly calls: Rounds
  /** `TokenStore.get` calls per store, after as many to warm up. */
  readonly storeReads: number
  /** Trials of the refresh stampede. */
  readonly trials: number
  /** Starts of the MCP server. */
  readonly starts: number
  /** When the user approves each device login, in seconds after it started. */
  readonly approvals: ReadonlyArray<number>
  /** Replicas sharing one store: processes, how often the token expires, callers per replica. */
  readonly replicas: { readonly replicas: number; readonly expiries: number; readonly callers: number }
}

export const full: Scale = {
  // 3,000 calls of warm-up: fewer, and `fetch` (undici's pool, the JIT) is still getting faster.
  calls: { rounds: 10, perRound: 150, warmup: 3_000 },
  storeReads: 20_000,
  trials: 7,
  starts: 15,
  approvals: [1.5, 2.5, 3.5, 4.5, 5.5],
  replicas: { replicas: 6, expiries: 10, callers: 30 },
}

export const quick: Scale = {
  calls: { rounds: 2, perRound: 5, warmup: 5 },
  storeReads: 200,
  trials: 1,
  starts: 1,
  approvals: [1.5],
  replicas: { replicas: 2, expiries: 2, callers: 2 },
}
