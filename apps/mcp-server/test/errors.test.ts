/**
 * Error codes end to end, reveal, not-configured providers and URL-mode
 * elicitation, each against a server started for the case.
 */
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Emulator, sampleControl, start } from "@hyperauth/emulator"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured, textOf } from "./support/harness.js"

let emulator: Emulator
const sessions: Array<Session> = []

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.1 } })
})
afterEach(async () => {
  emulator.faults.clear()
  for (const session of sessions.splice(0)) await session.close()
})
afterAll(async () => {
  await emulator.close()
})

const open = async (
  extra: Record<string, string> = {},
  ...rest: Parameters<typeof connect> extends [unknown, ...infer R] ? R : never
) => {
  const session = await connect(
    {
      ...emulatorEnv(emulator),
      HYPERAUTH_STORE: "memory",
      HYPERAUTH_CALLBACK_PORT: String(await freePort()),
      ...extra,
    },
    ...rest,
  )
  sessions.push(session)
  return session
}

describe("configuration", () => {
  it("with nothing configured, list_providers says what each provider needs and login is not_configured", async () => {
    const session = await connect({ HYPERAUTH_STORE: "memory" })
    sessions.push(session)
    const listed = structured(await session.call("list_providers"))
    const providers = listed.providers as Array<{ id: string; configured: boolean; missing: Array<string> }>
    expect(providers.map((p) => [p.id, p.configured])).toEqual([
      ["hyper", false],
      ["hyperid", false],
      ["hyperline", false],
      ["hyperproof", false],
    ])
    expect(providers.find((p) => p.id === "hyperproof")?.missing).toEqual([
      "HYPERPROOF_CLIENT_ID",
      "HYPERPROOF_CLIENT_SECRET",
    ])
    const login = await session.call("login", { provider: "hyper" })
    expect(errorCode(login)).toBe("not_configured")
    expect(textOf(login)).toContain("HYPER_CLIENT_ID")
    // Where settings go for a server an MCP client starts, and that they take a restart.
    expect(textOf(login)).toContain("MCP client's configuration")
    expect(textOf(login)).toContain("restart the server")
  })

  it("introspect_token where the provider has no introspection says what tells the same", async () => {
    const session = await open()
    await session.call("login", { provider: "hyperproof" })
    const answer = await session.call("introspect_token", { provider: "hyperproof" })
    expect(errorCode(answer)).toBe("not_supported")
    expect(textOf(answer)).toContain("get_token tells when its token expires")
  })

  it("connection_error names the settings that say where the provider is", async () => {
    const session = await open({ HYPERPROOF_AUTH_URL: `http://127.0.0.1:${await freePort()}` })
    const login = await session.call("login", { provider: "hyperproof" })
    expect(errorCode(login)).toBe("connection_error")
    expect(textOf(login)).toContain("HYPERPROOF_AUTH_URL, HYPERPROOF_API_URL")
  })

  it("a malformed setting is reported with what is wrong", async () => {
    const session = await open({ HYPERPROOF_API_URL: "ftp://nope" })
    const providers = structured(await session.call("list_providers")).providers as Array<{
      id: string
      configured: boolean
      problem?: string
    }>
    const hyperproof = providers.find((p) => p.id === "hyperproof")
    expect(hyperproof?.configured).toBe(false)
    expect(hyperproof?.problem).toContain("HYPERPROOF_API_URL")
    expect(errorCode(await session.call("login", { provider: "hyperproof" }))).toBe("not_configured")
  })

  it("a JSON config file adds settings; the environment wins over it", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "hyperauth-config-")), "config.json")
    await writeFile(
      file,
      JSON.stringify({
        HYPERPROOF_CLIENT_ID: "from-file",
        HYPERPROOF_CLIENT_SECRET: "from-file",
        HYPER_CLIENT_ID: "cli",
      }),
    )
    const { HYPERPROOF_CLIENT_ID, HYPERPROOF_CLIENT_SECRET, HYPER_CLIENT_ID, ...rest } = emulatorEnv(emulator)
    const session = await connect({
      ...rest,
      HYPERPROOF_CLIENT_ID: HYPERPROOF_CLIENT_ID ?? "",
      HYPERAUTH_STORE: "memory",
      HYPERAUTH_CONFIG: file,
    })
    sessions.push(session)
    const providers = structured(await session.call("list_providers")).providers as Array<{
      id: string
      configured: boolean
    }>
    // hyper and hyperproof are configured only through the file.
    expect(providers.filter((p) => p.configured).map((p) => p.id)).toEqual([
      "hyper",
      "hyperid",
      "hyperline",
      "hyperproof",
    ])
    // The id comes from the environment, the secret from the file: the emulator refuses that secret.
    expect(errorCode(await session.call("login", { provider: "hyperproof" }))).toBe("invalid_client")
    expect(HYPERPROOF_CLIENT_SECRET).toBeDefined()
    expect(HYPER_CLIENT_ID).toBeDefined()
  })

  it("a wrong client secret is invalid_client, and the secret is not echoed", async () => {
    const session = await open({ HYPERPROOF_CLIENT_SECRET: "wrong-secret-value" })
    const login = await session.call("login", { provider: "hyperproof" })
    expect(errorCode(login)).toBe("invalid_client")
    expect(JSON.stringify(login)).not.toContain("wrong-secret-value")
  })
})

