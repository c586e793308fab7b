/**
 * The facade keeps a refresh's answer that rotated its refresh token for a
 * refresh of the same token just after (`rotatedKeptFor`), and one that
 * every caller left for the next call (`keptFor`). Kept, its access token
 * may expire meanwhile: a refresh handed such an answer renews it once, with
 * the rotated refresh token the answer holds, so that a refresh resolves
 * with an access token that is still valid; should that renewal fail, the
 * kept answer (the one copy of the rotated refresh token) is handed out as
 * it is. Against the emulator over loopback, access tokens living 10 s; the
 * facade's clock (`Date`, which Effect's clock reads too) is moved past that,
 * inside the 30 s the answer is kept for, instead of sleeping.
 */
import { hyperidRealmPath } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { hyperid } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator({ hyperid: { rotateRefreshTokens: true, tokenLifetime: 10 } })
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  Object.assign(process.env, emulator.current.env)
})
afterEach(() => {
  vi.useRealTimers()
  process.env = { ...saved }
})

const tokenPath = `${hyperidRealmPath}/token`
const tokenRequests = () => emulator.current.count({ origin: "hyperid", path: tokenPath })
/** Moves the wall clock 11 s on (past the access token's 10 s, within the kept answer's 30 s); timers stay real. */
const pastTheAccessToken = () => vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 11_000 })

const loggedIn = async () => {
  const login = await hyperid.authorizationUrl({ scope: "openid" })
  return hyperid.completeLogin(login, emulator.current.hyperid.authorize(login.url))
}

describe("a kept refresh answer whose access token expired meanwhile", () => {
  it("is renewed once with the rotated refresh token it holds: the refresh resolves with a valid access token", async () => {
    const token = await loggedIn()
    const renewed = await hyperid.refresh(token)
    expect(renewed.refreshToken).not.toBe(token.refreshToken)
    pastTheAccessToken()
    expect(renewed.expiresAt?.getTime()).toBeLessThan(Date.now())
    const before = tokenRequests()
    // The spent refresh token again, within the 30 s its answer is kept for.
    const again = await hyperid.refresh(token)
    expect(tokenRequests()).toBe(before + 1)
    expect(again.accessToken).not.toBe(renewed.accessToken)
    expect(again.refreshToken).not.toBe(renewed.refreshToken)
    expect(again.expiresAt?.getTime()).toBeGreaterThan(Date.now())
    // And the login goes on: the rotated token of the renewal refreshes.
    await expect(hyperid.refresh(again)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("is handed out as it is when the renewal fails: it holds the one copy of the rotated refresh token", async () => {
    const token = await loggedIn()
    const renewed = await hyperid.refresh(token)
    pastTheAccessToken()
    emulator.current.faults.inject({ origin: "hyperid", path: tokenPath, drop: true })
    try {
      const again = await hyperid.refresh(token)
      expect(again.accessToken).toBe(renewed.accessToken)
      expect(again.refreshToken).toBe(renewed.refreshToken)
      expect(again.expiresIn).toBe(0)
    } finally {
      emulator.current.faults.clear()
    }
    await expect(hyperid.refresh(renewed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("a kept answer still valid is handed out as it is, sending nothing", async () => {
    const token = await loggedIn()
    const renewed = await hyperid.refresh(token)
    const before = tokenRequests()
    const again = await hyperid.refresh(token)
    expect(tokenRequests()).toBe(before)
    expect(again.accessToken).toBe(renewed.accessToken)
  })
})
