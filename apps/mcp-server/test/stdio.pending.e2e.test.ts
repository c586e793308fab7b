/**
 * Past maxPendingRequests over real stdio, with the SDK's Client: calls
 * that wait for the user (complete_login) fill the count, and the client's
 * cancellations must still reach the server, which then serves on at once.
 */
import { setMaxListeners } from "node:events"
import { type Emulator, start } from "@hyperauth/emulator"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { maxPendingRequests } from "../src/stdio.js"
import { connect, emulatorEnv, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session

beforeAll(async () => {
  emulator = await start({ hyper: { interval: 0.2 } })
  session = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: "memory" })
})

afterAll(async () => {
  await session?.close()
  await emulator?.close()
})

describe("stdio past maxPendingRequests", () => {
  it("reads the cancellations of waiting calls, serves on at once, and concurrent calls with progress finish", async () => {
    const pending = structured(await session.call("login", { provider: "hyper", scope: "read" }))
    const controller = new AbortController()
    // One signal for every call: the SDK's Client listens on it once per call.
    setMaxListeners(maxPendingRequests + 50, controller.signal)
    const waits = Array.from({ length: maxPendingRequests + 50 }, () =>
      session.client
        .callTool({ name: "complete_login", arguments: { login_id: pending.login_id, wait_seconds: 30 } }, undefined, {
          signal: controller.signal,
          onprogress: () => undefined,
        })
        .then(
          () => "answered",
          () => "cancelled",
        ),
    )
    await new Promise((resolve) => setTimeout(resolve, 1500))
    controller.abort()
    expect(new Set(await Promise.all(waits))).toEqual(new Set(["cancelled"]))
    // Answered at once, not once the 30 s waits ran out.
    const before = Date.now()
    await session.client.ping()
    expect(Date.now() - before).toBeLessThan(2000)
    // Many concurrent calls with progress, and the login finishing meanwhile.
    const progress: Array<number> = []
    const calls = Array.from({ length: 2 * maxPendingRequests }, () =>
      session.client.callTool(
        { name: "complete_login", arguments: { login_id: pending.login_id, wait_seconds: 10 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      ),
    )
    setTimeout(() => emulator.hyper.approve(String(pending.user_code)), 1500)
    const done = (await Promise.all(calls)) as Array<CallToolResult>
    expect(done.filter((r) => structured(r).status === "authenticated").length).toBeGreaterThan(0)
    expect(done.every((r) => !r.isError || /unknown_login/.test(JSON.stringify(r)))).toBe(true)
    expect(progress.length).toBeGreaterThan(0)
  })
})
