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

const label = { provider: "expiry by 401", clock: "expiry by clock", storm: "a refresh storm" } as const

for (const [store, expiry, available] of runs) {
  describe.skipIf(!available)(`replicas on one ${store} store, ${label[expiry]}`, () => {
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
  })
}

// Tokens issued inside the refresh margin: every call refreshes, one after the other under the lease.
// Before leases, this lost the login within seconds (a refresh token sent twice, invalid_grant).
for (const [store, available] of [
  ["file", true],
  ["redis", redisAvailable()],
] as const) {
  describe.skipIf(!available)(`replicas on one ${store} store, ${label.storm}`, () => {
    it("never send a refresh token twice and never lose the login", async () => {
      const result = await replicaStress({ store, expiry: "storm", replicas: 4, expiries: 2, callers: 10 })
      expect(result.failures).toEqual([])
      expect(result.reusedRefreshTokens).toBe(0)
      expect(result.loginKept).toBe(true)
      expect(result.refreshes).toBeGreaterThan(4)
    }, 120_000)
  })
}
