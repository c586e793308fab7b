/**
 * Two replicas on one store (two `hyperauth-mcp` processes over stdio, one
 * encrypted file store between them) asked at the same moment to log one
 * account in: as within one process (a double click), they get one login,
 * and the provider is asked once.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured, tempStore } from "./support/harness.js"

let emulator: Emulator
const sessions: Array<Session> = []

const server = async (env: Record<string, string>) => {
  const session = await connect({ ...emulatorEnv(emulator), ...env })
  sessions.push(session)
  return session
}

const deviceStarts = () => emulator.count({ origin: "hyper", path: "/oauth/device" })

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
})

afterEach(async () => {
  emulator.faults.clear()
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
})

afterAll(async () => {
  await emulator?.close()
})

describe("two replicas asked at once to log one account in", () => {
  it("get one device login: one code for the user, one poller", async () => {
    // Two replicas that each find no login waiting, start their own and record it beside the other's leave
    // the user two codes, both pending, each polled by its replica until it expires.
    const env = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "replicas-key" }
    const [a, b] = await Promise.all([server(env), server(env)])
    if (a === undefined || b === undefined) throw new Error("no servers")
    // The provider takes a moment to answer the device authorization, as a real one over the network does.
    emulator.faults.inject({ origin: "hyper", path: "/oauth/device", latencyMs: 300, times: 2 })
    const startsBefore = deviceStarts()
    const args = { provider: "hyper", account: "both", scope: "read" }
    const [first, second] = (await Promise.all([a.call("login", args), b.call("login", args)])).map(structured)
    expect(second?.login_id).toBe(first?.login_id)
    expect(second?.user_code).toBe(first?.user_code)
    expect(deviceStarts() - startsBefore).toBe(1)

    emulator.hyper.approve(String(first?.user_code))
    const done = structured(await b.call("complete_login", { login_id: first?.login_id, wait_seconds: 10 }))
    expect(done).toMatchObject({ status: "authenticated", scope: "read" })
  })
})
