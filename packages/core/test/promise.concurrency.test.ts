/**
 * `@hyperauth/core/promise` called twice at once with the same one-time
 * grant, as a web app does (a callback submitted twice, two requests that
 * both find the token expired, an effect that runs twice): a code, a
 * rotated refresh token or a device code presented twice ends the login at
 * the provider, so the calls must share one presentation. Against the
 * emulator over loopback, with refresh tokens rotated.
 */
import { defaultHyperClient, hyperidRealmPath } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { hyperid, hyperline, initiateDeviceFlow, introspectToken, pollForToken } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { rejection } from "./support/promise.js"

const emulator = useEmulator({
  hyper: { interval: 0.05 },
  hyperid: { rotateRefreshTokens: true },
  hyperline: { rotateRefreshTokens: true },
})
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  Object.assign(process.env, emulator.current.env)
  process.env.HYPER_BASE_URL = emulator.current.origins.hyper
  process.env.HYPER_CLIENT_ID = defaultHyperClient.clientId
})
afterEach(() => {
  process.env = { ...saved }
})

const count = (origin: "hyper" | "hyperid" | "hyperline", path: string) => emulator.current.count({ origin, path })
const hyperidTokens = () => count("hyperid", `${hyperidRealmPath}/token`)
const hyperlineTokens = () => count("hyperline", "/v1/oauth/tokens")

