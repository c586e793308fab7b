/** Starts the emulator for one test file and stops it afterwards. */
import { defaultHyperproofClient, type Emulator, type StartOptions, start } from "@hyperauth/emulator"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { afterAll, beforeAll, beforeEach } from "vitest"
import type * as Hyperproof from "../../src/Hyperproof.js"

export const useEmulator = (options?: StartOptions): { readonly current: Emulator } => {
  const holder: { current: Emulator | undefined } = { current: undefined }
  beforeAll(async () => {
    holder.current = await start(options)
  })
  afterAll(async () => {
    await holder.current?.close()
  })
  beforeEach(() => {
    holder.current?.faults.clear()
  })
  return {
    get current() {
      if (holder.current === undefined) throw new Error("the emulator has not started")
      return holder.current
    },
  }
}

/** The options of a `Hyperproof` service for the emulator's registered client. */
export const hyperproofOptions = (emulator: Emulator): Hyperproof.Options => ({
  clientId: defaultHyperproofClient.clientId,
  clientSecret: Redacted.make(defaultHyperproofClient.clientSecret),
  authUrl: emulator.origins.hyperproofAccounts,
  apiUrl: emulator.origins.hyperproofApi,
})

/** Waits in real time (the emulator answers over real sockets) until `condition` holds, 10 s at most. */
export const eventually = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let tries = 0; tries < 2_000; tries++) {
      if (yield* condition) return
      yield* TestServices.provideLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.dieMessage("the condition did not hold within 10 s")
  })

/**
 * Lets a device poller send `polls` polls on the TestClock: each time it
 * waits (its next poll is due within `interval`), the clock moves one
 * interval on, and the poll's answer comes over a real socket.
 */
export const pollsOnTestClock = (
  poller: Fiber.Fiber<unknown, unknown>,
  interval: Duration.Duration,
  polls: number,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let poll = 1; poll <= polls; poll++) {
      const now = yield* TestClock.currentTimeMillis
      const waiting = Effect.map(TestClock.sleeps(), (wakeUps) =>
        [...wakeUps].some((at) => at <= now + Duration.toMillis(interval)),
      )
      yield* eventually(Effect.zipWith(Fiber.poll(poller), waiting, (done, wait) => Option.isSome(done) || wait))
      yield* TestClock.adjust(interval)
    }
  })
