/**
 * A login another process takes over (after a restart, or on another
 * replica) keeps the scope it asked for. The seeds' token answers of hyper
 * and hyperid name no scope, which grants the one asked for (RFC 6749
 * §5.1): the emulator answers like them here by a fault that replaces its
 * token answer with one without `scope`. Real `hyperauth-mcp` processes
 * over stdio, one encrypted file store between them.
 */
import { type Emulator, hyperidRealmPath, start } from "@hyperauth/emulator"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured, tempStore } from "./support/harness.js"

let emulator: Emulator
const sessions: Array<Session> = []

const server = async (env: Record<string, string>) => {
  const session = await connect({ ...emulatorEnv(emulator), ...env })
  sessions.push(session)
  return session
}

/** A token answer as the seeds give it: no `scope` member. */
const withoutScope = (origin: "hyper" | "hyperid", path: string) =>
  emulator.faults.inject({
    origin,
    path,
    status: 200,
    headers: { "content-type": "application/json" },
    body: {
      access_token: `at-${origin}-without-scope`,
      token_type: "Bearer",
      expires_in: 3600,
      ...(origin === "hyperid" ? { refresh_token: "rt-hyperid-without-scope", refresh_expires_in: 7200 } : {}),
    },
    times: 1,
  })

const scopeShown = async (session: Session, provider: string, account: string) => {
  const token = structured(await session.call("get_token", { provider, account }))
  const listed = structured(await session.call("list_providers"))
  const entry = (listed.providers as Array<{ id: string; accounts: Array<Record<string, unknown>> }>)
    .find((p) => p.id === provider)
    ?.accounts.find((a) => a.account === account)
  return { token: token.scope, listed: entry?.scope }
}

beforeAll(async () => {
  // The server polls no faster than once a second whatever the emulator asks.
  emulator = await start({ hyper: { interval: 0.2 } })
})

afterEach(async () => {
  emulator.faults.clear()
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)))
})

afterAll(async () => {
  await emulator?.close()
})

describe("a token answer without scope grants the scope the login asked for", () => {
  it("a hyper device login finished by the server that started it shows that scope", async () => {
    const env = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "scope-key" }
    const a = await server(env)
    const pending = structured(await a.call("login", { provider: "hyper", account: "same", scope: "read" }))
    expect(pending.status).toBe("pending")
    withoutScope("hyper", "/oauth/token")
    const done = structured(await a.call("complete_login", { login_id: pending.login_id, wait_seconds: 15 }))
    expect(done).toMatchObject({ status: "authenticated", scope: "read" })
    expect(await scopeShown(a, "hyper", "same")).toEqual({ token: "read", listed: "read" })
  })

  it("a hyper device login taken over after a restart shows that scope too", async () => {
    const env = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "scope-key" }
    const a = await server(env)
    const pending = structured(await a.call("login", { provider: "hyper", account: "restarted", scope: "read" }))
    expect(pending.status).toBe("pending")
    await a.kill()

    withoutScope("hyper", "/oauth/token")
    const b = await server(env)
    const done = structured(await b.call("complete_login", { login_id: pending.login_id, wait_seconds: 15 }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyper", account: "restarted" })
    expect(done.scope).toBe("read")
    expect(await scopeShown(b, "hyper", "restarted")).toEqual({ token: "read", listed: "read" })
  })

  it("a hyperid login finished on another replica (its redirect pasted there) shows that scope too", async () => {
    const env = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "scope-key" }
    const a = await server(env)
    const pending = structured(
      await a.call("login", { provider: "hyperid", account: "replica", scope: "openid profile" }),
    )
    expect(pending.status).toBe("pending")
    const b = await server(env)
    const landed = emulator.hyperid.authorize(String(pending.authorization_url))
    withoutScope("hyperid", `${hyperidRealmPath}/token`)
    const done = structured(await b.call("complete_login", { login_id: pending.login_id, redirect_url: landed }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyperid", account: "replica" })
    expect(done.scope).toBe("openid profile")
    expect(await scopeShown(b, "hyperid", "replica")).toEqual({ token: "openid profile", listed: "openid profile" })
    expect(await scopeShown(a, "hyperid", "replica")).toEqual({ token: "openid profile", listed: "openid profile" })
  })
})
