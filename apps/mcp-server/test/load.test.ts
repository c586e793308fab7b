/**
 * Load: many concurrent `call_api` calls over one stdio session each come
 * back with their own answer, none mixed up, lost or duplicated.
 */
import { type Emulator, sampleControl, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured } from "./support/harness.js"

const concurrentCalls = 200

let emulator: Emulator
let session: Session

beforeAll(async () => {
  emulator = await start()
  for (let i = 0; i < concurrentCalls; i++) {
    emulator.hyperproof.putControl({ ...sampleControl, id: `ctl_load_${i}`, name: `Load control ${i}` })
  }
  session = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: "memory" })
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

describe("load over one stdio session", () => {
  it(`${concurrentCalls} concurrent call_api calls all return their own, correct answer`, async () => {
    structured(await session.call("login", { provider: "hyperproof" }))
    const tokenRequests = emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
    const apiRequests = emulator.count({ origin: "hyperproofApi" })

    const results = await Promise.all(
      Array.from({ length: concurrentCalls }, (_, i) =>
        session.call("call_api", { provider: "hyperproof", method: "GET", path: `/v1/controls/ctl_load_${i}` }),
      ),
    )

    results.forEach((result, i) => {
      const { status, body } = structured(result) as { status: number; body: { id: string; name: string } }
      expect(status).toBe(200)
      expect(body.id).toBe(`ctl_load_${i}`)
      expect(body.name).toBe(`Load control ${i}`)
    })
    expect(new Set(results.map((r) => JSON.stringify(r.structuredContent))).size).toBe(concurrentCalls)
    // One request each, and the valid token was shared, not fetched again.
    expect(emulator.count({ origin: "hyperproofApi" }) - apiRequests).toBe(concurrentCalls)
    expect(emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })).toBe(tokenRequests)
  })

  it(`${concurrentCalls} concurrent calls refused with 401 share one new token`, async () => {
    structured(await session.call("login", { provider: "hyperproof", account: "revoked" }))
    emulator.tokens.revokeAll("hyperproof")
    const tokenRequests = emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })

    const results = await Promise.all(
      Array.from({ length: concurrentCalls }, (_, i) =>
        session.call("call_api", {
          provider: "hyperproof",
          account: "revoked",
          method: "GET",
          path: `/v1/controls/ctl_load_${i}`,
        }),
      ),
    )

    results.forEach((result, i) => {
      const { status, body } = structured(result) as { status: number; body: { id: string } }
      expect(status).toBe(200)
      expect(body.id).toBe(`ctl_load_${i}`)
    })
    expect(emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" }) - tokenRequests).toBe(1)
  })
})
