/** What the Promise facade tests share: the rejection a call ends with, and that it repeats no secret. */
import { expect } from "vitest"
import { HyperauthError } from "../../src/promise.js"

/** The `HyperauthError` that `call` rejects with (fails the test if it resolves or rejects with anything else). */
export const rejection = async (call: Promise<unknown>): Promise<HyperauthError> => {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  )
  if (!(outcome instanceof HyperauthError)) return expect.fail(`expected a HyperauthError, got ${String(outcome)}`)
  return outcome
}

/** Neither the message, the stack nor the JSON of `error` contains any of `secrets`. */
export const expectNoSecrets = (error: Error, secrets: ReadonlyArray<string | undefined>): void => {
  const shown = [error.message, error.stack ?? "", JSON.stringify(error), String(error)]
  for (const secret of secrets) {
    expect(secret, "a secret to look for").toBeTypeOf("string")
    expect((secret ?? "").length).toBeGreaterThan(8)
    for (const text of shown) expect(text).not.toContain(secret)
  }
}

/**
 * What a session that keeps `value` as JSON gives back: the test fails if
 * JSON would change it, so the value itself is what comes back.
 */
export const keptAsJson = <A>(value: A): A => {
  const parsed: unknown = JSON.parse(JSON.stringify(value))
  expect(parsed).toStrictEqual(value)
  return value
}

/**
 * A value as plain JavaScript passes it, untyped, to a parameter of any
 * type: what the compiler would refuse, to see the facade refuse it.
 */
export const untyped = (json: string): never => {
  const value: unknown = JSON.parse(json)
  // On purpose: the point is a value the types do not describe.
  return value as never
}

/** Any value as plain JavaScript passes it, untyped (a Proxy, an object with throwing getters): see `untyped`. */
export const unchecked = (value: unknown): never =>
  // On purpose, as `untyped`.
  value as never
