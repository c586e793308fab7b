/**
 * Two servers on one token store with other provider settings (production
 * and a sandbox: other base URLs), over real stdio: a login belongs to the
 * settings that made it. The other server sends none of its tokens or codes
 * to its own origins, and nothing it is told there ends the login.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, type Session, structured, tempStore, textOf } from "./support/harness.js"

let production: Emulator
let sandbox: Emulator
let here: Session
let there: Session
/** A server on the store that configures only hyperproof. */
let bare: Session

beforeAll(async () => {
  production = await start({ hyper: { interval: 0.2 } })
  sandbox = await start({ hyper: { interval: 0.2 } })
  const store = { HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "one store, two settings" }
  here = await connect({ ...emulatorEnv(production), ...store })
  there = await connect({ ...emulatorEnv(sandbox), ...store })
  const hyperproofOnly = Object.entries(emulatorEnv(sandbox)).filter(([name]) => name.startsWith("HYPERPROOF_"))
  bare = await connect({ ...Object.fromEntries(hyperproofOnly), ...store })
}, 30_000)

afterAll(async () => {
  await here?.close()
  await there?.close()
  await bare?.close()
  await production?.close()
  await sandbox?.close()
})

describe("a server that does not configure the provider", () => {
  it("is not_configured for logout: it neither removes the login nor ends one waiting", async () => {
    const pending = structured(await here.call("login", { provider: "hyperline", account: "kept" }))
    const landed = production.hyperline.authorize(String(pending.authorization_url))
    await here.call("complete_login", { login_id: pending.login_id, redirect_url: landed })
    const waiting = structured(await here.call("login", { provider: "hyper", account: "kept" }))

    for (const provider of ["hyperline", "hyper"]) {
      expect(errorCode(await bare.call("logout", { provider, account: "kept" }))).toBe("not_configured")
    }
    expect(structured(await here.call("get_token", { provider: "hyperline", account: "kept" })).status).toBe(
      "authenticated",
    )
    production.hyper.approve(String(waiting.user_code))
    expect(
      structured(await here.call("complete_login", { login_id: waiting.login_id, wait_seconds: 10 })),
    ).toMatchObject({ status: "authenticated" })
  })
})

describe("a login made with other settings on the same store", () => {
  it("is not used, refreshed or revoked there, and stays the other server's", async () => {
    const pending = structured(await here.call("login", { provider: "hyperline", account: "work" }))
    const landed = production.hyperline.authorize(String(pending.authorization_url))
    expect(
      structured(await here.call("complete_login", { login_id: pending.login_id, redirect_url: landed })),
    ).toMatchObject({
      status: "authenticated",
    })

    const before = sandbox.count({})
    const refused = await there.call("call_api", {
      provider: "hyperline",
      account: "work",
      method: "GET",
      path: "/v1/companies",
    })
    expect(errorCode(refused)).toBe("not_logged_in")
    expect(textOf(refused)).toContain("other hyperline settings")
    expect(structured(await there.call("logout", { provider: "hyperline", account: "work" }))).toEqual({
      revoked: false,
      removed: false,
    })
    expect(sandbox.count({}) - before).toBe(0)
    const listed = structured(await there.call("list_providers"))
    const hyperline = (listed.providers as Array<{ id: string; accounts: Array<unknown> }>).find(
      (p) => p.id === "hyperline",
    )
    expect(hyperline?.accounts).toEqual([])

    const still = structured(
      await here.call("call_api", { provider: "hyperline", account: "work", method: "GET", path: "/v1/companies" }),
    )
    expect(still.status).toBe(200)
  })

  it("a device login started with other settings is not polled there, and finishes where it started", async () => {
    const pending = structured(await here.call("login", { provider: "hyper", account: "tv" }))
    const polls = () => sandbox.count({ origin: "hyper", path: "/oauth/token" })
    const before = polls()
    const refused = await there.call("complete_login", { login_id: pending.login_id, wait_seconds: 1 })
    expect(errorCode(refused)).toBe("unknown_login")
    expect(textOf(refused)).toContain("other hyper settings")
    expect(polls() - before).toBe(0)

    production.hyper.approve(String(pending.user_code))
    expect(
      structured(await here.call("complete_login", { login_id: pending.login_id, wait_seconds: 10 })),
    ).toMatchObject({
      status: "authenticated",
    })
    expect(polls() - before).toBe(0)
  })
})
