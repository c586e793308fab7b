/**
 * A client that goes away while answers are being written: the server's
 * writes to stdout fail (EPIPE). It must stop as it stops at the end of
 * stdin, storing what the provider has just issued, not crash.
 */
import { hyperidRealmPath, start } from "@hyperauth/emulator"
import { expect, it } from "vitest"
import { connect, emulatorEnv, structured, tempStore } from "./support/harness.js"
import { rawSession } from "./support/raw.js"

const call = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
})
const structuredOf = (message: Record<string, unknown>) =>
  (message.result as { structuredContent?: Record<string, unknown> } | undefined)?.structuredContent ?? {}

it("a client gone mid-refresh (stdout closed, answers still to write): the server stops cleanly and keeps the rotated login", async () => {
  const rotating = await start({ hyperid: { rotateRefreshTokens: true } })
  try {
    const env = { ...emulatorEnv(rotating), HYPERAUTH_STORE: await tempStore(), HYPERAUTH_STORE_KEY: "gone-key" }
    const a = await rawSession(env)
    await a.send(call(1, "login", { provider: "hyperid", account: "gone" }))
    const pending = structuredOf(await a.answer(1))
    const redirect = rotating.hyperid.authorize(String(pending.authorization_url))
    await a.send(call(2, "complete_login", { login_id: pending.login_id, redirect_url: redirect }))
    expect(structuredOf(await a.answer(2)).status).toBe("authenticated")

    const refreshes = () => rotating.tokens.refreshes.get("hyperid") ?? 0
    const before = refreshes()
    rotating.faults.inject({ origin: "hyperid", path: `${hyperidRealmPath}/token`, answerLatencyMs: 800, times: 1 })
    await a.send(call(3, "refresh_token", { provider: "hyperid", account: "gone" }))
    // Spent at the provider, its answer still on the way; the client stops reading and asks for more.
    await a.until(() => refreshes() > before)
    a.stopReading()
    for (let id = 10; id < 30; id++) await a.send({ jsonrpc: "2.0", id, method: "tools/list" })
    await a.until(() => a.exit() !== undefined, 10_000)
    expect(a.stderr()).not.toMatch(/Unhandled 'error' event|\n\s+at /)
    expect(a.stderr()).toContain("stdout failed (EPIPE): the client has gone")
    expect(a.exit()?.code).toBe(0)

    const b = await connect(env)
    try {
      const refreshed = await b.call("refresh_token", { provider: "hyperid", account: "gone" })
      expect(structured(refreshed)).toMatchObject({ status: "authenticated" })
    } finally {
      await b.close()
    }
  } finally {
    await rotating.close()
  }
})
