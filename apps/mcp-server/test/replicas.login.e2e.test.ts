/**
 * Two replicas on one store (two `hyperauth-mcp` processes over stdio, an
 * encrypted file store or a Redis between them) asked at the same moment to
 * log one account in: as within one process (a double click), they get one
 * login, and the provider is asked once.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { type RedisServer, redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, freePort, type Session, structured, tempStore } from "./support/harness.js"

let emulator: Emulator
let redis: RedisServer | undefined
const sessions: Array<Session> = []

const server = async (env: Record<string, string>) => {
  const session = await connect({ ...emulatorEnv(emulator), ...env })
  sessions.push(session)
  return session
}

const deviceStarts = () => emulator.count({ origin: "hyper", path: "/oauth/device" })

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
  if (redisAvailable()) redis = await startRedis({ password: "not-a-real-password" })
}, 20_000)

afterEach(async () => {
  emulator.faults.clear()
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
})

afterAll(async () => {
  await emulator?.close()
  await redis?.stop()
})

const stores: ReadonlyArray<readonly [string, () => Promise<string | undefined>]> = [
  ["a file store", tempStore],
  [
    "a Redis",
    async () => (redis === undefined ? undefined : `redis://default:not-a-real-password@127.0.0.1:${redis.port}/1`),
  ],
]

describe.each(stores)("two replicas on %s asked at once to log one account in", (_name, store) => {
  it("get one device login: one code for the user, one poller", async (context) => {
    const location = await store()
    if (location === undefined) return context.skip()
    const env = { HYPERAUTH_STORE: location, HYPERAUTH_STORE_KEY: "replicas-key" }
    const [a, b] = await Promise.all([server(env), server(env)])
    if (a === undefined || b === undefined) throw new Error("no servers")
    // The provider takes a moment to answer the device authorization, as a real one over the network does.
    emulator.faults.inject({ origin: "hyper", path: "/oauth/device", latencyMs: 300, times: 2 })
    const startsBefore = deviceStarts()
    const args = { provider: "hyper", account: "both", scope: "read" }
    // Two replicas that each find no login waiting, start their own and record it beside the other's leave
    // the user two codes, both pending, each polled by its replica until it expires.
    const [first, second] = (await Promise.all([a.call("login", args), b.call("login", args)])).map(structured)
    expect(second?.login_id).toBe(first?.login_id)
    expect(second?.user_code).toBe(first?.user_code)
    expect(deviceStarts() - startsBefore).toBe(1)

    emulator.hyper.approve(String(first?.user_code))
    const done = structured(await b.call("complete_login", { login_id: first?.login_id, wait_seconds: 10 }))
    expect(done).toMatchObject({ status: "authenticated", scope: "read" })
    const also = structured(await a.call("complete_login", { login_id: first?.login_id, wait_seconds: 10 }))
    expect(also).toMatchObject({ status: "authenticated", scope: "read" })
  })
  it("get one authorization-code login: one link for the user", async (context) => {
    const location = await store()
    if (location === undefined) return context.skip()
    const env = {
      HYPERAUTH_STORE: location,
      HYPERAUTH_STORE_KEY: "replicas-key",
      HYPERAUTH_CALLBACK_PORT: String(await freePort()),
    }
    const [a, b] = await Promise.all([server(env), server(env)])
    if (a === undefined || b === undefined) throw new Error("no servers")
    const args = { provider: "hyperid", account: "both", scope: "openid" }
    const [first, second] = (await Promise.all([a.call("login", args), b.call("login", args)])).map(structured)
    expect(second?.login_id).toBe(first?.login_id)
    expect(second?.authorization_url).toBe(first?.authorization_url)
    const landed = emulator.hyperid.authorize(String(first?.authorization_url))
    const done = structured(await b.call("complete_login", { login_id: first?.login_id, redirect_url: landed }))
    expect(done).toMatchObject({ status: "authenticated", scope: "openid" })
  })
})