describe("provider answers become stable codes", () => {
  it("timeout, invalid_response, invalid_request, invalid_scope", async () => {
    const session = await open({ HYPERAUTH_HTTP_TIMEOUT: "1" })
    const token = { origin: "hyperproofAccounts" as const, path: "/oauth/token", times: 1 }
    emulator.faults.inject({ ...token, latencyMs: 1500 })
    expect(errorCode(await session.call("login", { provider: "hyperproof" }))).toBe("timeout")
    emulator.faults.inject({ ...token, malformed: true })
    expect(errorCode(await session.call("login", { provider: "hyperproof" }))).toBe("invalid_response")
    emulator.faults.inject({ ...token, status: 400, body: { error: "invalid_request" } })
    expect(errorCode(await session.call("login", { provider: "hyperproof" }))).toBe("invalid_request")
    emulator.faults.inject({ ...token, status: 400, body: { error: "invalid_scope" } })
    expect(errorCode(await session.call("login", { provider: "hyperproof", scope: "everything" }))).toBe(
      "invalid_scope",
    )
  })

  it("invalid_token when the API refuses a token that cannot be refreshed; refresh_token is not_supported for hyper", async () => {
    const session = await open()
    const pending = structured(await session.call("login", { provider: "hyper" }))
    emulator.hyper.approve(String(pending.user_code))
    structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 10 }))
    expect(structured(await session.call("get_token", { provider: "hyper" })).status).toBe("authenticated")
    expect(errorCode(await session.call("refresh_token", { provider: "hyper" }))).toBe("not_supported")
    emulator.tokens.revokeAll("hyper")
    const refused = await session.call("call_api", { provider: "hyper", method: "GET", path: "/v1/me" })
    expect(errorCode(refused)).toBe("invalid_token")
    // No refresh can renew it: the one next step is a new login.
    expect(textOf(refused)).toContain("Log in again.")
    expect(textOf(refused)).not.toContain("Refresh the token")
  })

  it("invalid_grant when an authorization code is redeemed twice", async () => {
    const session = await open()
    const first = structured(await session.call("login", { provider: "hyperid", scope: "openid" }))
    const landed = new URL(emulator.hyperid.authorize(String(first.authorization_url)))
    structured(await session.call("complete_login", { login_id: first.login_id, redirect_url: landed.toString() }))
    expect(structured(await session.call("get_token", { provider: "hyperid" })).has_refresh_token).toBe(true)

    const second = structured(await session.call("login", { provider: "hyperid", scope: "openid" }))
    const replay = new URL(landed)
    replay.searchParams.set("state", new URL(String(second.authorization_url)).searchParams.get("state") ?? "")
    expect(
      errorCode(await session.call("complete_login", { login_id: second.login_id, redirect_url: replay.toString() })),
    ).toBe("invalid_grant")
  })
})

describe("reveal", () => {
  it("with HYPERAUTH_ALLOW_TOKEN_REVEAL=1, reveal returns a working access token; without reveal it is absent", async () => {
    const session = await open({ HYPERAUTH_ALLOW_TOKEN_REVEAL: "1" })
    structured(await session.call("login", { provider: "hyperproof" }))
    expect(structured(await session.call("get_token", { provider: "hyperproof" })).access_token).toBeUndefined()
    const revealed = structured(await session.call("get_token", { provider: "hyperproof", reveal: true }))
    const response = await fetch(`${emulator.origins.hyperproofApi}/v1/controls/${sampleControl.id}`, {
      headers: { authorization: `Bearer ${String(revealed.access_token)}` },
    })
    expect(response.status).toBe(200)
  })
})

describe("URL-mode elicitation", () => {
  it("offers the authorization URL to clients that support it", async () => {
    const offered: Array<{ mode?: string; url?: string }> = []
    const session = await open(
      {},
      (client) =>
        client.setRequestHandler(ElicitRequestSchema, (request) => {
          offered.push(request.params as { mode?: string; url?: string })
          return { action: "accept" }
        }),
      { elicitation: { url: {} } },
    )
    const pending = structured(await session.call("login", { provider: "hyperline" }))
    await expect.poll(() => offered.length).toBe(1)
    expect(offered[0]).toMatchObject({ mode: "url", url: pending.authorization_url })
    const landed = emulator.hyperline.authorize(String(pending.authorization_url))
    structured(await session.call("complete_login", { login_id: pending.login_id, redirect_url: landed }))
    expect(structured(await session.call("get_token", { provider: "hyperline" })).status).toBe("authenticated")
    expect(errorCode(await session.call("refresh_token", { provider: "hyperline", account: "other" }))).toBe(
      "not_logged_in",
    )
    expect(structured(await session.call("refresh_token", { provider: "hyperline" })).status).toBe("authenticated")
  })
})
