/**
 * `@hyperauth/core/promise` aborted at the worst moment: the provider has
 * acted on a one-time grant (a code redeemed, a refresh token rotated, a
 * device code redeemed) and its answer is on the way. The grant is spent
 * either way, so dropping the answer loses the login. Against the emulator
 * over loopback, its answers held back after the fact (`answerLatencyMs`).
 */
import { defaultHyperClient, hyperidRealmPath } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { hyperid, hyperline, initiateDeviceFlow, introspectToken, pollForToken } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { unchecked } from "./support/promise.js"

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

const hyperidToken = `${hyperidRealmPath}/token`
const hyperlineToken = "/v1/oauth/tokens"

/** Waits in real time until `condition` holds, 10 s at most. */
const until = async (condition: () => boolean): Promise<void> => {
  for (let tries = 0; tries < 2_000; tries++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error("the condition did not hold within 10 s")
}

/**
 * Starts `call` with a signal, and aborts it once one more request reached
 * `path`, while the provider's answer is held back: the grant is spent by
 * then.
 */
const abortedInFlight = async <A>(
  origin: "hyper" | "hyperid" | "hyperline",
  path: string,
  call: (signal: AbortSignal) => Promise<A>,
): Promise<A> => {
  emulator.current.faults.inject({ origin, path, answerLatencyMs: 300, times: 1 })
  const before = emulator.current.count({ origin, path })
  const controller = new AbortController()
  const pending = call(controller.signal)
  await until(() => emulator.current.count({ origin, path }) > before)
  controller.abort(new Error("the user navigated away"))
  return pending
}

describe("@hyperauth/core/promise, aborted once the provider acted", () => {
  it("hyperid.completeLogin: the code is redeemed, so the call resolves with its token", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    const token = await abortedInFlight("hyperid", hyperidToken, (signal) =>
      hyperid.completeLogin(login, landed, { signal }),
    )
    expect((await hyperid.introspectToken(token)).active).toBe(true)
    await expect(hyperid.refresh(token)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("hyperline.refresh under rotation: the old refresh token is spent, so the call resolves with the new one", async () => {
    const login = await hyperline.authorizationUrl()
    const first = await hyperline.completeLogin(login, emulator.current.hyperline.authorize(login.url))
    const renewed = await abortedInFlight("hyperline", hyperlineToken, (signal) => hyperline.refresh(first, { signal }))
    expect(renewed.refreshToken).not.toBe(first.refreshToken)
    expect((await hyperline.fetch(renewed, "/v1/companies")).status).toBe(200)
    await expect(hyperline.refresh(renewed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("pollForToken: the approved device code is redeemed, so the call resolves with its token", async () => {
    const deviceCode = await initiateDeviceFlow()
    emulator.current.hyper.approve(deviceCode.user_code)
    const token = await abortedInFlight("hyper", "/oauth/token", (signal) =>
      pollForToken(deviceCode, undefined, { signal }),
    )
    expect((await introspectToken(token)).active).toBe(true)
  })

  it("a grant that fails within the abort's grace rejects with the abort's reason: only issued tokens outrank the abort", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    // On its way for 300 ms, then refused: nothing was issued.
    emulator.current.faults.inject({
      origin: "hyperid",
      path: hyperidToken,
      latencyMs: 300,
      status: 400,
      body: { error: "invalid_grant", error_description: "Code not valid" },
      times: 1,
    })
    const reason = new Error("the user navigated away")
    const before = emulator.current.count({ origin: "hyperid", path: hyperidToken })
    const controller = new AbortController()
    const completing = hyperid.completeLogin(login, landed, { signal: controller.signal })
    await until(() => emulator.current.count({ origin: "hyperid", path: hyperidToken }) > before)
    controller.abort(reason)
    await expect(completing).rejects.toBe(reason)
    // The same with a device code the user refuses while its poll is on its way.
    const deviceCode = await initiateDeviceFlow()
    emulator.current.hyper.deny(deviceCode.user_code)
    const polling = abortedInFlight("hyper", "/oauth/token", (signal) =>
      pollForToken(deviceCode, undefined, { signal }),
    )
    await expect(polling).rejects.toThrow("the user navigated away")
  })

  it("a polyfilled signal that fires abort twice (ignoring once) still waits out the grace for the tokens", async () => {
    // A polyfill that keeps its listeners after firing, and fires again on a second abort().
    const listeners = new Set<() => void>()
    const state = { aborted: false, reason: undefined as unknown }
    const signal = unchecked({
      get aborted() {
        return state.aborted
      },
      get reason() {
        return state.reason
      },
      addEventListener: (_type: string, listener: () => void) => listeners.add(listener),
      removeEventListener: (_type: string, listener: () => void) => listeners.delete(listener),
    })
    const fire = (reason: unknown) => {
      state.aborted = true
      state.reason = reason
      for (const listener of [...listeners]) listener()
    }
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperid", path: hyperidToken, answerLatencyMs: 300, times: 1 })
    const before = emulator.current.count({ origin: "hyperid", path: hyperidToken })
    const completing = hyperid.completeLogin(login, landed, { signal })
    await until(() => emulator.current.count({ origin: "hyperid", path: hyperidToken }) > before)
    fire(new Error("the user navigated away"))
    fire(new Error("and again"))
    const token = await completing
    expect((await hyperid.introspectToken(token)).active).toBe(true)
  })

  it("a 503 to the code exchange is not answered by sending the code again; a later completion redeems it", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    // Answered 503 with nothing done: the code is unspent, but only the provider knows that.
    emulator.current.faults.inject({
      origin: "hyperid",
      path: hyperidToken,
      status: 503,
      headers: { "retry-after": "5" },
      times: 1,
    })
    const before = emulator.current.count({ origin: "hyperid", path: hyperidToken })
    await expect(hyperid.completeLogin(login, landed)).rejects.toMatchObject({ code: "http_error" })
    expect(emulator.current.count({ origin: "hyperid", path: hyperidToken }) - before).toBe(1)
    await expect(hyperid.completeLogin(login, landed)).resolves.toMatchObject({ tokenType: "Bearer" })
  })

  it("a caller that aborts while others wait for the same grant leaves at once; they get the token", async () => {
    const login = await hyperline.authorizationUrl()
    const landed = emulator.current.hyperline.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperline", path: hyperlineToken, answerLatencyMs: 300, times: 1 })
    const controller = new AbortController()
    const leaving = hyperline.completeLogin(login, landed, { signal: controller.signal })
    const staying = hyperline.completeLogin(login, landed)
    controller.abort(new Error("this tab was closed"))
    await expect(leaving).rejects.toThrow("this tab was closed")
    expect((await hyperline.fetch(await staying, "/v1/companies")).status).toBe(200)
  })

  it("an answer that comes after the abort's grace is kept: the same completion again resolves with it, sending nothing", async () => {
    const login = await hyperid.authorizationUrl({ scope: "openid" })
    const landed = emulator.current.hyperid.authorize(login.url)
    emulator.current.faults.inject({ origin: "hyperid", path: hyperidToken, answerLatencyMs: 2_500, times: 1 })
    const before = emulator.current.count({ origin: "hyperid", path: hyperidToken })
    const controller = new AbortController()
    const completing = hyperid.completeLogin(login, landed, { signal: controller.signal })
    await until(() => emulator.current.count({ origin: "hyperid", path: hyperidToken }) > before)
    const abortedAt = Date.now()
    controller.abort(new Error("the user navigated away"))
    // Rejected after the grace (a second), not the provider's 2.5 s.
    await expect(completing).rejects.toThrow("the user navigated away")
    expect(Date.now() - abortedAt).toBeLessThan(2_000)
    // A reloaded callback page: the code is spent, and its tokens were kept for it.
    const token = await hyperid.completeLogin(login, landed)
    expect(emulator.current.count({ origin: "hyperid", path: hyperidToken }) - before).toBe(1)
    expect((await hyperid.introspectToken(token)).active).toBe(true)
    await expect(hyperid.refresh(token)).resolves.toMatchObject({ tokenType: "Bearer" })
  })
})
