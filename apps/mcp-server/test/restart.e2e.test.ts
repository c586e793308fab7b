/**
 * Pending logins that survive a restart and are shared by replicas: real
 * `hyperauth-mcp` processes over stdio, killed with SIGKILL as a crash
 * would, a file or a Redis store between them, the emulator over loopback.
 */
import { type Emulator, hyperidRealmPath, start } from "@hyperauth/emulator"
import { type RedisServer, redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  connect,
  emulatorEnv,
  errorCode,
  freePort,
  type Session,
  structured,
  tempStore,
  textOf,
} from "./support/harness.js"

let emulator: Emulator
const sessions: Array<Session> = []

const server = async (env: Record<string, string>) => {
  const session = await connect({ ...emulatorEnv(emulator), ...env })
  sessions.push(session)
  return session
}

const devicePolls = () => emulator.count({ origin: "hyper", path: "/oauth/token" })
const codeExchanges = () => emulator.count({ origin: "hyperid", path: `${hyperidRealmPath}/token` })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeAll(async () => {
  // The server polls no faster than once a second whatever the emulator asks.
  emulator = await start({ hyper: { interval: 0.2 } })
})

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
})

afterAll(async () => {
  await emulator?.close()
})

describe("a restart (one encrypted file store)", () => {
  it("a device login started before the crash is polled by the new server and completes there", async () => {
    const env = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "restart-key" }
    const a = await server(env)
    const pending = structured(await a.call("login", { provider: "hyper", account: "restarted" }))
    expect(pending.status).toBe("pending")
    await a.kill()

    const b = await server(env)
    emulator.hyper.approve(String(pending.user_code))
    const done = structured(await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 15 }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyper", account: "restarted" })
    expect(structured(await b.call("get_token", { provider: "hyper", account: "restarted" })).status).toBe(
      "authenticated",
    )
  })

  it("an authorization-code login started before the crash: the new server listens again and takes its callback", async () => {
    const port = await freePort()
    const env = {
      HYPERAUTH_STORE: await tempStore(),
      HYPERAUTH_STORE_KEY: "restart-key",
      HYPERAUTH_CALLBACK_PORT: String(port),
    }
    const a = await server(env)
    const pending = structured(await a.call("login", { provider: "hyperid", account: "redirected", scope: "openid" }))
    expect(pending).toMatchObject({ status: "pending", listening: true })
    expect(new URL(String(pending.redirect_uri)).port).toBe(String(port))
    await a.kill()

    const b = await server(env)
    const exchangesBefore = codeExchanges()
    const landed = emulator.hyperid.authorize(String(pending.authorization_url))
    const page = await fetch(landed)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain("signed in to hyperid")
    const done = structured(await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyperid", account: "redirected" })
    expect(codeExchanges() - exchangesBefore).toBe(1)
  })

  it("an unknown login_id says what may have happened and where this server keeps logins", async () => {
    const path = await tempStore()
    const b = await server({ HYPERAUTH_STORE: path, HYPERAUTH_STORE_KEY: "restart-key" })
    const unknown = await b.call("complete_login", { login_id: "login_from_elsewhere", wait_seconds: 0 })
    expect(errorCode(unknown)).toBe("unknown_login")
    for (const cause of ["expired", "replaced", "finished", "another token store", path]) {
      expect(textOf(unknown)).toContain(cause)
    }
    const inMemory = await server({})
    const lost = await inMemory.call("complete_login", { login_id: "login_before_restart", wait_seconds: 0 })
    expect(textOf(lost)).toContain("HYPERAUTH_STORE")
  })
})

describe("a stop while a refresh is at the provider (hyperid rotating refresh tokens strictly)", () => {
  it("the server stores the provider's answer before it exits, so the next server's refresh reuses nothing", async () => {
    const rotating = await start({ hyperid: { rotateRefreshTokens: true } })
    try {
      const env = { ...emulatorEnv(rotating), HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "restart-key" }
      const a = await server(env)
      const pending = structured(await a.call("login", { provider: "hyperid", account: "rotated" }))
      const redirect = rotating.hyperid.authorize(String(pending.authorization_url))
      const done = structured(await a.call("complete_login", { login_id: pending.login_id, redirect_url: redirect }))
      expect(done.status).toBe("authenticated")

      const tokenPath = `${hyperidRealmPath}/token`
      const refreshesBefore = rotating.tokens.refreshes.get("hyperid") ?? 0
      rotating.faults.inject({ origin: "hyperid", path: tokenPath, answerLatencyMs: 500, times: 1 })
      // The client asks for a refresh and goes away while the provider answers.
      void a.call("refresh_token", { provider: "hyperid", account: "rotated" }).catch(() => undefined)
      // Spent at the provider, its answer still on the way.
      while ((rotating.tokens.refreshes.get("hyperid") ?? 0) === refreshesBefore) await sleep(5)
      await a.close()

      const b = await server(env)
      const refreshed = await b.call("refresh_token", { provider: "hyperid", account: "rotated" })
      expect(structured(refreshed)).toMatchObject({ status: "authenticated" })
    } finally {
      await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
      await rotating.close()
    }
  })
})

