/** Timing and summary statistics for the benchmarks. */
import { performance } from "node:perf_hooks"

/** The `p`-th percentile (0–100) of `samples`, nearest-rank. */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

export const median = (samples: ReadonlyArray<number>): number => percentile(samples, 50)

/** Milliseconds `run` took. */
export const time = async (run: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await run()
  return performance.now() - started
}

export interface Rounds {
  readonly rounds: number
  readonly perRound: number
  readonly warmup: number
}

/**
 * Runs each contender `perRound` times per round, taking turns round by
 * round so that a slow moment of the machine falls on all of them alike.
 * Returns the latency of every call, per contender.
 */
export const interleave = async <K extends string>(
  contenders: Readonly<Record<K, () => Promise<unknown>>>,
  options: Rounds,
): Promise<Record<K, Array<number>>> => {
  const names = Object.keys(contenders) as Array<K>
  const samples = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<K, Array<number>>
  for (const name of names) for (let i = 0; i < options.warmup; i++) await contenders[name]()
  for (let round = 0; round < options.rounds; round++) {
    for (const name of names) {
      for (let i = 0; i < options.perRound; i++) samples[name].push(await time(contenders[name]))
    }
  }
  return samples
}

export const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1))
export const ratio = (value: number, reference: number): string => `${(value / reference).toFixed(2)}×`
