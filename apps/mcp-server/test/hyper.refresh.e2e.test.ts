/**
 * A hyper whose device logins bring refresh tokens (RFC 8628 §3.5 answers
 * as RFC 6749 §5.1; the seed documents none): over real stdio with the
 * SDK's Client, refresh_token and call_api's 401 renew the login with its
 * refresh token, as for any other provider.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.05, refreshTokens: true, rotateRefreshTokens: true } })
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  })
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

it("refresh_token renews a hyper login with its refresh token, and call_api's 401 does too", async () => {
  const pending = structured(await session.call("login", { provider: "hyper" }))
  emulator.hyper.approve(String(pending.user_code))
  structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 10 }))
  expect(structured(await session.call("get_token", { provider: "hyper" })).has_refresh_token).toBe(true)

  const refreshed = structured(await session.call("refresh_token", { provider: "hyper" }))
  expect(refreshed.status).toBe("authenticated")
  expect(emulator.tokens.refreshes.get("hyper")).toBe(1)

  emulator.tokens.expire({ provider: "hyper" })
  const answered = await session.call("call_api", { provider: "hyper", method: "GET", path: "/v1/me" })
  expect(errorCode(answered)).toBeUndefined()
  expect(structured(answered).status).toBe(200)
  expect(emulator.tokens.refreshes.get("hyper")).toBe(2)
  // Each refresh token was spent once: strict rotation saw no reuse.
  expect(emulator.tokens.reusedRefreshTokens).toBe(0)
})
