import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultHyperIdClient, type Emulator, hyperidRealmPath, start } from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

const authUrl = (params: Record<string, string>) =>
  `${emulator.origins.hyperid}${hyperidRealmPath}/auth?${new URLSearchParams({
    response_type: "code",
    client_id: defaultHyperIdClient.clientId,
    redirect_uri: "http://127.0.0.1:8976/callback/hyperid",
    ...params,
  })}`

describe("hyperid emulator", () => {
  it("shows a page a person can use, naming the requested KYC level", async () => {
    const page = await fetch(authUrl({ scope: "openid", verification_level: "4", state: "s1" }))
    expect(page.status).toBe(200)
    const text = await page.text()
    expect(text).toContain("KYC full")
    expect(text).toContain('<button name="decision" value="approve">')
  })

  it("redirects back with code, locale and state when the person allows", async () => {
    const form = new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperIdClient.clientId,
      redirect_uri: "http://127.0.0.1:8976/callback/hyperid",
      ui_locales: "fr en",
      state: "s1",
      decision: "approve",
    })
    const response = await fetch(`${emulator.origins.hyperid}${hyperidRealmPath}/auth`, {
      method: "POST",
      body: form,
      redirect: "manual",
    })
    expect(response.status).toBe(302)
    const location = new URL(response.headers.get("location") ?? "")
    expect(location.origin + location.pathname).toBe("http://127.0.0.1:8976/callback/hyperid")
    expect(location.searchParams.get("locale")).toBe("fr")
    expect(location.searchParams.get("state")).toBe("s1")
    expect(location.searchParams.get("code")).toMatch(/^hyperid_code_/)
    // Keycloak names its issuer in every authorization response (RFC 9207).
    expect(location.searchParams.get("iss")).toBe(`${emulator.origins.hyperid}/auth/realms/HyperID`)
  })

  it("accepts a loopback redirect URI on any port, as RFC 8252 §7.3 asks of a real server", () => {
    for (const redirect of [
      "http://127.0.0.1:54321/callback/hyperid",
      "http://127.0.0.1:1/callback/hyperid",
      "http://[::1]:40000/callback/hyperid",
    ]) {
      const back = new URL(emulator.hyperid.authorize(authUrl({ redirect_uri: redirect, state: "s" })))
      expect(back.origin + back.pathname).toBe(redirect)
      expect(back.searchParams.get("code")).toMatch(/^hyperid_code_/)
      expect(back.searchParams.get("iss")).toBe(`${emulator.origins.hyperid}/auth/realms/HyperID`)
    }
  })

  it("does not redirect to an unregistered redirect_uri or for an unknown client", async () => {
    expect((await fetch(authUrl({ redirect_uri: "https://evil.example/cb" }))).status).toBe(400)
    expect((await fetch(authUrl({ client_id: "someone-else" }))).status).toBe(400)
  })

  it("sends invalid parameters back as OAuth errors", () => {
    const badLevel = new URL(emulator.hyperid.authorize(authUrl({ verification_level: "7" })))
    expect(badLevel.searchParams.get("error")).toBe("invalid_request")
    const noSocial = new URL(emulator.hyperid.authorize(authUrl({ scope: "openid", verification_level: "2" })))
    expect(noSocial.searchParams.get("error")).toBe("invalid_scope")
    const denied = new URL(emulator.hyperid.authorize(authUrl({ state: "s2" }), "deny"))
    expect(denied.searchParams.get("error")).toBe("access_denied")
    expect(denied.searchParams.get("state")).toBe("s2")
  })

  const token = (fields: Record<string, string>) =>
    fetch(`${emulator.origins.hyperid}${hyperidRealmPath}/token`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: defaultHyperIdClient.clientId,
        client_secret: defaultHyperIdClient.clientSecret,
        ...fields,
      }),
    })

  it("refuses a code_verifier for a code issued without a challenge, as Keycloak does (a PKCE downgrade)", async () => {
    const redirectUri = "http://127.0.0.1:8976/callback/hyperid"
    const landed = new URL(emulator.hyperid.authorize(authUrl({ scope: "openid", state: "s1" })))
    const answer = await token({
      grant_type: "authorization_code",
      code: landed.searchParams.get("code") ?? "",
      redirect_uri: redirectUri,
      code_verifier: "v".repeat(43),
    })
    expect(answer.status).toBe(400)
    expect(await answer.json()).toMatchObject({ error: "invalid_grant" })
  })

  it("introspection requires token_type_hint=access_token, as the documentation says", async () => {
    const landed = new URL(emulator.hyperid.authorize(authUrl({ scope: "openid", state: "s1" })))
    const issued = await token({
      grant_type: "authorization_code",
      code: landed.searchParams.get("code") ?? "",
      redirect_uri: "http://127.0.0.1:8976/callback/hyperid",
    })
    const { access_token } = (await issued.json()) as { access_token: string }
    const introspect = (fields: Record<string, string>) =>
      fetch(`${emulator.origins.hyperid}${hyperidRealmPath}/token/introspect`, {
        method: "POST",
        body: new URLSearchParams({
          client_id: defaultHyperIdClient.clientId,
          client_secret: defaultHyperIdClient.clientSecret,
          token: access_token,
          ...fields,
        }),
      })
    const without = await introspect({})
    expect(without.status).toBe(400)
    expect(await without.json()).toMatchObject({ error: "invalid_request" })
    const withHint = await introspect({ token_type_hint: "access_token" })
    expect(await withHint.json()).toMatchObject({ active: true })
  })
})
