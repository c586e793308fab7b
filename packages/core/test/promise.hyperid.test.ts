/**
 * `@hyperauth/core/promise`'s hyperid, used as a web app would (a login kept
 * as JSON between redirect and callback), against the emulator over loopback.
 */
import { hyperidRealmPath } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { hyperid } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { expectNoSecrets, keptAsJson, rejection, untyped } from "./support/promise.js"

const emulator = useEmulator()
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  Object.assign(process.env, emulator.current.env)
})
afterEach(() => {
  process.env = { ...saved }
})

const tokenRequests = () => emulator.current.count({ origin: "hyperid", path: `${hyperidRealmPath}/token` })

/** A login started, kept as a session would keep it, and approved: the kept login and where the browser landed. */
const approvedLogin = async (options: hyperid.AuthorizationOptions = { scope: "openid email" }) => {
  const started = await hyperid.authorizationUrl(options)
  const kept = keptAsJson(started)
  return { login: kept, landed: emulator.current.hyperid.authorize(started.url) }
}

describe("@hyperauth/core/promise hyperid", () => {
  it("logs in (authorization URL → redirect → code exchange), introspects, refreshes and logs out", async () => {
    const started = await hyperid.authorizationUrl({ scope: "openid email", ui_locales: "de", login_hint: "ada" })
    const url = new URL(started.url)
    expect(`${url.origin}${url.pathname}`).toBe(`${emulator.current.origins.hyperid}${hyperidRealmPath}/auth`)
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      state: started.state,
      redirect_uri: started.redirectUri,
      ui_locales: "de",
      login_hint: "ada",
      code_challenge_method: "S256",
    })
    // Plain strings, and nothing else: what a session store keeps.
    expect(Object.keys(started).sort()).toEqual(["codeVerifier", "redirectUri", "state", "url"])
    expect(typeof started.codeVerifier).toBe("string")
    expect(started.redirectUri).toBe("http://127.0.0.1:8976/callback/hyperid")
    expect(tokenRequests()).toBe(0)

    const kept = keptAsJson(started)
    const token = await hyperid.completeLogin(kept, emulator.current.hyperid.authorize(started.url))
    expect(token.locale).toBe("de")
    expect(token.tokenType).toBe("Bearer")
    expect(typeof token.accessToken).toBe("string")
    expect(token.access_token).toBe(token.accessToken)
    expect(typeof token.refreshToken).toBe("string")
    expect(token.refresh_token).toBe(token.refreshToken)
    expect(token.expiresAt).toBeInstanceOf(Date)
    expect(token.expiresIn).toBeGreaterThan(0)

    const info = await hyperid.introspectToken(token.accessToken)
    expect(info).toMatchObject({ active: true, sub: "user_ada", email: "ada@example.com" })
    // The Token itself is taken too.
    expect((await hyperid.introspectToken(token)).active).toBe(true)

    const renewed = await hyperid.refresh(token)
    expect(renewed.accessToken).not.toBe(token.accessToken)
    expect(typeof renewed.refreshToken).toBe("string")
    expect((await hyperid.introspectToken(renewed.accessToken)).active).toBe(true)

    await hyperid.logout(renewed)
    expect((await hyperid.introspectToken(renewed.accessToken)).active).toBe(false)
    const refused = await rejection(hyperid.refresh(renewed))
    expect(refused).toMatchObject({
      name: "HyperauthError",
      code: "invalid_grant",
      error: "invalid_grant",
      status: 400,
    })
    expectNoSecrets(refused, [
      renewed.refreshToken,
      renewed.accessToken,
      token.refreshToken,
      emulator.current.env.HYPERID_CLIENT_SECRET,
    ])
  })

  it("a refresh token given as text refreshes, and a refresh answer without one keeps it", async () => {
    const { login, landed } = await approvedLogin()
    const token = await hyperid.completeLogin(login, landed)
    const renewed = await hyperid.refresh(token.refreshToken ?? "")
    expect(renewed.accessToken).not.toBe(token.accessToken)
    expect(typeof renewed.refreshToken).toBe("string")
  })

  it("an error the realm answers quotes no token or secret, even one that repeats them", async () => {
    const { login, landed } = await approvedLogin()
    const token = await hyperid.completeLogin(login, landed)
    const secret = emulator.current.env.HYPERID_CLIENT_SECRET
    emulator.current.faults.inject({
      origin: "hyperid",
      path: `${hyperidRealmPath}/token`,
      status: 400,
      body: {
        error: "invalid_grant",
        error_description: `refresh token ${token.refreshToken} of client secret ${secret} is not valid`,
      },
      times: 1,
    })
    const refused = await rejection(hyperid.refresh(token))
    expect(refused.code).toBe("invalid_grant")
    expectNoSecrets(refused, [token.refreshToken, secret])
    expectNoSecrets(new Error(refused.error_description), [token.refreshToken, secret])
  })

  it("an error's JSON says what happened and what to do next, and carries no token, secret or code verifier", async () => {
    const { login, landed } = await approvedLogin()
    const token = await hyperid.completeLogin(login, landed)
    const secret = emulator.current.env.HYPERID_CLIENT_SECRET
    const second = await approvedLogin()
    process.env.HYPERID_CLIENT_SECRET = "a-wrong-but-secret-value"
    for (const call of [() => hyperid.refresh(token), () => hyperid.completeLogin(second.login, second.landed)]) {
      const refused = await rejection(call())
      const json: unknown = JSON.parse(JSON.stringify(refused))
      // What an app that logs errors as JSON shows: the message is what says what to do next.
      expect(json).toMatchObject({
        name: "HyperauthError",
        code: "invalid_client",
        message: refused.message,
        provider: "hyperid",
        error: "invalid_client",
        status: 401,
      })
      expect(refused.message).toMatch(/^hyperid: .{20,}/)
      expectNoSecrets(refused, [
        token.accessToken,
        token.refreshToken,
        secret,
        process.env.HYPERID_CLIENT_SECRET,
        second.login.codeVerifier,
      ])
    }
  })

  it("a redirect of another login is state_mismatch, and its code is not sent", async () => {
    const first = await approvedLogin()
    const second = await approvedLogin()
    const before = tokenRequests()
    const refused = await rejection(hyperid.completeLogin(first.login, second.landed))
    expect(refused.code).toBe("state_mismatch")
    expect(tokenRequests()).toBe(before)
    // The login still finishes with its own redirect.
    await expect(hyperid.completeLogin(first.login, first.landed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("a redirect from another issuer is invalid_input, its code not sent; what the URL names is quoted on one short line", async () => {
    const { login, landed } = await approvedLogin()
    const before = tokenRequests()
    for (const iss of ["https://evil.example\nlevel=error msg=forged", `https://evil.example/${"x".repeat(100_000)}`]) {
      const forged = new URL(landed)
      forged.searchParams.set("iss", iss)
      const refused = await rejection(hyperid.completeLogin(login, forged.toString()))
      expect(refused.code).toBe("invalid_input")
      expect(refused.message).toContain("https://evil.example")
      expect(refused.message).not.toMatch(/[\r\n]/)
      expect(refused.message.length).toBeLessThan(1_000)
    }
    // Refused before its state is checked, so anyone's URL: the name it repeats is quoted on one line too.
    const repeated = await rejection(hyperid.completeLogin(login, `${landed}&x%0Alevel%3Derror=1&x%0Alevel%3Derror=2`))
    expect(repeated.code).toBe("invalid_input")
    expect(repeated.message).not.toMatch(/[\r\n]/)
    expect(tokenRequests()).toBe(before)
  })

  it("the user's refusal is access_denied", async () => {
    const started = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(started.url, "deny")
    await expect(hyperid.completeLogin(started, landed)).rejects.toMatchObject({ code: "access_denied" })
  })

  it("refuses before any request: bad KYC parameters, an unknown option, a login missing its verifier, no refresh token", async () => {
    const before = emulator.current.count({})
    const refusals = [
      hyperid.authorizationUrl({ scope: "openid email", verification_level: 2 }),
      // A JavaScript caller's typo: refused, not dropped.
      hyperid.authorizationUrl(untyped('{ "scope": "openid", "verification_lvl": 3 }')),
      hyperid.completeLogin(untyped('{ "state": "s", "redirectUri": "http://127.0.0.1:8976/callback/hyperid" }'), ""),
      hyperid.refresh({}),
      hyperid.logout({}),
      hyperid.introspectToken(""),
    ]
    for (const refused of refusals) {
      const error = await rejection(refused)
      expect(error.code).toBe("invalid_input")
      expect(error.message.length).toBeGreaterThan(20)
    }
    expect(emulator.current.count({})).toBe(before)
    const social = await hyperid.authorizationUrl({ scope: "openid twitter-check", verification_level: 2 })
    expect(social.url).toContain("verification_level=2")
  })

  it("a login lacking its verifier and no refresh token are refused saying nothing was sent, as every refusal before sending", async () => {
    const before = emulator.current.count({})
    for (const call of [
      () =>
        hyperid.completeLogin(untyped('{ "state": "s", "redirectUri": "http://127.0.0.1:8976/callback/hyperid" }'), ""),
      () => hyperid.refresh({}),
      () => hyperid.logout({}),
    ]) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/ Nothing was sent\.$/)
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("a JavaScript caller's wrong types reject with invalid_input, before anything is sent; null options are none", async () => {
    const { login, landed } = await approvedLogin()
    const before = emulator.current.count({})
    const refusals = [
      // As plain JavaScript would pass them (untyped: no types).
      () => hyperid.authorizationUrl(untyped('"openid email"')),
      () => hyperid.authorizationUrl(untyped('{ "scope": 5 }')),
      () => hyperid.authorizationUrl(untyped('{ "scope": "openid", "redirectUri": 8976 }')),
      () => hyperid.authorizationUrl(untyped('{ "signal": {} }')),
      () => hyperid.completeLogin(login, landed, untyped('{ "signal": "soon" }')),
      () => hyperid.refresh(untyped('{ "refreshToken": "r" }'), untyped('{ "signal": true }')),
    ]
    for (const call of refusals) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/^hyperid: .{20,}/)
    }
    expect(emulator.current.count({})).toBe(before)
    const started = await hyperid.authorizationUrl(untyped("null"))
    expect(started.redirectUri).toBe("http://127.0.0.1:8976/callback/hyperid")
    await expect(hyperid.completeLogin(login, landed, untyped("null"))).resolves.toMatchObject({
      tokenType: "Bearer",
    })
  })

  it("an empty refresh token is none: refresh and logout refuse it before sending", async () => {
    const before = emulator.current.count({})
    for (const call of [
      () => hyperid.refresh(""),
      () => hyperid.logout(""),
      () => hyperid.logout({ refreshToken: "" }),
    ]) {
      expect((await rejection(call())).code).toBe("invalid_input")
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("rejects with not_configured without HYPERID_CLIENT_SECRET", async () => {
    delete process.env.HYPERID_CLIENT_SECRET
    const refused = await rejection(hyperid.authorizationUrl())
    expect(refused.code).toBe("not_configured")
    expect(refused.message).toContain("HYPERID_CLIENT_SECRET")
  })

  it("an aborted signal sends nothing; one that aborts during a call stops it", async () => {
    const { login, landed } = await approvedLogin()
    const before = tokenRequests()
    const controller = new AbortController()
    controller.abort(new Error("the user left"))
    await expect(hyperid.completeLogin(login, landed, { signal: controller.signal })).rejects.toThrow("the user left")
    await expect(hyperid.authorizationUrl({ signal: controller.signal })).rejects.toThrow("the user left")
    expect(tokenRequests()).toBe(before)

    emulator.current.faults.inject({ origin: "hyperid", path: `${hyperidRealmPath}/token`, latencyMs: 5_000, times: 1 })
    const later = new AbortController()
    const started = Date.now()
    const exchange = hyperid.completeLogin(login, landed, { signal: later.signal })
    setTimeout(() => later.abort(new Error("cancelled")), 50)
    await expect(exchange).rejects.toThrow("cancelled")
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})
