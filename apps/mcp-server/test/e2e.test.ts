/**
 * The MCP server end to end: the built binary over real stdio, driven by
 * the SDK's Client, against the emulator over loopback.
 */

import { type Emulator, sampleControl, start } from "@hyperauth/emulator"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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
let session: Session
let storePath: string
let callbackPort: number
const results: Array<CallToolResult> = []

const env = () => ({
  ...emulatorEnv(emulator),
  HYPERAUTH_STORE: storePath,
  HYPERAUTH_STORE_KEY: "e2e store key",
  HYPERAUTH_CALLBACK_PORT: String(callbackPort),
})

/** Calls a tool and keeps the result for the secret scan at the end. */
const call = async (name: string, args: Record<string, unknown> = {}) => {
  const result = await session.call(name, args)
  results.push(result)
  return result
}

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
  storePath = await tempStore()
  callbackPort = await freePort()
  session = await connect(env())
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

describe("tools/list", () => {
  it("lists the eight tools with input and output schemas and annotations", async () => {
    const { tools } = await session.client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        "call_api",
        "complete_login",
        "get_token",
        "introspect_token",
        "list_providers",
        "login",
        "logout",
        "refresh_token",
      ].sort(),
    )
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object")
      expect(tool.outputSchema?.type).toBe("object")
      expect(typeof tool.annotations?.readOnlyHint).toBe("boolean")
      expect(typeof tool.annotations?.destructiveHint).toBe("boolean")
      expect(typeof tool.annotations?.openWorldHint).toBe("boolean")
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
    expect(byName.list_providers?.annotations?.readOnlyHint).toBe(true)
    expect(byName.logout?.annotations?.destructiveHint).toBe(true)
  })
})

describe("hyperproof (client credentials)", () => {
  it("logs in at once, reads a control through call_api, refreshes and logs out", async () => {
    const login = structured(await call("login", { provider: "hyperproof" }))
    expect(login).toMatchObject({
      status: "authenticated",
      provider: "hyperproof",
      account: "default",
      token_type: "Bearer",
    })
    expect(login.expires_in).toBeGreaterThan(3500)
    expect(login.access_token).toBeUndefined()

    const control = structured(
      await call("call_api", { provider: "hyperproof", method: "GET", path: `/v1/controls/${sampleControl.id}` }),
    )
    expect(control.status).toBe(200)
    expect(control.truncated).toBe(false)
    expect(control.body).toMatchObject({ id: sampleControl.id, owner: { givenName: "Ada" } })

    const before = emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
    const refreshed = structured(await call("refresh_token", { provider: "hyperproof" }))
    expect(refreshed.status).toBe("authenticated")
    expect(emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })).toBe(before + 1)

    expect(errorCode(await call("introspect_token", { provider: "hyperproof" }))).toBe("not_supported")
    expect(structured(await call("logout", { provider: "hyperproof" }))).toEqual({ revoked: false, removed: true })
    expect(errorCode(await call("get_token", { provider: "hyperproof" }))).toBe("not_logged_in")
    // No login makes it supported: logging in first would not help.
    expect(errorCode(await call("introspect_token", { provider: "hyperproof" }))).toBe("not_supported")
    // call_api keeps its client per account, not the token: the logout shows at once.
    expect(
      errorCode(
        await call("call_api", { provider: "hyperproof", method: "GET", path: `/v1/controls/${sampleControl.id}` }),
      ),
    ).toBe("not_logged_in")
  })

  it("call_api retries once after a refresh when the API answers 401", async () => {
    structured(await call("login", { provider: "hyperproof", account: "retry" }))
    emulator.tokens.revokeAll("hyperproof")
    const result = structured(
      await call("call_api", {
        provider: "hyperproof",
        account: "retry",
        method: "GET",
        path: `/v1/controls/${sampleControl.id}`,
      }),
    )
    expect(result.status).toBe(200)
  })

  it("call_api answers a 401 to the renewed token too as a status, with one renewal: no error, no advice to log in", async () => {
    structured(await call("login", { provider: "hyperproof", account: "refused" }))
    const tokens = () => emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
    const before = tokens()
    emulator.faults.inject({ origin: "hyperproofApi", status: 401, body: { error: "access denied" }, times: 2 })
    const refused = await call("call_api", {
      provider: "hyperproof",
      account: "refused",
      method: "GET",
      path: `/v1/controls/${sampleControl.id}`,
    })
    expect(structured(refused)).toMatchObject({ status: 401, body: { error: "access denied" } })
    expect(tokens() - before).toBe(1)
  })
})

