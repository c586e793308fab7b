/** Starts the emulator for one test file and stops it afterwards. */
import { defaultHyperproofClient, type Emulator, type StartOptions, start } from "@hyperauth/emulator"
import * as Redacted from "effect/Redacted"
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
