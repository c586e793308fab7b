import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultHyperlineClient, type Emulator, start } from "../src/index.js"

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
  it("accepts a loopback redirect URI on any port, as RFC 8252 §7.3 asks of a real server", () => {
    for (const redirect of ["http://127.0.0.1:54321/callback/hyperline", "http://[::1]:40000/callback/hyperline"]) {
      const back = new URL(emulator.hyperline.authorize(authorizeUrl({ redirect_uri: redirect, state: "s" })))
      expect(back.origin + back.pathname).toBe(redirect)
      expect(back.searchParams.get("code")).toMatch(/^hyperline_code_/)
    }
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
