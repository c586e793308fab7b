/**
 * What the RFCs ask of a server where the providers' pages are silent: an
 * independent client written from them must be answered as a real server
 * would answer it.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  defaultHyperClient,
  defaultHyperIdClient,
  defaultHyperlineCallback,
  defaultHyperlineClient,
  defaultHyperproofClient,
  type Emulator,
  hyperidRealmPath,
  start,
} from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

const hyperidCallback = "http://127.0.0.1:8976/callback/hyperid"
const hyperid = (suffix: string) => `${emulator.origins.hyperid}${hyperidRealmPath}${suffix}`
const hyperidAuth = (params: Record<string, string>) =>
  `${hyperid("/auth")}?${new URLSearchParams({
    response_type: "code",
    client_id: defaultHyperIdClient.clientId,
    redirect_uri: hyperidCallback,
    state: "s1",
    ...params,
  })}`
const hyperlineAuth = (params: Record<string, string>) =>
  `${emulator.origins.hyperline}/v1/oauth/authorize?${new URLSearchParams({
    response_type: "code",
    client_id: defaultHyperlineClient.clientId,
    redirect_uri: defaultHyperlineCallback,
    state: "s1",
    ...params,
  })}`

const form = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
    redirect: "manual",
  })
const postJson = (url: string, body: object) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

const hyperidSecret = `client_id=${defaultHyperIdClient.clientId}&client_secret=${defaultHyperIdClient.clientSecret}`
const hyperproofToken = () => `${emulator.origins.hyperproofAccounts}/oauth/token`
const hyperproofSecret = `client_id=${defaultHyperproofClient.clientId}&client_secret=${defaultHyperproofClient.clientSecret}`

const code = (landing: string) => new URL(landing).searchParams.get("code") ?? ""
const hyperlineTokens = () => `${emulator.origins.hyperline}/v1/oauth/tokens`
const hyperlineClient = {
  client_id: defaultHyperlineClient.clientId,
  client_secret: defaultHyperlineClient.clientSecret,
}

describe("methods (RFC 9110 §15.5.6)", () => {
  it("answers a known path asked with another method 405 with Allow, not as a refused token", async () => {
    for (const url of [hyperlineTokens(), `${emulator.origins.hyperline}/v1/oauth/revoke`, hyperproofToken()]) {
      const response = await fetch(url)
      expect(response.status, url).toBe(405)
      expect(response.headers.get("allow"), url).toBe("POST")
      expect(response.headers.get("www-authenticate"), url).toBeNull()
    }
    const put = await fetch(`${emulator.origins.hyper}/oauth/token`, { method: "PUT" })
    expect(put.status).toBe(405)
    expect((await fetch(hyperid("/token"))).headers.get("allow")).toBe("POST")
  })

  it("leaves an API resource's other methods to the API: a stale token is still 401, a valid one 404", async () => {
    const customers = `${emulator.origins.hyperline}/v1/customers`
    const stale = await fetch(customers, { method: "POST", headers: { authorization: "Bearer hyperline_at_stale" } })
    expect(stale.status).toBe(401)
    const landing = emulator.hyperline.authorize(hyperlineAuth({}))
    const issued = (await (
      await postJson(hyperlineTokens(), {
        ...hyperlineClient,
        grant_type: "authorization_code",
        code: code(landing),
        redirect_uri: defaultHyperlineCallback,
      })
    ).json()) as { access_token: string }
    const valid = await fetch(customers, {
      method: "POST",
      headers: { authorization: `Bearer ${issued.access_token}` },
    })
    expect(valid.status).toBe(404)
  })

  it("answers HEAD where GET is answered", async () => {
    const head = await fetch(hyperidAuth({}), { method: "HEAD" })
    expect(head.status).toBe(200)
  })
})

describe("parameters (RFC 6749 §3.1, §3.2)", () => {
  it("refuses a parameter sent twice with invalid_request", async () => {
    const response = await form(
      hyperproofToken(),
      `grant_type=client_credentials&grant_type=client_credentials&${hyperproofSecret}`,
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: "invalid_request" })
  })

  it("treats a parameter sent without a value as omitted", async () => {
    // A code issued without a challenge, redeemed with an empty verifier: no verifier at all.
    const landing = emulator.hyperid.authorize(hyperidAuth({ code_challenge: "" }))
    const response = await form(
      hyperid("/token"),
      `grant_type=authorization_code&code=${code(landing)}&redirect_uri=${encodeURIComponent(hyperidCallback)}&code_verifier=&${hyperidSecret}`,
    )
    expect(response.status).toBe(200)
  })

  it("answers a missing grant_type invalid_request, not unsupported_grant_type", async () => {
    for (const [url, body] of [
      [hyperproofToken(), hyperproofSecret],
      [hyperid("/token"), hyperidSecret],
      [`${emulator.origins.hyper}/oauth/token`, `client_id=${defaultHyperClient.clientId}&device_code=x`],
    ] as const) {
      const response = await form(url, body)
      expect(response.status, url).toBe(400)
      expect(await response.json(), url).toMatchObject({ error: "invalid_request" })
    }
    const hyperline = await postJson(hyperlineTokens(), hyperlineClient)
    expect(await hyperline.json()).toMatchObject({ error: "invalid_request" })
    // In hyperline's JSON bodies too, a member without a value is one omitted.
    const empty = await postJson(hyperlineTokens(), { ...hyperlineClient, grant_type: "" })
    expect(await empty.json()).toMatchObject({ error: "invalid_request" })
  })

  it("refuses a client that authenticates two ways at once (RFC 6749 §2.3)", async () => {
    const basic = Buffer.from(`${defaultHyperproofClient.clientId}:${defaultHyperproofClient.clientSecret}`).toString(
      "base64",
    )
    const response = await form(hyperproofToken(), `grant_type=client_credentials&${hyperproofSecret}`, {
      authorization: `Basic ${basic}`,
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: "invalid_request" })
  })

  it("answers a missing required token invalid_request: hyperline's revoke, hyperid's logout", async () => {
    const revoke = await postJson(`${emulator.origins.hyperline}/v1/oauth/revoke`, hyperlineClient)
    expect(revoke.status).toBe(400)
    expect(await revoke.json()).toMatchObject({ error: "invalid_request" })
    const logout = await form(hyperid("/logout"), hyperidSecret)
    expect(logout.status).toBe(400)
    expect(await logout.json()).toMatchObject({ error: "invalid_request" })
  })
})

describe("PKCE (RFC 7636)", () => {
  it("refuses at the authorization step a challenge without a method, which means plain (§4.3)", () => {
    const back = new URL(emulator.hyperid.authorize(hyperidAuth({ code_challenge: "abc".repeat(15) })))
    expect(back.searchParams.get("error")).toBe("invalid_request")
    expect(back.searchParams.get("code")).toBeNull()
  })

  it("still redeems an S256 challenge", async () => {
    const verifier = "v".repeat(43)
    const challenge = createHash("sha256").update(verifier).digest("base64url")
    const landing = emulator.hyperid.authorize(
      hyperidAuth({ code_challenge: challenge, code_challenge_method: "S256" }),
    )
    const response = await form(
      hyperid("/token"),
      `grant_type=authorization_code&code=${code(landing)}&redirect_uri=${encodeURIComponent(hyperidCallback)}&code_verifier=${verifier}&${hyperidSecret}`,
    )
    expect(response.status).toBe(200)
  })
})

describe("authorization requests (RFC 6749 §4.1.2.1)", () => {
  it("sends a request it cannot grant straight back with the error, showing no consent page", async () => {
    for (const url of [
      hyperidAuth({ response_type: "token" }),
      hyperidAuth({ verification_level: "5" }),
      hyperlineAuth({ state: "" }),
    ]) {
      const response = await fetch(url, { redirect: "manual" })
      expect(response.status, url).toBe(302)
      expect(new URL(response.headers.get("location") ?? "").searchParams.get("error"), url).toMatch(
        /^(invalid|unsupported)_/,
      )
    }
  })

  it("takes the person's decision, not one written into the authorization URL", async () => {
    const page = await (await fetch(hyperidAuth({ decision: "approve" }))).text()
    expect(page).not.toMatch(/type="hidden" name="decision"/)
  })

  it("takes a decision only when the form names one", async () => {
    const fields = new URLSearchParams(new URL(hyperidAuth({})).searchParams)
    const response = await form(hyperid("/auth"), fields.toString())
    expect(response.status).toBe(400)
    const started = (await (
      await form(`${emulator.origins.hyper}/oauth/device`, `client_id=${defaultHyperClient.clientId}`)
    ).json()) as { user_code: string }
    const device = await form(`${emulator.origins.hyper}/device`, `user_code=${started.user_code}`)
    expect(device.status).toBe(400)
    expect(emulator.hyper.pending()).toContain(started.user_code)
  })
})

describe("codes and tokens", () => {
  it("revokes what a hyperline code issued when the code is used again (RFC 6749 §4.1.2)", async () => {
    const landing = emulator.hyperline.authorize(hyperlineAuth({}))
    const exchange = () =>
      postJson(hyperlineTokens(), {
        ...hyperlineClient,
        grant_type: "authorization_code",
        code: code(landing),
        redirect_uri: defaultHyperlineCallback,
      })
    const first = (await (await exchange()).json()) as { access_token: string; refresh_token: string }
    expect((await exchange()).status).toBe(400)
    const api = await fetch(`${emulator.origins.hyperline}/v1/companies`, {
      headers: { authorization: `Bearer ${first.access_token}` },
    })
    expect(api.status).toBe(401)
    const refresh = await postJson(hyperlineTokens(), {
      ...hyperlineClient,
      grant_type: "refresh_token",
      refresh_token: first.refresh_token,
    })
    expect(refresh.status).toBe(400)
  })

  it("keeps hyperid's auth_time at the login across refreshes", async () => {
    const landing = emulator.hyperid.authorize(hyperidAuth({}))
    const issued = (await (
      await form(
        hyperid("/token"),
        `grant_type=authorization_code&code=${code(landing)}&redirect_uri=${encodeURIComponent(hyperidCallback)}&${hyperidSecret}`,
      )
    ).json()) as { access_token: string; refresh_token: string }
    const introspect = async (token: string) =>
      (await (
        await form(hyperid("/token/introspect"), `token=${token}&token_type_hint=access_token&${hyperidSecret}`)
      ).json()) as { auth_time: number; iat: number }
    const before = await introspect(issued.access_token)
    emulator.clock.advance(1800)
    const renewed = (await (
      await form(hyperid("/token"), `grant_type=refresh_token&refresh_token=${issued.refresh_token}&${hyperidSecret}`)
    ).json()) as { access_token: string }
    const after = await introspect(renewed.access_token)
    expect(after.iat).toBeGreaterThan(before.iat)
    expect(after.auth_time).toBe(before.auth_time)
  })

  it("challenges a request with no credentials without an error code (RFC 6750 §3.1)", async () => {
    const bare = await fetch(`${emulator.origins.hyperproofApi}/v1/controls/ctl_access_review`)
    expect(bare.status).toBe(401)
    expect(bare.headers.get("www-authenticate")).toBe('Bearer realm="emulator"')
    const wrong = await fetch(`${emulator.origins.hyperproofApi}/v1/controls/ctl_access_review`, {
      headers: { authorization: "Bearer nope" },
    })
    expect(wrong.headers.get("www-authenticate")).toMatch(/error="invalid_token"/)
  })

  it("counts credentials of another scheme as none: no error code (RFC 6750 §3.1)", async () => {
    const basic = await fetch(`${emulator.origins.hyperproofApi}/v1/controls/ctl_access_review`, {
      headers: { authorization: "Basic dXNlcjpwYXNz" },
    })
    expect(basic.status).toBe(401)
    expect(basic.headers.get("www-authenticate")).toBe('Bearer realm="emulator"')
  })

  it("answers tokens with Pragma: no-cache beside Cache-Control: no-store (RFC 6749 §5.1)", async () => {
    const response = await form(hyperproofToken(), `grant_type=client_credentials&${hyperproofSecret}`)
    expect(response.headers.get("cache-control")).toBe("no-store")
    expect(response.headers.get("pragma")).toBe("no-cache")
  })
})
