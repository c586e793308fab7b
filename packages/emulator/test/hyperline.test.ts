import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultHyperlineApiKey, defaultHyperlineClient, type Emulator, start } from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

const authorizeUrl = (params: Record<string, string>) =>
  `${emulator.origins.hyperline}/v1/oauth/authorize?${new URLSearchParams({
    client_id: defaultHyperlineClient.clientId,
    redirect_uri: "http://127.0.0.1:8976/callback/hyperline",
    response_type: "code",
    ...params,
  })}`

const tokens = (body: string, contentType: string) =>
  fetch(`${emulator.origins.hyperline}/v1/oauth/tokens`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  })

describe("hyperline emulator", () => {
  it("accepts the registered loopback callback on any port, as RFC 8252 §7.3 asks of a real server", () => {
    for (const redirect of ["http://127.0.0.1:54321/callback/hyperline", "http://127.0.0.1:8976/callback/hyperline"]) {
      const back = new URL(emulator.hyperline.authorize(authorizeUrl({ redirect_uri: redirect, state: "s" })))
      expect(back.origin + back.pathname).toBe(redirect)
      expect(back.searchParams.get("code")).toMatch(/^hyperline_code_/)
    }
  })

  it("refuses a loopback redirect URI the app did not register: another path, host, scheme or query", async () => {
    // The seed: redirect_uri "must match the URL you set when registering your app"; RFC 8252 §7.3 lets only the port vary.
    for (const redirect of [
      "http://127.0.0.1:8976/callback/evil",
      "http://127.0.0.1:8976/callback/hyperline/",
      "http://127.0.0.1:8976/",
      "http://[::1]:8976/callback/hyperline",
      "http://localhost:8976/callback/hyperline",
      "https://127.0.0.1:8976/callback/hyperline",
      "http://127.0.0.1:8976/callback/hyperline?next=https://evil.example",
      "http://127.0.0.2:8976/callback/hyperline",
    ]) {
      expect(
        () => emulator.hyperline.authorize(authorizeUrl({ redirect_uri: redirect, state: "s" })),
        redirect,
      ).toThrow(/callbacks/)
      expect((await fetch(authorizeUrl({ redirect_uri: redirect, state: "s" }))).status, redirect).toBe(400)
    }
  })

  it("takes an app's registered callbacks, loopback ones on any port", async () => {
    const own = await start({ hyperline: { callbacks: ["http://localhost:7000/cb", "https://app.example/cb"] } })
    try {
      const url = (redirect: string) =>
        `${own.origins.hyperline}/v1/oauth/authorize?${new URLSearchParams({
          client_id: defaultHyperlineClient.clientId,
          redirect_uri: redirect,
          response_type: "code",
          state: "s",
        })}`
      expect(new URL(own.hyperline.authorize(url("https://app.example/cb"))).searchParams.get("state")).toBe("s")
      expect(new URL(own.hyperline.authorize(url("http://localhost:7000/cb"))).searchParams.get("state")).toBe("s")
      // No longer registered: the default loopback callback.
      expect(() => own.hyperline.authorize(url("http://127.0.0.1:8976/callback/hyperline"))).toThrow(/callbacks/)
      expect(() => own.hyperline.authorize(url("https://app.example/cb2"))).toThrow(/callbacks/)
    } finally {
      await own.close()
    }
  })

  it("refuses to revoke a token issued to another client (RFC 7009 §2.1), and the token stays valid", async () => {
    const created = await fetch(`${emulator.origins.hyperline}/v1/apps`, {
      method: "POST",
      headers: { authorization: `Bearer ${defaultHyperlineApiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Other", callbacks: ["https://other.example/cb"] }),
    })
    const other = (await created.json()) as { client_id: string; client_secret: string }
    const landed = new URL(emulator.hyperline.authorize(authorizeUrl({ state: "s" })))
    const exchange = await tokens(
      JSON.stringify({
        ...{ client_id: defaultHyperlineClient.clientId, client_secret: defaultHyperlineClient.clientSecret },
        grant_type: "authorization_code",
        code: landed.searchParams.get("code"),
        redirect_uri: "http://127.0.0.1:8976/callback/hyperline",
      }),
      "application/json",
    )
    const { refresh_token } = (await exchange.json()) as { refresh_token: string }
    const revoke = (client: { client_id: string; client_secret: string }, token: string) =>
      fetch(`${emulator.origins.hyperline}/v1/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...client, token }),
      })
    const refused = await revoke(other, refresh_token)
    expect(refused.status).toBe(400)
    expect(await refused.json()).toMatchObject({ error: "unauthorized_client" })
    const refresh = () =>
      tokens(
        JSON.stringify({
          ...{ client_id: defaultHyperlineClient.clientId, client_secret: defaultHyperlineClient.clientSecret },
          grant_type: "refresh_token",
          refresh_token,
        }),
        "application/json",
      )
    expect((await refresh()).status).toBe(200)
    // An unknown token is no error (RFC 7009 §2.2), for any client.
    expect((await revoke(other, "hyperline_unknown_token")).status).toBe(200)
    const own = { client_id: defaultHyperlineClient.clientId, client_secret: defaultHyperlineClient.clientSecret }
    expect((await revoke(own, refresh_token)).status).toBe(200)
    expect((await refresh()).status).toBe(400)
    // Revoked already: still no error.
    expect((await revoke(own, refresh_token)).status).toBe(200)
  })

  it("accepts only JSON at the token endpoint", async () => {
    const form = await tokens(
      new URLSearchParams({ ...defaultHyperlineClient, grant_type: "authorization_code", code: "x" }).toString(),
      "application/x-www-form-urlencoded",
    )
    expect(form.status).toBe(415)
    expect(await form.json()).toMatchObject({ error: "invalid_request" })
  })

  it("requires state, and echoes it with the code", () => {
    const missing = new URL(emulator.hyperline.authorize(authorizeUrl({})))
    expect(missing.searchParams.get("error")).toBe("invalid_request")
    const ok = new URL(emulator.hyperline.authorize(authorizeUrl({ state: "abc" })))
    expect(ok.searchParams.get("state")).toBe("abc")
    expect(ok.searchParams.get("code")).toMatch(/^hyperline_code_/)
  })

  it("issues 24 h access tokens and refresh tokens that outlive them", async () => {
    const landed = new URL(emulator.hyperline.authorize(authorizeUrl({ state: "s" })))
    const exchange = await tokens(
      JSON.stringify({
        client_id: defaultHyperlineClient.clientId,
        client_secret: defaultHyperlineClient.clientSecret,
        grant_type: "authorization_code",
        code: landed.searchParams.get("code"),
        redirect_uri: "http://127.0.0.1:8976/callback/hyperline",
      }),
      "application/json",
    )
    const body = (await exchange.json()) as { expires_in: number; refresh_token: string; token_type: string }
    expect(body).toMatchObject({ expires_in: 86400, token_type: "bearer" })
    emulator.clock.advance(365 * 24 * 3600)
    const refreshed = await tokens(
      JSON.stringify({
        ...{ client_id: defaultHyperlineClient.clientId, client_secret: defaultHyperlineClient.clientSecret },
        grant_type: "refresh_token",
        refresh_token: body.refresh_token,
      }),
      "application/json",
    )
    expect(refreshed.status).toBe(200)
  })

  it("shows an authorization page and refuses an unregistered callback", async () => {
    const page = await fetch(authorizeUrl({ state: "s" }))
    expect(await page.text()).toContain("Allow")
    expect((await fetch(authorizeUrl({ state: "s", redirect_uri: "https://evil.example/cb" }))).status).toBe(400)
  })
})
