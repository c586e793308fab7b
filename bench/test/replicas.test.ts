/**
 * Replicas sharing one store, at a size that runs in seconds (`pnpm bench`
 * runs it at full size): real `hyperauth-mcp` processes, a provider that
 * revokes the login on any reused refresh token, and the lease holder
 * killed with SIGKILL in the middle of a refresh.
 */
import { redisAvailable } from "@hyperauth/emulator/redis-server"
import { describe, expect, it } from "vitest"
import { replicaStress } from "../src/replicas.js"

const runs = [
  ["file", "provider", true],
  ["file", "clock", true],
  ["redis", "provider", redisAvailable()],
  ["redis", "clock", redisAvailable()],
] as const

for (const [store, expiry, available] of runs) {
  describe.skipIf(!available)(
    `replicas on one ${store} store, expiry ${expiry === "clock" ? "by clock" : "by 401"}`,
    () => {
      it("spend no refresh token twice, lose no login, fail no call, and refresh once per expiry, through a SIGKILL", async () => {
        const result = await replicaStress({ store, expiry, replicas: 3, expiries: 4, callers: 6, killAtExpiry: 3 })
        expect(result.failures).toEqual([])
        expect(result.reusedRefreshTokens).toBe(0)
        expect(result.loginKept).toBe(true)
        expect(result.refreshes).toBe(result.expiries)
        // The killed holder's process is gone from this host: its lease is taken over at once, not at expiry.
        expect(result.stallAfterKillMs).toBeDefined()
        expect(result.stallAfterKillMs).toBeLessThan(15_000)
      }, 120_000)
    },
  )
}