describe("a stop while a login's code is at the provider", () => {
  it("the server saves the tokens the code brought before it exits, and the next server has the login", async () => {
    const env = {
      HYPERAUTH_STORE: await tempStore(),
      HYPERAUTH_STORE_KEY: "restart-key",
      HYPERAUTH_CALLBACK_PORT: String(await freePort()),
    }
    const a = await server(env)
    const pending = structured(await a.call("login", { provider: "hyperid", account: "stopped", scope: "openid" }))
    expect(pending).toMatchObject({ status: "pending", listening: true })
    const exchangesBefore = codeExchanges()
    emulator.faults.inject({ origin: "hyperid", path: `${hyperidRealmPath}/token`, answerLatencyMs: 500, times: 1 })
    // The browser lands on the listener; the host stops the server while the provider answers.
    void fetch(emulator.hyperid.authorize(String(pending.authorization_url))).catch(() => undefined)
    while (codeExchanges() === exchangesBefore) await sleep(5)
    await a.close()

    const b = await server(env)
    expect(structured(await b.call("get_token", { provider: "hyperid", account: "stopped" })).status).toBe(
      "authenticated",
    )
    const done = await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 })
    expect(structured(done)).toMatchObject({ status: "authenticated", account: "stopped" })
    expect(codeExchanges() - exchangesBefore).toBe(1)
  })
})

describe.skipIf(!redisAvailable())("replicas on one Redis", () => {
  let redis: RedisServer
  let db = 0
  const redisEnv = () => ({
    HYPERAUTH_STORE: `redis://default:not-a-real-password@127.0.0.1:${redis.port}/${++db}`,
    HYPERAUTH_STORE_KEY: "replicas-key",
  })
  beforeAll(async () => {
    redis = await startRedis({ password: "not-a-real-password" })
  }, 20_000)
  afterAll(async () => {
    await redis?.stop()
  })

  it("a login started on replica A is finished on replica B, and A answers with the same outcome", async () => {
    const env = redisEnv()
    const [a, b] = await Promise.all([server(env), server(env)])
    if (a === undefined || b === undefined) throw new Error("no replicas")
    const pending = structured(await a.call("login", { provider: "hyperid", account: "shared", scope: "openid" }))
    const exchangesBefore = codeExchanges()
    const landed = emulator.hyperid.authorize(String(pending.authorization_url))
    // The browser lands on A's listener while the user also pastes the URL into B: one exchange, one outcome.
    const [page, done] = await Promise.all([
      fetch(landed).then((r) => r.text()),
      b.call("complete_login", { login_id: pending.login_id, redirect_url: landed, wait_seconds: 5 }),
    ])
    expect(page).toContain("signed in to hyperid")
    expect(structured(done)).toMatchObject({ status: "authenticated", provider: "hyperid", account: "shared" })
    expect(structured(await a.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))).toMatchObject({
      status: "authenticated",
    })
    expect(structured(await b.call("get_token", { provider: "hyperid", account: "shared" })).status).toBe(
      "authenticated",
    )
    expect(codeExchanges() - exchangesBefore).toBe(1)
  })

  it("a device login is polled by one replica at a time; the other takes over when the poller dies", async () => {
    const env = redisEnv()
    const [a, b] = await Promise.all([server(env), server(env)])
    if (a === undefined || b === undefined) throw new Error("no replicas")
    const pollsBefore = devicePolls()
    const pending = structured(await a.call("login", { provider: "hyper", account: "polled" }))
    const started = Date.now()
    expect(pending.interval).toBe(1)
    // B learns of the login and waits for it: it must not poll beside A.
    expect(structured(await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 0 })).status).toBe(
      "pending",
    )
    await sleep(4_000)
    const whileBoth = devicePolls() - pollsBefore
    const seconds = (Date.now() - started) / 1000
    expect(whileBoth).toBeGreaterThanOrEqual(2)
    // At most one poll per interval overall; two pollers would make about twice as many.
    expect(whileBoth).toBeLessThanOrEqual(Math.floor(seconds) + 1)

    await a.kill()
    const afterKill = devicePolls()
    await sleep(3_000)
    expect(devicePolls()).toBeGreaterThan(afterKill)
    emulator.hyper.approve(String(pending.user_code))
    const done = structured(await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 15 }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyper", account: "polled" })
  })
})
