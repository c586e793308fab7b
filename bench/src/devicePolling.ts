/**
 * hyper's device flow against an emulator that enforces the polling
 * interval (RFC 8628 §3.5): polls sent per approval, and `slow_down` answers.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Hyper } from "@hyperauth/core"
import { defaultHyperClient, start } from "@hyperauth/emulator"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"

const intervalSeconds = 1

export const devicePolling = async ({ approvals }: Scale): Promise<Section> => {
  const emulator = await start({ hyper: { interval: intervalSeconds } })
  const runtime = ManagedRuntime.make(FetchHttpClient.layer)
  const hyper = await runtime.runPromise(
    Hyper.make({ baseUrl: emulator.origins.hyper, clientId: defaultHyperClient.clientId }),
  )

  const login = async (approveAfter: number) => {
    const device = await runtime.runPromise(hyper.initiateDeviceFlow())
    const approval = setTimeout(() => emulator.hyper.approve(device.userCode), approveAfter * 1000)
    try {
      await runtime.runPromise(hyper.pollForToken(device))
    } finally {
      clearTimeout(approval)
    }
  }
  // All logins at once, as an agent with several pending logins would poll.
  const results = await Promise.allSettled(approvals.map(login))
  const polls = emulator.count({ origin: "hyper", path: "/oauth/token" })
  const slowDowns = emulator.count({ origin: "hyper", path: "/oauth/token", error: "slow_down" })
  await runtime.dispose()
  await emulator.close()

  // A client that waits exactly the interval polls at 1, 2, 3 ... s: the
  // first poll after the approval gets the token.
  const fewest = approvals.reduce((sum, at) => sum + Math.ceil(at / intervalSeconds), 0)
  return {
    title: "Device-flow polling",
    method: `${approvals.length} concurrent hyper device logins, interval ${intervalSeconds} s, approved by the user after ${approvals.join(", ")} s; the emulator answers \`slow_down\` to any poll that comes sooner than the interval.`,
    header: ["measure", "value"],
    rows: [
      [
        "logins approved and completed",
        `${results.filter((r) => r.status === "fulfilled").length} of ${approvals.length}`,
      ],
      ["token polls sent", String(polls)],
      ["fewest polls possible without a slow_down", String(fewest)],
      ["polls per approval", (polls / approvals.length).toFixed(1)],
      ["`slow_down` answers received", String(slowDowns)],
    ],
    checks: [
      { what: "every login completed", ok: results.every((r) => r.status === "fulfilled") },
      { what: "no `slow_down` answer", ok: slowDowns === 0 },
      { what: "no more polls than one per interval until the approval", ok: polls <= fewest },
    ],
  }
}
