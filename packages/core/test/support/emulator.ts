/** Starts the emulator for one test file and stops it afterwards. */
import { type Emulator, type StartOptions, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, beforeEach } from "vitest"

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