describe("hyper (device code)", () => {
  it("returns the user code at once, polls in the background, and completes with progress", async () => {
    const pending = structured(await call("login", { provider: "hyper", scope: "read" }))
    // The emulator asks for 0.2 s; hyperauth polls no faster than once a second.
    expect(pending).toMatchObject({ status: "pending", interval: 1 })
    expect(pending.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/)
    expect(pending.verification_uri).toBe(`${emulator.origins.hyper}/device`)

    const still = structured(await call("complete_login", { login_id: pending.login_id, wait_seconds: 0 }))
    expect(still.status).toBe("pending")
    // What to do next, as login says it: an agent left with only "pending" may give up or loop at once.
    expect(still.next_step).toMatch(/complete_login/)

    const progress: Array<number> = []
    setTimeout(() => emulator.hyper.approve(String(pending.user_code)), 1500)
    const done = (await session.client.callTool(
      { name: "complete_login", arguments: { login_id: pending.login_id, wait_seconds: 10 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    )) as CallToolResult
    results.push(done)
    expect(structured(done)).toMatchObject({ status: "authenticated", provider: "hyper", scope: "read" })
    expect(progress.length).toBeGreaterThan(0)

    const info = structured(await call("introspect_token", { provider: "hyper" }))
    expect(info).toMatchObject({ active: true, scope: "read" })
    const me = structured(await call("call_api", { provider: "hyper", method: "GET", path: "/v1/me" }))
    expect(me).toMatchObject({ status: 200, body: { sub: "user_ada" } })
    expect(structured(await call("get_token", { provider: "hyper" }))).toMatchObject({ status: "authenticated" })
  })

  it("a refused login is access_denied; an unknown login id unknown_login", async () => {
    const pending = structured(await call("login", { provider: "hyper", account: "refused" }))
    emulator.hyper.deny(String(pending.user_code))
    expect(errorCode(await call("complete_login", { login_id: pending.login_id, wait_seconds: 10 }))).toBe(
      "access_denied",
    )
    expect(errorCode(await call("complete_login", { login_id: "login_nope" }))).toBe("unknown_login")
  })

  it("asking for the same login again returns the one under way; another request replaces it", async () => {
    const deviceRequests = () => emulator.count({ origin: "hyper", path: "/oauth/device" })
    const first = structured(await call("login", { provider: "hyper", account: "twice" }))
    const before = deviceRequests()
    const again = structured(await call("login", { provider: "hyper", account: "twice" }))
    expect(again).toMatchObject({ login_id: first.login_id, user_code: first.user_code })
    expect(deviceRequests()).toBe(before)

    const other = structured(await call("login", { provider: "hyper", account: "twice", scope: "write" }))
    expect(other.login_id).not.toBe(first.login_id)
    const replaced = await call("complete_login", { login_id: first.login_id, wait_seconds: 0 })
    expect(errorCode(replaced)).toBe("unknown_login")
    expect(textOf(replaced)).toContain("replaced by a newer login")
    emulator.hyper.approve(String(other.user_code))
    expect(structured(await call("complete_login", { login_id: other.login_id, wait_seconds: 10 }))).toMatchObject({
      status: "authenticated",
      scope: "write",
    })
  })

  it("a login that runs out of time is expired_token", async () => {
    const pending = structured(await call("login", { provider: "hyper", account: "late" }))
    emulator.clock.advance(601)
    expect(errorCode(await call("complete_login", { login_id: pending.login_id, wait_seconds: 10 }))).toBe(
      "expired_token",
    )
  })

  it("reveal is forbidden without HYPERAUTH_ALLOW_TOKEN_REVEAL", async () => {
    const result = await call("get_token", { provider: "hyper", reveal: true })
    expect(errorCode(result)).toBe("forbidden")
    expect(textOf(result)).toContain("HYPERAUTH_ALLOW_TOKEN_REVEAL=1")
  })

  it("logout removes a hyper login (hyper has no revocation endpoint)", async () => {
    expect(structured(await call("logout", { provider: "hyper" }))).toEqual({ revoked: false, removed: true })
    expect(structured(await call("logout", { provider: "hyper" }))).toEqual({ revoked: false, removed: false })
  })
})

describe("hyperid (authorization code, loopback callback)", () => {
  it("login options cannot replace the login's redirect URI or scope: invalid_input, no login started", async () => {
    for (const options of [
      { redirectUri: "https://evil.example/cb", scope: "admin" },
      { redirect_uri: "https://evil.example/cb" },
      { state: "fixed", ui_locales: "en" },
    ]) {
      const result = await call("login", { provider: "hyperid", account: "override", scope: "openid", options })
      expect(errorCode(result), JSON.stringify(options)).toBe("invalid_input")
      expect(textOf(result)).not.toContain("evil.example")
    }
  })

  it("finishes through the loopback listener, then refreshes, introspects, calls and logs out", async () => {
    const pending = structured(
      await call("login", {
        provider: "hyperid",
        scope: "openid email telegram-check",
        options: { verification_level: 2, ui_locales: "en" },
      }),
    )
    expect(pending).toMatchObject({
      status: "pending",
      redirect_uri: `http://127.0.0.1:${callbackPort}/callback/hyperid`,
      listening: true,
    })
    const authorizationUrl = new URL(String(pending.authorization_url))
    expect(authorizationUrl.searchParams.get("verification_level")).toBe("2")

    // The user approves in the browser, which follows the redirect to our listener.
    const landed = emulator.hyperid.authorize(authorizationUrl.toString())
    const page = await fetch(landed)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain("signed in to hyperid")

    const done = structured(await call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))
    expect(done).toMatchObject({ status: "authenticated", has_refresh_token: true })
    expect(typeof done.refresh_expires_at).toBe("string")

    expect(structured(await call("refresh_token", { provider: "hyperid" })).status).toBe("authenticated")
    expect(structured(await call("introspect_token", { provider: "hyperid" }))).toMatchObject({
      active: true,
      email: "ada@example.com",
    })
    expect(structured(await call("call_api", { provider: "hyperid", method: "GET", path: "/userinfo" }))).toMatchObject(
      {
        status: 200,
        body: { sub: "user_ada" },
      },
    )
    expect(structured(await call("logout", { provider: "hyperid" }))).toEqual({ revoked: true, removed: true })
    // The listener stops once no login waits for it.
    await expect(fetch(`http://127.0.0.1:${callbackPort}/callback/hyperid`)).rejects.toThrow()
  })

  it("refuses bad KYC options with invalid_input", async () => {
    const result = await call("login", { provider: "hyperid", scope: "openid", options: { verification_level: 2 } })
    expect(errorCode(result)).toBe("invalid_input")
    expect(textOf(result)).toContain("twitter-check")
  })
})

describe("hyperline (authorization code, pasted redirect URL)", () => {
  it("finishes with redirect_url, checks state, calls per company and revokes on logout", async () => {
    const pending = structured(await call("login", { provider: "hyperline" }))
    const landed = new URL(emulator.hyperline.authorize(String(pending.authorization_url)))
    const forged = new URL(landed)
    forged.searchParams.set("state", "forged")
    expect(
      errorCode(await call("complete_login", { login_id: pending.login_id, redirect_url: forged.toString() })),
    ).toBe("state_mismatch")
    const done = structured(
      await call("complete_login", { login_id: pending.login_id, redirect_url: landed.toString() }),
    )
    expect(done.status).toBe("authenticated")

    const oldest = structured(await call("call_api", { provider: "hyperline", method: "GET", path: "/v1/customers" }))
    expect(oldest.body).toMatchObject({ company_id: "cmp_acme" })
    const chosen = structured(
      await call("call_api", { provider: "hyperline", method: "GET", path: "/v1/customers", company_id: "cmp_globex" }),
    )
    expect(chosen.body).toMatchObject({ company_id: "cmp_globex" })
    expect(errorCode(await call("introspect_token", { provider: "hyperline" }))).toBe("not_supported")
    expect(structured(await call("logout", { provider: "hyperline" }))).toEqual({ revoked: true, removed: true })
  })
})

describe("guards and errors", () => {
  it("refuses malformed calls and escaping paths or credential headers with invalid_input, sending nothing", async () => {
    structured(await call("login", { provider: "hyperproof", account: "guards" }))
    const sent = emulator.count({})
    const bad: Array<Record<string, unknown>> = [
      { provider: "nope", method: "GET", path: "/v1/x" },
      { provider: "hyperproof", method: "GET", path: "v1/x" },
      { provider: "hyperproof", method: "GET", path: "//evil.example/x" },
      { provider: "hyperproof", method: "GET", path: "/v1/../../x" },
      { provider: "hyperproof", method: "GET", path: "/v1/%2e%2e/x" },
      { provider: "hyperproof", method: "GET", path: "/v1/%2E/x" },
      { provider: "hyperproof", method: "GET", path: "/v1\\..\\x" },
      // Dot segments a server may still see: decoded twice, or with a ;parameter (Tomcat, Spring).
      { provider: "hyperproof", method: "GET", path: "/v1/%252e%252e/x" },
      { provider: "hyperproof", method: "GET", path: "/v1/%25252E/x" },
      { provider: "hyperproof", method: "GET", path: "/v1/..;/x" },
      { provider: "hyperproof", method: "GET", path: "/v1/.;jsessionid=1/x" },
      { provider: "hyperproof", method: "GET", path: "/https://evil.example" },
      { provider: "hyperproof", method: "GET", path: "/v1/x", headers: { Authorization: "Bearer mine" } },
      { provider: "hyperproof", method: "GET", path: "/v1/x", headers: { cookie: "a=b" } },
      { provider: "hyperproof", method: "GET", path: "/v1/x", headers: { HOST: "evil.example" } },
      { provider: "hyperproof", method: "TRACE", path: "/v1/x" },
    ]
    for (const args of bad) {
      const result = await call("call_api", { account: "guards", ...args })
      expect(errorCode(result), JSON.stringify(args)).toBe("invalid_input")
    }
    // A misspelt argument is refused, naming it: ignored, the call would act on the default account.
    const typo = await call("logout", { provider: "hyperproof", acount: "guards" })
    expect(errorCode(typo)).toBe("invalid_input")
    expect(JSON.stringify(typo)).toContain("acount")
    expect(structured(await call("get_token", { provider: "hyperproof", account: "guards" })).status).toBeDefined()
    // A header name too long for any server, refused at once (not sent, dropped, retried) and not quoted whole.
    for (const name of ["x".repeat(100_000), "\n".repeat(100_000)]) {
      const long = await call("call_api", {
        account: "guards",
        provider: "hyperproof",
        method: "GET",
        path: "/v1/x",
        headers: { [name]: "1" },
      })
      expect(errorCode(long)).toBe("invalid_input")
      expect(JSON.stringify(long).length).toBeLessThan(2_000)
    }
    expect(errorCode(await call("complete_login", { login_id: "x", wait_seconds: 500 }))).toBe("invalid_input")
    expect(errorCode(await call("login", { provider: "hyperproof", account: "" }))).toBe("invalid_input")
    expect(errorCode(await call("login", { provider: "hyperproof", options: { verification_level: 3 } }))).toBe(
      "invalid_input",
    )
    // hyperline's authorization asks for no scope (its seed has none): one given would be dropped unsaid.
    const scoped = await call("login", { provider: "hyperline", account: "scoped", scope: "admin" })
    expect(errorCode(scoped)).toBe("invalid_input")
    expect(JSON.stringify(scoped)).toContain("leave scope out")
    expect(emulator.count({})).toBe(sent)
  })

  it("not_logged_in for an account without a login", async () => {
    expect(errorCode(await call("get_token", { provider: "hyperid", account: "nobody" }))).toBe("not_logged_in")
    expect(
      errorCode(await call("call_api", { provider: "hyperid", account: "nobody", method: "GET", path: "/userinfo" })),
    ).toBe("not_logged_in")
  })

  it("provider errors keep their codes: connection_error, http_error and invalid_response", async () => {
    emulator.faults.inject({ origin: "hyperproofAccounts", path: "/oauth/token", drop: true })
    expect(errorCode(await call("login", { provider: "hyperproof", account: "down" }))).toBe("connection_error")
    emulator.faults.clear()
    emulator.faults.inject({
      origin: "hyperproofAccounts",
      path: "/oauth/token",
      status: 418,
      body: { message: "I'm a teapot" },
      times: 1,
    })
    expect(errorCode(await call("login", { provider: "hyperproof", account: "teapot" }))).toBe("http_error")
    emulator.faults.inject({
      origin: "hyperproofAccounts",
      path: "/oauth/token",
      status: 502,
      headers: { "content-type": "text/html" },
      body: "<html><h1>502 Bad Gateway</h1></html>",
      times: 4,
    })
    expect(errorCode(await call("login", { provider: "hyperproof", account: "proxy" }))).toBe("invalid_response")
  })

  it("returns redirects instead of following them off the API base", async () => {
    structured(await call("login", { provider: "hyperproof", account: "redirect" }))
    emulator.faults.inject({
      origin: "hyperproofApi",
      path: "/v1/moved",
      status: 302,
      headers: { location: "http://127.0.0.1:1/elsewhere" },
      times: 1,
    })
    const result = structured(
      await call("call_api", { provider: "hyperproof", account: "redirect", method: "GET", path: "/v1/moved" }),
    )
    expect(result.status).toBe(302)
    expect((result.headers as Record<string, string>).location).toBe("http://127.0.0.1:1/elsewhere")
  })

  it("caps bodies at 1 MiB and sets truncated", async () => {
    structured(await call("login", { provider: "hyperproof", account: "big" }))
    emulator.faults.inject({
      origin: "hyperproofApi",
      path: "/v1/big",
      status: 200,
      body: "x".repeat(1_200_000),
      times: 1,
    })
    const result = structured(
      await call("call_api", { provider: "hyperproof", account: "big", method: "GET", path: "/v1/big" }),
    )
    expect(result.truncated).toBe(true)
    expect(String(result.body).length).toBe(1024 * 1024)
  })

  it("hands back JSON nested too deep to handle safely as text, not a crash", async () => {
    structured(await call("login", { provider: "hyperproof", account: "deep" }))
    const deep = `{"data":${"[".repeat(20_000)}${"]".repeat(20_000)}}`
    emulator.faults.inject({ origin: "hyperproofApi", path: "/v1/deep", status: 200, body: deep, times: 1 })
    const result = structured(
      await call("call_api", { provider: "hyperproof", account: "deep", method: "GET", path: "/v1/deep" }),
    )
    expect(result.status).toBe(200)
    expect(result.body).toBe(deep)
    expect(result.truncated).toBe(false)
  })
})

describe("persistence and secrecy", () => {
  it("keeps logins across a restart", async () => {
    structured(await call("login", { provider: "hyperproof", account: "persist" }))
    await session.close()
    session = await connect(env())
    const listed = structured(await call("list_providers"))
    const hyperproof = (listed.providers as Array<{ id: string; accounts: Array<{ account: string }> }>).find(
      (p) => p.id === "hyperproof",
    )
    expect(hyperproof?.accounts.map((a) => a.account)).toContain("persist")
    expect(structured(await call("get_token", { provider: "hyperproof", account: "persist" })).status).toBe(
      "authenticated",
    )
  })

  it("no client secret or token appears in any tool result or stderr line", () => {
    const everything = [...results.map((r) => JSON.stringify(r)), session.stderr()].join("\n")
    for (const secret of Object.entries(emulatorEnv(emulator))
      .filter(([name]) => name.endsWith("_SECRET"))
      .map(([, value]) => value)) {
      expect(everything).not.toContain(secret)
    }
    expect(everything).not.toMatch(/hyper(id|line|proof)?_(at|rt)_/)
    expect(everything).not.toContain("e2e store key")
  })
})
