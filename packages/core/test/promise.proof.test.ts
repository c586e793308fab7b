/**
 * `@hyperauth/core/promise` asked for the answer of a one-time grant by a
 * caller that holds the grant but not what the provider checks with it: an
 * authorization code (read off a leaked redirect URL) without the login's
 * PKCE verifier, or with another client's credentials. The calls that share
 * a presentation, and the answers kept after an abort, must be the same
 * presentation's only: the provider would have refused this one. Against
 * the emulator over loopback, its answers held back (`answerLatencyMs`).
 */
import { hyperidRealmPath } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { hyperid } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { expectNoSecrets, rejection } from "./support/promise.js"

const emulator = useEmulator({ hyperid: { rotateRefreshTokens: true } })
const saved = { ...process.env }

beforeEach(() => {
  Object.assign(process.env, emulator.current.env)
})
afterEach(() => {
  process.env = { ...saved }
})

const hyperidToken = `${hyperidRealmPath}/token`
const exchanges = () => emulator.current.count({ origin: "hyperid", path: hyperidToken })
/** A verifier of the right shape (RFC 7636 §4.1), not the login's. */
const forged = "f".repeat(64)

/** Waits in real time until `condition` holds, 10 s at most. */
const until = async (condition: () => boolean): Promise<void> => {
  for (let tries = 0; tries < 2_000; tries++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error("the condition did not hold within 10 s")
}

/** The token is the login's and the login lives: introspected active, and refreshed. */
const lives = async (token: hyperid.LoginToken) => {
  expect((await hyperid.introspectToken(token)).active).toBe(true)
  await expect(hyperid.refresh(token)).resolves.toMatchObject({ tokenType: "Bearer" })
}

describe("@hyperauth/core/promise, a grant presented without its proof", () => {
  it("a completion with the code but another verifier, while the login's own is on its way, gets nothing", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperid", path: hyperidToken, answerLatencyMs: 300, times: 1 })
    const before = exchanges()
    const owner = hyperid.completeLogin(login, landed)
    await until(() => exchanges() > before)
    const attacker = await rejection(hyperid.completeLogin({ ...login, codeVerifier: forged }, landed))
    expect(attacker.code).toBe("invalid_input")
    expect(attacker.token).toBeUndefined()
    expectNoSecrets(attacker, [login.codeVerifier, forged])
    // Not sent either: the code was on its way already, and a second presentation would end the login.
    expect(exchanges() - before).toBe(1)
    await lives(await owner)
  })

  it("an answer kept after an abort is not handed to a completion with another verifier; the login's own gets it", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperid", path: hyperidToken, answerLatencyMs: 1_500, times: 1 })
    const before = exchanges()
    const controller = new AbortController()
    const aborted = hyperid.completeLogin(login, landed, { signal: controller.signal })
    await until(() => exchanges() > before)
    controller.abort(new Error("the user navigated away"))
    await expect(aborted).rejects.toThrow("the user navigated away")
    // Past the held-back answer: it is kept for the login's own completion now.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const attacker = await rejection(hyperid.completeLogin({ ...login, codeVerifier: forged }, landed))
    expect(attacker.code).toBe("invalid_input")
    expect(attacker.token).toBeUndefined()
    expectNoSecrets(attacker, [login.codeVerifier, forged])
    expect(exchanges() - before).toBe(1)
    await lives(await hyperid.completeLogin(login, landed))
  })

  it("nor shared with a completion under other client credentials while the login's own is on its way", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperid", path: hyperidToken, answerLatencyMs: 300, times: 1 })
    const before = exchanges()
    const owner = hyperid.completeLogin(login, landed)
    await until(() => exchanges() > before)
    // Settings are read at each call: this one authenticates as nobody the code was issued to.
    process.env.HYPERID_CLIENT_SECRET = "not-the-client-secret"
    const other = await rejection(hyperid.completeLogin(login, landed))
    expect(other.code).toBe("invalid_input")
    expect(other.token).toBeUndefined()
    Object.assign(process.env, emulator.current.env)
    await lives(await owner)
  })
})
