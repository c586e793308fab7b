/** Strict refresh-token rotation: each refresh token works once; a reused one ends the login. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  defaultHyperIdClient,
  defaultHyperlineCallback,
  defaultHyperlineClient,
  type Emulator,
  hyperidRealmPath,
  start,
} from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start({ hyperid: { rotateRefreshTokens: true }, hyperline: { rotateRefreshTokens: true } })
})
afterAll(async () => {
  await emulator.close()
})

const redirectUri = "http://127.0.0.1:8976/callback/x"

interface Tokens {
  readonly access_token: string
  readonly refresh_token: string
  readonly error?: string
}

const hyperid = {
  login: async (): Promise<Tokens> => {
    const url = `${emulator.origins.hyperid}${hyperidRealmPath}/auth?${new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperIdClient.clientId,
      redirect_uri: redirectUri,
      scope: "openid",
    })}`
    const code = new URL(emulator.hyperid.authorize(url)).searchParams.get("code") ?? ""
    return hyperid.token({ grant_type: "authorization_code", code, redirect_uri: redirectUri })
  },
  token: async (params: Record<string, string>): Promise<Tokens> =>
    (await fetch(`${emulator.origins.hyperid}${hyperidRealmPath}/token`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: defaultHyperIdClient.clientId,
        client_secret: defaultHyperIdClient.clientSecret,
        ...params,
      }),
    }).then((r) => r.json())) as Tokens,
}

const hyperline = {
  login: async (): Promise<Tokens> => {
    const url = `${emulator.origins.hyperline}/v1/oauth/authorize?${new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperlineClient.clientId,
      redirect_uri: defaultHyperlineCallback,
      state: "s",
    })}`
    const code = new URL(emulator.hyperline.authorize(url)).searchParams.get("code") ?? ""
    return hyperline.token({ grant_type: "authorization_code", code, redirect_uri: defaultHyperlineCallback })
  },
  token: async (params: Record<string, string>): Promise<Tokens> =>
    (await fetch(`${emulator.origins.hyperline}/v1/oauth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: defaultHyperlineClient.clientId,
        client_secret: defaultHyperlineClient.clientSecret,
        ...params,
      }),
    }).then((r) => r.json())) as Tokens,
}

describe.each([
  ["hyperid", hyperid],
  ["hyperline", hyperline],
] as const)("%s with rotateRefreshTokens", (provider, flow) => {
  it("answers each refresh with a new refresh token; the spent one is refused and revokes the whole login", async () => {
    const login = await flow.login()
    expect(login.refresh_token).toBeTruthy()
    const reusedBefore = emulator.tokens.reusedRefreshTokens
    const refreshesBefore = emulator.tokens.refreshes.get(provider) ?? 0
    const first = await flow.token({ grant_type: "refresh_token", refresh_token: login.refresh_token })
    expect(first.refresh_token).not.toBe(login.refresh_token)
    expect(emulator.tokens.valid(first.access_token, "access", provider)).toBeDefined()

    const reuse = await flow.token({ grant_type: "refresh_token", refresh_token: login.refresh_token })
    expect(reuse.error).toBe("invalid_grant")
    expect(emulator.tokens.reusedRefreshTokens).toBe(reusedBefore + 1)
    // Reuse is taken as theft: the tokens of the latest refresh die with the grant.
    expect(emulator.tokens.valid(first.access_token, "access", provider)).toBeUndefined()
    const after = await flow.token({ grant_type: "refresh_token", refresh_token: first.refresh_token })
    expect(after.error).toBe("invalid_grant")
    expect(emulator.tokens.refreshes.get(provider)).toBe(refreshesBefore + 1)
  })
})
