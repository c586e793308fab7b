/**
 * Memory stays bounded under long or hostile use: what can no longer be
 * used is forgotten, without any answer changing, and the logs keep their
 * newest entries while their counts stay exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { retained } from "../src/Emulator.js"
import { type Emulator, start } from "../src/index.js"
import { Clock, Tokens } from "../src/State.js"

/** Whatever the sweep floor, a store must stay well under this while nearly all it saw is dead. */
const bound = 512

let emulator: Emulator
beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.01 } })
})
afterAll(async () => {
  await emulator.close()
})

const form = (url: string, body: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body),
  })

const issueOptions = { provider: "hyperproof", clientId: "c", subject: "s", scope: "", grant: "g" } as const

describe("tokens", () => {
  it("forgets tokens once expired or revoked; they answer as before", () => {
    const clock = new Clock()
    const tokens = new Tokens(clock)
    const first = tokens.issue("access", { ...issueOptions, lifetime: 60 })
    let largest = 0
    for (let i = 0; i < 5_000; i++) {
      const token = tokens.issue("access", { ...issueOptions, grant: `g${i}`, lifetime: 60 })
      if (i % 3 === 0) tokens.revoke(token.value)
      if (i % 100 === 99) clock.advance(61)
      largest = Math.max(largest, tokens.size)
    }
    expect(largest).toBeLessThan(bound)
    expect(tokens.valid(first.value, "access", "hyperproof")).toBeUndefined()
    expect(tokens.revoke(first.value)).toBe(false)
  })

  it("keeps a spent refresh token while its login lasts, so that reuse still ends the login", () => {
    const clock = new Clock()
    const tokens = new Tokens(clock)
    const login = { ...issueOptions, provider: "hyperline", grant: "login" }
    const spent = tokens.issue("refresh", login)
    expect(tokens.redeemRefresh(spent.value, "hyperline", "c", true)).toBe(spent)
    const next = tokens.issue("refresh", login)
    for (let i = 0; i < 2_000; i++) {
      tokens.issue("access", { ...issueOptions, grant: `other${i}`, lifetime: 1 })
      if (i % 100 === 99) clock.advance(2)
    }
    expect(tokens.size).toBeLessThan(bound)
    expect(tokens.redeemRefresh(spent.value, "hyperline", "c", true)).toBe("reused")
    expect(tokens.reusedRefreshTokens).toBe(1)
    expect(tokens.valid(next.value, "refresh", "hyperline")).toBeUndefined()
    // The login has ended: its spent token is forgotten, and answered as any invalid one.
    for (let i = 0; i < 2_000; i++) tokens.issue("access", { ...issueOptions, grant: `more${i}`, lifetime: 0 })
    expect(tokens.size).toBeLessThan(bound)
    expect(tokens.redeemRefresh(spent.value, "hyperline", "c", true)).toBe("invalid")
    expect(tokens.reusedRefreshTokens).toBe(1)
  })

  it("answers an expired, forgotten access token inactive and 401 invalid_token", async () => {
    const poll = (deviceCode: string) =>
      form(`${emulator.origins.hyper}/oauth/token`, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: deviceCode,
        client_id: "cli",
      }).then((r) => r.json() as Promise<Record<string, string>>)
    const device = (await form(`${emulator.origins.hyper}/oauth/device`, { client_id: "cli" }).then((r) =>
      r.json(),
    )) as { device_code: string; user_code: string }
    emulator.hyper.approve(device.user_code)
    const { access_token } = await poll(device.device_code)
    emulator.clock.advance(3601)
    for (let i = 0; i < 2_000; i++) emulator.tokens.issue("access", { ...issueOptions, lifetime: 0 })
    expect(retained(emulator).tokens).toBeLessThan(bound)
    const introspected = await form(`${emulator.origins.hyper}/oauth/introspect`, {
      token: access_token ?? "",
      client_id: "cli",
    })
    expect(await introspected.json()).toEqual({ active: false })
    const api = await fetch(`${emulator.origins.hyper}/v1/me`, { headers: { authorization: `Bearer ${access_token}` } })
    expect(api.status).toBe(401)
    expect(api.headers.get("www-authenticate")).toContain('error="invalid_token"')
  })
})
