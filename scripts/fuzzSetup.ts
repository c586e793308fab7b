/**
 * One seed and run count for every property test (vitest `setupFiles`):
 * fixed in CI so a red run can be replayed, longer and freshly seeded with
 * `pnpm fuzz`. fast-check prints the seed and path of any counterexample.
 */
import { FastCheck } from "effect"

const seed = process.env.FUZZ_SEED === "random" ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20_261_123)

FastCheck.configureGlobal({ seed, numRuns: Number(process.env.FUZZ_RUNS ?? 60) })
