/** Reading what an effect ended with, in tests. */
import { assert } from "@effect/vitest"
import { Cause, Exit } from "effect"

/** The typed failure `exit` ended with; the test fails on a success, a defect or an interruption. */
export const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause)}`)
}
