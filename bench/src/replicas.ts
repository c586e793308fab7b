/**
 * Many `hyperauth-mcp` processes sharing one store (an encrypted file, or
 * one Redis), against a hyperid that rotates refresh tokens strictly and
 * revokes the whole login when one is reused. In waves, the access token
 * expires at the provider and every replica fires concurrent `call_api` and
 * `get_token` calls; in one wave the replica holding the account's lease is
 * killed with SIGKILL while its refresh waits at the provider.
 *
 * What must hold: no refresh token is ever sent twice, the login is never
 * lost, no surviving call fails, and each expiry costs exactly one refresh
 * across all replicas. The stall after the kill is reported.
 */
import { createHash } from "node:crypto"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Emulator, hyperidRealmPath, start } from "@hyperauth/emulator"
import { redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { createClient } from "@redis/client"
import { serverMain } from "./mcp.js"
import type { Section } from "./report.js"

export interface ReplicaOptions {
  readonly store: "file" | "redis"
  readonly replicas: number
  readonly waves: number
  /** Concurrent calls per replica per wave. */
  readonly callsPerWave: number
  /** Kill the lease holder during this wave (1-based); none when absent. */
  readonly killInWave?: number | undefined
  /**
   * How the token expires before each wave: `provider` revokes it at the
   * provider (the API answers 401, the replicas replace it), `clock` lets
   * it run into the 60 s refresh margin on every replica's own clock.
   */
  readonly expiry?: "provider" | "clock" | undefined
}

/** Under `clock` expiry, access tokens live this long: usable for 2 s before the 60 s margin. */
const clockLifetime = 62

export interface ReplicaResult {
  readonly options: ReplicaOptions
  readonly expiries: number
  readonly refreshes: number
  readonly reusedRefreshTokens: number
  /** Whether the login was still there, and usable, at the end. */
  readonly loginKept: boolean
  /** Calls of surviving replicas that failed, with their first error texts. */
  readonly failedCalls: number
  readonly failures: ReadonlyArray<string>
  readonly calls: number
  /** From the SIGKILL to the next refresh the provider answered, ms. */
  readonly stallAfterKillMs: number | undefined
  readonly wallMs: number
}

interface Replica {
  readonly client: Client
  readonly pid: number | undefined
  alive: boolean
}

const textOf = (result: CallToolResult) => result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")

const apiStatus = (result: CallToolResult): unknown => result.structuredContent?.status

const spawnReplica = async (env: Record<string, string>): Promise<Replica> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [serverMain],
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), ...env },
    stderr: "ignore",
  })
  const client = new Client({ name: "hyperauth-replicas", version: "0.0.0" })
  await client.connect(transport)
  return { client, pid: transport.pid ?? undefined, alive: true }
}

