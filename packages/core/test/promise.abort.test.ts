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
})
