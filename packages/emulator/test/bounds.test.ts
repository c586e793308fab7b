/**
 * Memory stays bounded under long or hostile use: what can no longer be
 * used is forgotten, without any answer changing, and the logs keep their
 * newest entries while their counts stay exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { retained } from "../src/Emulator.js"
import {
  defaultHyperIdClient,
  defaultHyperlineCallback,
  defaultHyperlineClient,
  type Emulator,
  hyperidRealmPath,
  start,
} from "../src/index.js"
import { Clock, Tokens } from "../src/State.js"

/** Whatever the sweep floor, a store must stay well under this while nearly all it saw is dead. */
const bound = 512

let emulator: Emulator
beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.01, clientId: "cli" } })
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

/** Runs `task` `times` times, `width` at a time. */
const inParallel = async (times: number, width: number, task: (i: number) => Promise<unknown>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < times) await task(next++)
    }),
  )
}

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
    // The login has ended: its spent token is forgotten, and answered as every invalid one is.
    for (let i = 0; i < 2_000; i++) tokens.issue("access", { ...issueOptions, grant: `more${i}`, lifetime: 0 })
    expect(tokens.size).toBeLessThan(bound)
    expect(tokens.redeemRefresh(spent.value, "hyperline", "c", true)).toBe("invalid")
    expect(tokens.reusedRefreshTokens).toBe(1)
  })

  it("forgets an ended login at once, so that presenting its spent tokens walks nothing", () => {
    const clock = new Clock()
    const tokens = new Tokens(clock)
    const login = { ...issueOptions, provider: "hyperid", grant: "long" }
    const spent: Array<string> = []
    let current = tokens.issue("refresh", login)
    for (let i = 0; i < 20_000; i++) {
      const redeemed = tokens.redeemRefresh(current.value, "hyperid", "c", true)
      if (typeof redeemed === "string") throw new Error(redeemed)
      spent.push(redeemed.value)
      tokens.issue("access", { ...login, lifetime: 3600 })
      current = tokens.issue("refresh", { ...login, lifetime: 3600 })
    }
    expect(tokens.size).toBeGreaterThan(40_000) // the login lasts: its spent tokens are kept
    expect(tokens.redeemRefresh(spent[0], "hyperid", "c", true)).toBe("reused")
    // Nothing of it is usable now: held until a sweep, each later presentation would walk all 40,000.
    expect(tokens.size).toBeLessThan(bound)
    const started = performance.now()
    for (const value of spent.slice(0, 2_000)) expect(tokens.redeemRefresh(value, "hyperid", "c", true)).toBe("invalid")
    expect(performance.now() - started).toBeLessThan(200)
    expect(tokens.reusedRefreshTokens).toBe(1)
    expect(tokens.valid(current.value, "refresh", "hyperid")).toBeUndefined()
  })

  it("keeps the last refreshes in refreshLog and counts every one", () => {
    const clock = new Clock()
    const tokens = new Tokens(clock)
    const refresh = tokens.issue("refresh", { ...issueOptions, provider: "hyperid" })
    for (let i = 0; i < 30_000; i++) {
      clock.advance(1)
      expect(tokens.redeemRefresh(refresh.value, "hyperid", "c", false)).toBe(refresh)
    }
    // The clock is wall time moved on by `advance`: the newest entry is the last refresh's, read around it.
    clock.advance(1)
    const before = clock.now()
    tokens.redeemRefresh(refresh.value, "hyperid", "c", false)
    const after = clock.now()
    expect(tokens.refreshes.get("hyperid")).toBe(30_001)
    expect(tokens.refreshLog.length).toBeGreaterThanOrEqual(10_000)
    expect(tokens.refreshLog.length).toBeLessThanOrEqual(12_500)
    expect(tokens.refreshLog.at(-1)?.at).toBeGreaterThanOrEqual(before)
    expect(tokens.refreshLog.at(-1)?.at).toBeLessThanOrEqual(after)
    expect(tokens.refreshLog.at(-2)?.at).toBeLessThan(before)
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

describe("codes and device logins", () => {
  it("forgets hyper device logins once expired or redeemed; their codes answer as before", async () => {
    const initiate = async () =>
      (await form(`${emulator.origins.hyper}/oauth/device`, { client_id: "cli" }).then((r) => r.json())) as {
        device_code: string
        user_code: string
      }
    const poll = (deviceCode: string, clientId = "cli") =>
      form(`${emulator.origins.hyper}/oauth/token`, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: deviceCode,
        client_id: clientId,
      }).then(async (r) => ((await r.json()) as { error?: string }).error)
    const late = await initiate()
    const redeemed = await initiate()
    emulator.hyper.approve(redeemed.user_code)
    expect(await poll(redeemed.device_code)).toBeUndefined()
    emulator.clock.advance(601)
    let largest = 0
    await inParallel(1_500, 20, async (i) => {
      await initiate()
      if (i % 100 === 99) emulator.clock.advance(601)
      const held = retained(emulator)
      largest = Math.max(largest, held.hyperDeviceCodes ?? 0, held.hyperUserCodes ?? 0)
    })
    expect(largest).toBeLessThan(bound)
    expect(await poll(late.device_code)).toBe("expired_token")
    expect(await poll(redeemed.device_code)).toBe("expired_token")
    expect(emulator.hyper.approve(late.user_code)).toBe(false)
    expect(await poll("hyper_dc_never-issued")).toBe("invalid_grant")
  })

  it("forgets hyperid and hyperline authorization codes once expired or redeemed", () => {
    const redirectUri = "http://127.0.0.1:8976/callback/x"
    const hyperid = `${emulator.origins.hyperid}${hyperidRealmPath}/auth?${new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperIdClient.clientId,
      redirect_uri: redirectUri,
    })}`
    const hyperline = `${emulator.origins.hyperline}/v1/oauth/authorize?${new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperlineClient.clientId,
      redirect_uri: defaultHyperlineCallback,
      state: "s",
    })}`
    let largest = 0
    for (let i = 0; i < 5_000; i++) {
      emulator.hyperid.authorize(hyperid)
      emulator.hyperline.authorize(hyperline)
      if (i % 100 === 99) emulator.clock.advance(61)
      const held = retained(emulator)
      largest = Math.max(largest, held.hyperidCodes ?? 0, held.hyperlineCodes ?? 0)
    }
    expect(largest).toBeLessThan(bound)
  })

  it("still answers a reused hyperid code by revoking what it issued, until the code expires", async () => {
    const redirectUri = "http://127.0.0.1:8976/callback/x"
    const url = `${emulator.origins.hyperid}${hyperidRealmPath}/auth?${new URLSearchParams({
      response_type: "code",
      client_id: defaultHyperIdClient.clientId,
      redirect_uri: redirectUri,
    })}`
    const exchange = (code: string) =>
      form(`${emulator.origins.hyperid}${hyperidRealmPath}/token`, {
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        client_id: defaultHyperIdClient.clientId,
        client_secret: defaultHyperIdClient.clientSecret,
      }).then((r) => r.json() as Promise<{ access_token?: string; error?: string; error_description?: string }>)
    const codeOf = () => new URL(emulator.hyperid.authorize(url)).searchParams.get("code") ?? ""
    const reused = codeOf()
    const { access_token } = await exchange(reused)
    for (let i = 0; i < 1_000; i++) codeOf() // sweeps, within the code's minute
    expect(await exchange(reused)).toMatchObject({ error: "invalid_grant", error_description: "Code already used" })
    expect(emulator.tokens.valid(access_token, "access", "hyperid")).toBeUndefined()
    const late = codeOf()
    await exchange(late)
    emulator.clock.advance(61)
    for (let i = 0; i < 1_000; i++) codeOf()
    expect(await exchange(late)).toMatchObject({ error: "invalid_grant", error_description: "Code not valid" })
  })
})

describe("request log", () => {
  it("keeps the newest requests and counts every one exactly", async () => {
    const health = { origin: "hyperid", path: "/health" } as const
    const before = { health: emulator.count(health), all: emulator.count({}) }
    await inParallel(3_000, 20, () => fetch(`${emulator.origins.hyperid}/health`).then((r) => r.arrayBuffer()))
    expect(emulator.count(health)).toBe(before.health + 3_000)
    expect(emulator.count({ ...health, status: 200 })).toBe(before.health + 3_000)
    expect(emulator.count({})).toBe(before.all + 3_000)
    expect(emulator.requests.length).toBeGreaterThanOrEqual(1_000)
    expect(emulator.requests.length).toBeLessThanOrEqual(1_250)
    expect(emulator.requests.at(-1)).toMatchObject({ ...health, method: "GET", status: 200 })
  })

  it("counts requests to ever new paths without keeping a counter per path", async () => {
    const before = {
      notFound: emulator.count({ origin: "hyper", status: 404 }),
      health: emulator.count({ path: "/health" }),
    }
    await inParallel(3_000, 20, (i) => fetch(`${emulator.origins.hyper}/nowhere/${i}`).then((r) => r.arrayBuffer()))
    await fetch(`${emulator.origins.hyper}/health`).then((r) => r.arrayBuffer())
    expect(emulator.count({ origin: "hyper", status: 404 })).toBe(before.notFound + 3_000)
    expect(emulator.count({ path: "/health" })).toBe(before.health + 1)
    expect(emulator.count({ path: "/nowhere/2999" })).toBeLessThanOrEqual(1)
    expect(retained(emulator).requestCounts ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(1_100)
  })
})

describe("request log past its cap on other paths", () => {
  it("keeps counting by path the kinds it counted by path before the cap", async () => {
    const fresh = await start()
    try {
      const me = { origin: "hyper", path: "/v1/me" } as const
      const stale = { headers: { authorization: "Bearer hyper_at_stale" } }
      await fetch(`${fresh.origins.hyper}/v1/me`, stale).then((r) => r.arrayBuffer())
      expect(fresh.count(me)).toBe(1)
      await inParallel(1_200, 20, (i) => fetch(`${fresh.origins.hyper}/nowhere/${i}`).then((r) => r.arrayBuffer()))
      await fetch(`${fresh.origins.hyper}/v1/me`, stale).then((r) => r.arrayBuffer())
      // The same kind of request (GET /v1/me, 401 invalid_token) was among the first counted by path.
      expect(fresh.count(me)).toBe(2)
      expect(fresh.count({ ...me, status: 401, error: "invalid_token" })).toBe(2)
      expect(retained(fresh).requestCounts ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(1_100)
    } finally {
      await fresh.close()
    }
  })
})

describe("the clock", () => {
  it("only moves forward, so that what was forgotten as expired could not have come back", async () => {
    const fresh = await start()
    try {
      const introspect = (token: string) =>
        form(`${fresh.origins.hyperid}${hyperidRealmPath}/token/introspect`, {
          token_type_hint: "access_token",
          token,
          client_id: defaultHyperIdClient.clientId,
          client_secret: defaultHyperIdClient.clientSecret,
        }).then((r) => r.json() as Promise<{ active: boolean }>)
      const swept = fresh.tokens.issue("access", { ...issueOptions, provider: "hyperid", lifetime: 60 })
      fresh.clock.advance(61)
      for (let i = 0; i < 1_000; i++) fresh.tokens.issue("access", { ...issueOptions, lifetime: 0 })
      const kept = fresh.tokens.issue("access", { ...issueOptions, provider: "hyperid", lifetime: -1 })
      for (const back of [-61, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
        expect(() => fresh.clock.advance(back)).toThrow(RangeError)
      }
      // Both expired: one forgotten by a sweep, one still held; neither is active again.
      expect(await introspect(swept.value)).toEqual({ active: false })
      expect(await introspect(kept.value)).toEqual({ active: false })
      fresh.clock.advance(0)
    } finally {
      await fresh.close()
    }
  })

  it("does not go back when the system clock is stepped back (an NTP correction)", () => {
    const clock = new Clock()
    const before = clock.now()
    const wall = Date.now
    try {
      Date.now = () => wall() - 3_600_000
      expect(clock.now()).toBeGreaterThanOrEqual(before)
    } finally {
      Date.now = wall
    }
  })
})

describe("answers once a login has ended and been forgotten", () => {
  it("hyperid: a reused code, a logout and a reused rotated refresh token each end the login; what it issued stays refused", async () => {
    const fresh = await start({ hyperid: { rotateRefreshTokens: true } })
    try {
      const realm = `${fresh.origins.hyperid}${hyperidRealmPath}`
      const client = { client_id: defaultHyperIdClient.clientId, client_secret: defaultHyperIdClient.clientSecret }
      const redirectUri = "http://127.0.0.1:8976/callback/x"
      const authorizationUrl = `${realm}/auth?${new URLSearchParams({
        response_type: "code",
        client_id: client.client_id,
        redirect_uri: redirectUri,
      })}`
      type Answer = { status: number; body: Record<string, unknown> }
      const post = async (path: string, body: Record<string, string>): Promise<Answer> => {
        const response = await form(`${realm}${path}`, { ...client, ...body })
        return {
          status: response.status,
          body: response.status === 204 ? {} : ((await response.json()) as Record<string, unknown>),
        }
      }
      const login = async () => {
        const code = new URL(fresh.hyperid.authorize(authorizationUrl)).searchParams.get("code") ?? ""
        const { body } = await post("/token", { grant_type: "authorization_code", code, redirect_uri: redirectUri })
        return { code, access: String(body.access_token), refresh: String(body.refresh_token) }
      }
      const refresh = (token: string) => post("/token", { grant_type: "refresh_token", refresh_token: token })
      const active = async (token: string) =>
        (await post("/token/introspect", { token_type_hint: "access_token", token })).body.active
      const invalidGrant = { status: 400, body: expect.objectContaining({ error: "invalid_grant" }) }

      const reused = await login()
      const renewed = await refresh(reused.refresh)
      expect(
        await post("/token", { grant_type: "authorization_code", code: reused.code, redirect_uri: redirectUri }),
      ).toMatchObject(invalidGrant)
      expect(await active(reused.access)).toBe(false)
      expect(await active(String(renewed.body.access_token))).toBe(false)
      expect(await refresh(String(renewed.body.refresh_token))).toMatchObject(invalidGrant)

      const loggedOut = await login()
      expect((await post("/logout", { refresh_token: loggedOut.refresh })).status).toBe(204)
      expect(await refresh(loggedOut.refresh)).toMatchObject(invalidGrant)
      expect(await active(loggedOut.access)).toBe(false)
      expect((await post("/logout", { refresh_token: loggedOut.refresh })).status).toBe(400)

      const stolen = await login()
      const next = await refresh(stolen.refresh)
      const reusedBefore = fresh.tokens.reusedRefreshTokens
      expect(await refresh(stolen.refresh)).toMatchObject(invalidGrant)
      expect(fresh.tokens.reusedRefreshTokens).toBe(reusedBefore + 1)
      expect(await refresh(String(next.body.refresh_token))).toMatchObject(invalidGrant)
      expect(await active(String(next.body.access_token))).toBe(false)
      expect(await refresh(stolen.refresh)).toMatchObject(invalidGrant)
      expect(fresh.tokens.reusedRefreshTokens).toBe(reusedBefore + 1)
    } finally {
      await fresh.close()
    }
  })

  it("hyperline: revoking an unknown or already revoked token is 200 (RFC 7009 §2.2)", async () => {
    const json = (body: Record<string, string>) =>
      fetch(`${emulator.origins.hyperline}/v1/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          ...body,
          client_id: defaultHyperlineClient.clientId,
          client_secret: defaultHyperlineClient.clientSecret,
        }),
      })
    expect((await json({ token: "hyperline_rt_never-issued" })).status).toBe(200)
  })
})