describe("@hyperauth/core/promise, one grant used twice at once", () => {
  it("hyperid: a callback completed twice at once exchanges its code once, and the login stays valid", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    const before = hyperidTokens()
    const [first, second] = await Promise.all([
      hyperid.completeLogin(login, landed),
      hyperid.completeLogin(login, landed),
    ])
    expect(second.accessToken).toBe(first.accessToken)
    expect(second).not.toBe(first)
    expect(hyperidTokens() - before).toBe(1)
    expect((await hyperid.introspectToken(first)).active).toBe(true)

    // Both refresh at once: one refresh, which rotation does not count as a reuse.
    const [renewed, again] = await Promise.all([hyperid.refresh(first), hyperid.refresh(second)])
    expect(again.accessToken).toBe(renewed.accessToken)
    expect(hyperidTokens() - before).toBe(2)
    expect((await hyperid.introspectToken(renewed)).active).toBe(true)
    await expect(hyperid.refresh(renewed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("hyperline: the same, a double completion and a double refresh each sent once", async () => {
    const login = await hyperline.authorizationUrl()
    const landed = emulator.current.hyperline.authorize(login.url)
    const before = hyperlineTokens()
    const [first, second] = await Promise.all([
      hyperline.completeLogin(login, landed),
      hyperline.completeLogin(login, landed),
    ])
    expect(second.accessToken).toBe(first.accessToken)
    const [renewed, again] = await Promise.all([hyperline.refresh(first), hyperline.refresh(first.refreshToken ?? "")])
    expect(again.accessToken).toBe(renewed.accessToken)
    expect(hyperlineTokens() - before).toBe(2)
    expect((await hyperline.fetch(renewed, "/v1/companies")).status).toBe(200)
    await expect(hyperline.refresh(renewed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("a rotated refresh token refreshed again just after (a request that read the token before the renewal) gets the same new tokens, sending nothing", async () => {
    const logins = {
      hyperid: async () => {
        const login = await hyperid.authorizationUrl({ scope: "openid" })
        return {
          token: await hyperid.completeLogin(login, emulator.current.hyperid.authorize(login.url)),
          refresh: hyperid.refresh,
          tokens: hyperidTokens,
        }
      },
      hyperline: async () => {
        const login = await hyperline.authorizationUrl()
        return {
          token: await hyperline.completeLogin(login, emulator.current.hyperline.authorize(login.url)),
          refresh: hyperline.refresh,
          tokens: hyperlineTokens,
        }
      },
    }
    for (const start of Object.values(logins)) {
      const { token, refresh, tokens } = await start()
      const before = tokens()
      const renewed = await refresh(token)
      expect(renewed.refreshToken).not.toBe(token.refreshToken)
      // Spent by now: presented again, a strictly rotating provider would end the login.
      const again = await refresh(token.refreshToken ?? "")
      expect(again.accessToken).toBe(renewed.accessToken)
      expect(again.refreshToken).toBe(renewed.refreshToken)
      expect(tokens() - before).toBe(1)
      await expect(refresh(renewed)).resolves.toMatchObject({ tokenType: "Bearer" })
    }
  })

  it("past the short window the spent refresh token is presented again, and the provider's reuse detection judges it", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const token = await hyperid.completeLogin(login, emulator.current.hyperid.authorize(login.url))
    await hyperid.refresh(token)
    const before = hyperidTokens()
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 31_000 })
    try {
      expect((await rejection(hyperid.refresh(token))).code).toBe("invalid_grant")
    } finally {
      vi.useRealTimers()
    }
    expect(hyperidTokens() - before).toBe(1)
  })

  it("a login completed again with the same redirect (a reloaded callback page) is refused here, and the login it gave lives on", async () => {
    const completions = {
      hyperid: async () => {
        const login = await hyperid.authorizationUrl()
        const landed = emulator.current.hyperid.authorize(login.url)
        return { token: await hyperid.completeLogin(login, landed), again: () => hyperid.completeLogin(login, landed) }
      },
      hyperline: async () => {
        const login = await hyperline.authorizationUrl()
        const landed = emulator.current.hyperline.authorize(login.url)
        return {
          token: await hyperline.completeLogin(login, landed),
          again: () => hyperline.completeLogin(login, landed),
        }
      },
    }
    for (const [provider, complete] of Object.entries(completions)) {
      const { token, again } = await complete()
      const before = emulator.current.count({})
      const refused = await rejection(again())
      expect(refused.code).toBe("invalid_input")
      expect(refused.message).toMatch(new RegExp(`^${provider}: .*already completed`))
      expect(refused.message).toContain("Nothing was sent.")
      expect(emulator.current.count({})).toBe(before)
      // The code was not sent again, so the provider did not end the login for its reuse.
      const renewed = provider === "hyperid" ? hyperid.refresh(token) : hyperline.refresh(token)
      await expect(renewed).resolves.toMatchObject({ tokenType: "Bearer" })
    }
    // A completion that failed may be tried again: its code may not have been redeemed.
    const login = await hyperid.authorizationUrl()
    const landed = emulator.current.hyperid.authorize(login.url)
    const token = { origin: "hyperid", path: `${hyperidRealmPath}/token`, times: 1 } as const
    emulator.current.faults.inject({ ...token, status: 400, body: { error: "invalid_request" } })
    expect((await rejection(hyperid.completeLogin(login, landed))).code).toBe("invalid_request")
    await expect(hyperid.completeLogin(login, landed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("hyper: a device code polled twice at once is polled once; each caller gets the token and its own onSuccess", async () => {
    const deviceCode = await initiateDeviceFlow()
    emulator.current.hyper.approve(deviceCode.user_code)
    const before = count("hyper", "/oauth/token")
    const seen: Array<string> = []
    const [first, second] = await Promise.all([
      pollForToken(deviceCode, () => seen.push("first")),
      pollForToken({ device_code: deviceCode.device_code, expires_in: 600 }, () => seen.push("second")),
    ])
    expect(second.accessToken).toBe(first.accessToken)
    expect(seen.sort()).toEqual(["first", "second"])
    expect(count("hyper", "/oauth/token") - before).toBe(1)
    expect((await introspectToken(first.accessToken)).active).toBe(true)
  })

  it("hyper: a caller that aborts leaves the polling to the others; once all have, it stops", async () => {
    const deviceCode = await initiateDeviceFlow()
    const polls = () => emulator.current.count({ origin: "hyper", path: "/oauth/token" })
    const before = polls()
    const leaving = new AbortController()
    const left = pollForToken(deviceCode, undefined, { signal: leaving.signal })
    const staying = pollForToken(deviceCode)
    leaving.abort(new Error("the user closed this tab"))
    await expect(left).rejects.toThrow("the user closed this tab")
    emulator.current.hyper.approve(deviceCode.user_code)
    await expect(staying).resolves.toMatchObject({ tokenType: "Bearer" })
    expect(polls() - before).toBe(1)

    const other = await initiateDeviceFlow()
    const controllers = [new AbortController(), new AbortController()]
    const both = controllers.map((controller) => pollForToken(other, undefined, { signal: controller.signal }))
    for (const controller of controllers) controller.abort(new Error("gone"))
    for (const call of both) await expect(call).rejects.toThrow("gone")
    const after = polls()
    // Past the one-second interval: a poll still running would have asked by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(polls()).toBe(after)
  })
})
