/**
 * A device login survives a poll slower than the time limit: the built
 * server over real stdio against the emulator, with a half-second
 * `HYPERAUTH_HTTP_TIMEOUT` so that the slow poll costs little real time.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, type Session, structured, tempStore, textOf } from "./support/harness.js"

let emulator: Emulator
let session: Session

const tokenPolls = () => emulator.count({ origin: "hyper", path: "/oauth/token" })

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: await tempStore(),
    HYPERAUTH_HTTP_TIMEOUT: "0.5",
  })
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

describe("hyper device login under a slow poll", () => {
  it("a poll past the time limit does not end the login: polling backs off and completes after approval", async () => {
    emulator.faults.inject({ origin: "hyper", path: "/oauth/token", latencyMs: 5_000, times: 1 })
    const pending = structured(await session.call("login", { provider: "hyper" }))
    expect(pending).toMatchObject({ status: "pending", interval: 1 })

    // The user approves while the first poll hangs; it times out, and the next poll collects the token.
    while (tokenPolls() === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(emulator.hyper.approve(String(pending.user_code))).toBe(true)
    const done = structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 15 }))
    expect(done).toMatchObject({ status: "authenticated", provider: "hyper" })
    expect(tokenPolls()).toBe(2)
    expect(emulator.count({ origin: "hyper", path: "/oauth/token", error: "slow_down" })).toBe(0)
  }, 20_000)
})

describe("logout while a device login waits", () => {
  it("ends the waiting login too: its poller stops, and an approval afterwards logs nobody back in", async () => {
    const account = "leaving"
    const pending = structured(await session.call("login", { provider: "hyper", account }))
    expect(pending.status).toBe("pending")
    expect(structured(await session.call("logout", { provider: "hyper", account })).removed).toBe(false)
    const ended = await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 0 })
    expect(errorCode(ended)).toBe("unknown_login")
    expect(textOf(ended)).toContain("logout")

    const polls = tokenPolls()
    emulator.hyper.approve(String(pending.user_code))
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect(tokenPolls()).toBe(polls)
    expect(errorCode(await session.call("get_token", { provider: "hyper", account }))).toBe("not_logged_in")
  }, 20_000)
})
