import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultHyperproofClient, type Emulator, sampleControl, start } from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

const requestToken = (body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${emulator.origins.hyperproofAccounts}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(body),
  })

const { clientId, clientSecret } = defaultHyperproofClient

describe("hyperproof emulator", () => {
  it("issues bearer tokens for client_secret_post and client_secret_basic", async () => {
    const post = await requestToken({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    })
    expect(await post.json()).toMatchObject({ token_type: "bearer", expires_in: 3600 })
    const basic = await requestToken(
      { grant_type: "client_credentials" },
      { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` },
    )
    expect(basic.status).toBe(200)
  })

  it("answers as the seed's example does, scope left out (RFC 6749 §5.1: it is the scope requested)", async () => {
    for (const scope of [undefined, "controls.read"]) {
      const response = await requestToken({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
        ...(scope === undefined ? {} : { scope }),
      })
      const body: unknown = await response.json()
      expect(typeof body === "object" && body !== null ? Object.keys(body).sort() : body).toEqual([
        "access_token",
        "expires_in",
        "token_type",
      ])
    }
  })

  it("reads client_secret_basic as RFC 6749 §2.3.1 says: id and secret form-urlencoded, then base64", async () => {
    const odd = await start({ hyperproof: { clientId: "my client", clientSecret: "a+b c%d:é" } })
    try {
      // application/x-www-form-urlencoded: a space is `+`, a `+` is `%2B` (RFC 6749 Appendix B).
      const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)
      const basic = (credentials: string) =>
        fetch(`${odd.origins.hyperproofAccounts}/oauth/token`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
          },
          body: new URLSearchParams({ grant_type: "client_credentials" }),
        })
      expect((await basic(`${encode("my client")}:${encode("a+b c%d:é")}`)).status).toBe(200)
      // Left as it is, `a+b` would mean "a b": a different secret.
      expect((await basic("my+client:a+b+c%25d%3A%C3%A9")).status).toBe(401)
      // Not form-urlencoded at all, or no colon: refused as a client, not a crash.
      for (const malformed of ["my+client:%E0%A4%A", "my+client"]) {
        const response = await basic(malformed)
        expect(response.status).toBe(401)
        expect(await response.json()).toMatchObject({ error: "invalid_client" })
      }
    } finally {
      await odd.close()
    }
  })

  it("answers invalid_client for a wrong secret", async () => {
    const response = await requestToken({ grant_type: "client_credentials", client_id: clientId, client_secret: "x" })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: "invalid_client" })
  })

  it("serves controls to valid tokens only, 404 for unknown ids, and honours revocation", async () => {
    const token = (await (
      await requestToken({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret })
    ).json()) as { access_token: string }
    const get = (id: string) =>
      fetch(`${emulator.origins.hyperproofApi}/v1/controls/${id}`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      })
    expect(await (await get(sampleControl.id)).json()).toMatchObject({
      id: sampleControl.id,
      owner: { givenName: "Ada" },
    })
    expect((await get("unknown")).status).toBe(404)
    emulator.tokens.revokeAll("hyperproof")
    const revoked = await get(sampleControl.id)
    expect(revoked.status).toBe(401)
    expect(revoked.headers.get("www-authenticate")).toContain("invalid_token")
  })
})