const call = async (replica: Replica, name: string, args: Record<string, unknown>) =>
  (await replica.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult

const login = async (emulator: Emulator, replica: Replica) => {
  const started = await call(replica, "login", { provider: "hyperid" })
  const pending = started.structuredContent as { login_id: string; authorization_url: string }
  const redirect = emulator.hyperid.authorize(pending.authorization_url)
  const done = await call(replica, "complete_login", { login_id: pending.login_id, redirect_url: redirect })
  if (done.isError === true) throw new Error(`login failed: ${textOf(done)}`)
}

const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting")
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export const replicaStress = async (options: ReplicaOptions): Promise<ReplicaResult> => {
  const byClock = options.expiry === "clock"
  const emulator = await start({
    hyperid: { rotateRefreshTokens: true, ...(byClock ? { tokenLifetime: clockLifetime } : {}) },
  })
  const dir = await mkdtemp(join(tmpdir(), "hyperauth-replicas-"))
  const redis = options.store === "redis" ? await startRedis() : undefined
  const storePath = join(dir, "tokens.json")
  const env = {
    ...emulator.env,
    HYPERAUTH_STORE: redis?.url ?? storePath,
    HYPERAUTH_STORE_KEY: "replica stress key",
  }
  const replicas = await Promise.all(Array.from({ length: options.replicas }, () => spawnReplica(env)))
  const admin = redis === undefined ? undefined : createClient({ url: redis.url })
  await admin?.connect()

  /** The pid that holds the account's lease, as the store records it. */
  const leaseHolder = async (): Promise<number | undefined> => {
    if (admin !== undefined) {
      const [owner, pid] = await admin.hmGet("hyperauth:lease:hyperid/default", ["owner", "pid"])
      return owner ? Number(pid) : undefined
    }
    const hash = createHash("sha256").update("hyperid/default").digest("hex").slice(0, 16)
    const text = await readFile(`${storePath}.${hash}.lease`, "utf8").catch(() => undefined)
    const lease = text === undefined ? undefined : (JSON.parse(text) as { owner: string; pid: number })
    return lease?.owner ? lease.pid : undefined
  }

  const failures: Array<string> = []
  let calls = 0
  let stallAfterKillMs: number | undefined
  const began = Date.now()
  const refreshCount = () => emulator.tokens.refreshes.get("hyperid") ?? 0
  const tokenPath = `${hyperidRealmPath}/token`
  try {
    await login(emulator, replicas[0] as Replica)
    const refreshesBefore = refreshCount()
    for (let wave = 1; wave <= options.waves; wave++) {
      if (byClock) await new Promise((resolve) => setTimeout(resolve, (clockLifetime - 60) * 1000 + 100))
      else emulator.tokens.expire({ provider: "hyperid" })
      const killing = wave === options.killInWave
      // The refresh waits at the provider long enough to kill its sender first.
      const disarm = killing
        ? emulator.faults.inject({ origin: "hyperid", path: tokenPath, latencyMs: 2_000, times: 1 })
        : () => undefined
      const inFlightBefore = emulator.count({ origin: "hyperid", path: tokenPath })
      const fired = replicas.flatMap((replica) =>
        replica.alive
          ? Array.from({ length: options.callsPerWave }, async (_, i) => {
              const tokenOnly = i % 4 === 3
              const outcome = await call(
                replica,
                tokenOnly ? "get_token" : "call_api",
                tokenOnly ? { provider: "hyperid" } : { provider: "hyperid", method: "GET", path: "/userinfo" },
              ).then(
                (result) =>
                  result.isError === true
                    ? textOf(result)
                    : tokenOnly || apiStatus(result) === 200
                      ? undefined
                      : `call_api answered ${apiStatus(result)}`,
                (error: unknown) => String(error),
              )
              if (!replica.alive) return
              calls++
              if (outcome !== undefined) failures.push(outcome.slice(0, 300))
            })
          : [],
      )
      if (killing) {
        await until(() => emulator.count({ origin: "hyperid", path: tokenPath }) > inFlightBefore, 30_000)
        const holder = await leaseHolder()
        const victim = replicas.find((r) => r.pid === holder)
        if (victim?.pid !== undefined) {
          const before = refreshCount()
          victim.alive = false
          process.kill(victim.pid, "SIGKILL")
          const killedAt = Date.now()
          await until(() => refreshCount() > before, 60_000)
          stallAfterKillMs = Date.now() - killedAt
        }
      }
      await Promise.all(fired)
      disarm()
    }
    const survivor = replicas.find((r) => r.alive) as Replica
    const final = await call(survivor, "call_api", { provider: "hyperid", method: "GET", path: "/userinfo" })
    const loginKept = final.isError !== true && apiStatus(final) === 200
    return {
      options,
      expiries: options.waves,
      refreshes: refreshCount() - refreshesBefore,
      reusedRefreshTokens: emulator.tokens.reusedRefreshTokens,
      loginKept,
      failedCalls: failures.length,
      failures: failures.slice(0, 5),
      calls,
      stallAfterKillMs,
      wallMs: Date.now() - began,
    }
  } finally {
    await Promise.all(replicas.filter((r) => r.alive).map((r) => r.client.close().catch(() => undefined)))
    await admin?.close()
    await redis?.stop()
    await emulator.close()
  }
}

/** `pnpm bench`'s section: the file and Redis runs side by side, with their must-hold checks. */
export const replicasSection = async (scale: {
  readonly replicas: number
  readonly waves: number
  readonly callsPerWave: number
}): Promise<Section> => {
  const results: Array<ReplicaResult> = []
  for (const store of ["file", "redis"] as const) {
    if (store === "redis" && !redisAvailable()) continue
    results.push(await replicaStress({ store, ...scale, killInWave: Math.ceil(scale.waves / 2) }))
  }
  return {
    title: "Replicas sharing one store",
    method: `${scale.replicas} \`hyperauth-mcp\` processes per store, one encrypted file or one Redis, against a hyperid that rotates refresh tokens strictly and revokes the login on any reuse. ${scale.waves} waves: the access token expires at the provider, then every replica fires ${scale.callsPerWave} concurrent calls (\`call_api\` and \`get_token\`); in wave ${Math.ceil(scale.waves / 2)} the lease holder is killed with SIGKILL while its refresh waits at the provider. The stall is from the kill to the next refresh the provider answered (a holder on another host would be taken over when its 15 s lease expires).`,
    header: [
      "store",
      "expiries",
      "refreshes",
      "reused refresh tokens",
      "calls (failed)",
      "login kept",
      "stall after SIGKILL, ms",
      "wall, s",
    ],
    rows: results.map((r) => [
      r.options.store,
      String(r.expiries),
      String(r.refreshes),
      String(r.reusedRefreshTokens),
      `${r.calls} (${r.failedCalls})`,
      r.loginKept ? "yes" : "no",
      r.stallAfterKillMs === undefined ? "—" : r.stallAfterKillMs.toFixed(0),
      (r.wallMs / 1000).toFixed(1),
    ]),
    checks: [
      ...(results.length < 2 ? [{ what: "the Redis run ran (redis-server found)", ok: false }] : []),
      ...results.flatMap((r) => [
        { what: `${r.options.store}: 0 refresh tokens reused`, ok: r.reusedRefreshTokens === 0 },
        { what: `${r.options.store}: 0 logins lost`, ok: r.loginKept },
        {
          what: `${r.options.store}: exactly 1 refresh per expiry (${r.refreshes}/${r.expiries})`,
          ok: r.refreshes === r.expiries,
        },
        { what: `${r.options.store}: no call of a surviving replica failed`, ok: r.failedCalls === 0 },
      ]),
    ],
  }
}
