/**
 * `logout` end to end over real stdio with the SDK's Client: a hyperid
 * session that already ended at the provider is logged out (`revoked`, no
 * `revoke_error`), as RFC 7009 §2.2 has an invalid token for revocation;
 * a refusal that leaves the token alive at the provider is still reported.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured, textOf } from "./support/harness.js"

let emulator: Emulator
let session: Session

beforeAll(async () => {
  emulator = await start()
  session = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: "memory" })
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

/** A hyperid login finished with the URL the browser landed on. */
const loginHyperId = async (account: string) => {
  const pending = structured(await session.call("login", { provider: "hyperid", account, scope: "openid" }))
  const landed = emulator.hyperid.authorize(String(pending.authorization_url))
  const done = structured(await session.call("complete_login", { login_id: pending.login_id, redirect_url: landed }))
  expect(done.status).toBe("authenticated")
}

describe("logout of a hyperid session that already ended", () => {
  it("is revoked and removed, with no revoke_error", async () => {
    await loginHyperId("ended")
    // Logged out elsewhere, or ended by an admin: the provider answers invalid_grant.
    emulator.tokens.revokeAll("hyperid")
    expect(structured(await session.call("logout", { provider: "hyperid", account: "ended" }))).toEqual({
      revoked: true,
      removed: true,
    })
    expect(structured(await session.call("logout", { provider: "hyperid", account: "ended" }))).toEqual({
      revoked: false,
      removed: false,
    })
  })

  it("a refusal other than invalid_grant is still a revoke_error, and the login is removed", async () => {
    await loginHyperId("refused")
    emulator.faults.inject({
      origin: "hyperid",
      path: "/auth/realms/HyperID/protocol/openid-connect/logout",
      status: 401,
      body: { error: "invalid_client", error_description: null, error_uri: null },
      times: 1,
    })
    const result = structured(await session.call("logout", { provider: "hyperid", account: "refused" }))
    expect(result).toMatchObject({ revoked: false, removed: true })
    expect(String(result.revoke_error)).toMatch(/^invalid_client: /)
  })
})

describe("logout of a hyperline token the provider will not revoke for this client", () => {
  it("reports the refusal (RFC 7009 §2.1) as revoke_error without secrets, and removes the login", async () => {
    const pending = structured(await session.call("login", { provider: "hyperline", account: "foreign" }))
    const landed = emulator.hyperline.authorize(String(pending.authorization_url))
    expect(
      structured(await session.call("complete_login", { login_id: pending.login_id, redirect_url: landed })).status,
    ).toBe("authenticated")
    // What the emulator answers for a token issued to another client, the way every RFC 7009 server refuses it.
    emulator.faults.inject({
      origin: "hyperline",
      path: "/v1/oauth/revoke",
      status: 400,
      body: { error: "unauthorized_client", error_description: "The token was not issued to this client" },
      times: 1,
    })
    const result = structured(await session.call("logout", { provider: "hyperline", account: "foreign" }))
    expect(result).toMatchObject({ revoked: false, removed: true })
    expect(String(result.revoke_error)).toMatch(/^invalid_client: .*unauthorized_client/)
    expect(String(result.revoke_error)).not.toContain(emulator.env.HYPERLINE_CLIENT_SECRET ?? "-")
    expect(structured(await session.call("list_providers")).providers).toContainEqual(
      expect.objectContaining({ id: "hyperline", accounts: [] }),
    )
  })
})

describe("a logout while a login's code is at the provider", () => {
  it.each(["hyperline", "hyperid"] as const)(
    "%s: the tokens the code brought are revoked, not left live at the provider",
    async (provider) => {
      emulator.tokens.revokeAll(provider)
      const pending = structured(await session.call("login", { provider, account: "racing" }))
      const landed = emulator[provider].authorize(String(pending.authorization_url))
      // The provider issues the tokens at once and answers 400 ms later: the logout comes in between.
      emulator.faults.inject({ origin: provider, method: "POST", answerLatencyMs: 400, times: 1 })
      const [completed, loggedOut] = await Promise.all([
        session.call("complete_login", { login_id: pending.login_id, redirect_url: landed, wait_seconds: 10 }),
        new Promise((resolve) => setTimeout(resolve, 150)).then(() =>
          session.call("logout", { provider, account: "racing" }),
        ),
      ])
      emulator.faults.clear()
      expect(textOf(completed)).toMatch(/^unknown_login: .*ended by a logout/)
      expect(loggedOut.isError).not.toBe(true)
      // hyperline's access tokens cannot be revoked, only its refresh tokens (its seed): the access token lives on.
      expect(emulator.tokens.revokeAll(provider)).toBe(provider === "hyperline" ? 1 : 0)
    },
  )
})
