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
  /** How many times the access token expires during the run. */
  readonly expiries: number
  /** Callers per replica, each calling again as soon as its call returns. */
  readonly callers: number
  /** Kill the lease holder in the middle of the refresh after this expiry (1-based); none when absent. */
  readonly killAtExpiry?: number | undefined
  /**
   * How the token expires: `provider` revokes it at the provider every
   * 2 s (the API answers 401, the replicas replace it); `clock` lets each
   * token run into the 60 s refresh margin on every replica's own clock,
   * 2 s after it was issued; `storm` issues tokens that are inside the
   * margin from the start, so every call refreshes (one after the other
   * under the lease): the harshest test of a rotating refresh token, where
   * only reuse and loss are counted.
   */
  readonly expiry?: "provider" | "clock" | "storm" | undefined
}

/** Under `clock` expiry, access tokens live this long: usable for 2 s before the 60 s margin. */
const clockLifetime = 62
const periodMs = 2_000

export interface ReplicaResult {
  readonly options: ReplicaOptions
  readonly expiries: number
  readonly refreshes: number
  /** The shortest time between two refreshes, ms: well under the period means one expiry refreshed twice. */
  readonly closestRefreshesMs: number | undefined
  readonly reusedRefreshTokens: number
  /** Whether the login was still there, and usable, at the end. */
  readonly loginKept: boolean
  /** Calls of surviving replicas that failed, with their first error texts. */
  readonly failedCalls: number
  readonly failures: ReadonlyArray<string>
  /** Refused calls whose one retry the next expiry overtook (a call that outlived a whole period). */
  readonly overtaken: number
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const replicaStress = async (options: ReplicaOptions): Promise<ReplicaResult> => {
  const byClock = options.expiry === "clock"
  const storm = options.expiry === "storm"
  const lifetime = byClock ? { tokenLifetime: clockLifetime } : storm ? { tokenLifetime: 30 } : {}
  const emulator = await start({ hyperid: { rotateRefreshTokens: true, ...lifetime } })
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
  /** When the provider revoked the access token, for calls that two expiries overtook. */
  const expiredAt: Array<number> = []
  let overtaken = 0
  let calls = 0
  let stallAfterKillMs: number | undefined
  const began = Date.now()
  const refreshCount = () => emulator.tokens.refreshes.get("hyperid") ?? 0
  const tokenPath = `${hyperidRealmPath}/token`
  const running = { on: true }

  /** One caller of one replica: calls again as soon as its call returns. */
  const caller = async (replica: Replica, index: number) => {
    for (let i = index; running.on && replica.alive; i++) {
      const tokenOnly = i % 4 === 3
      const began = Date.now()
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
      // A call_api retries once after a 401: one that two expiries overtook (a loaded machine) may
      // rightly end refused (401 or invalid_token), which says nothing about the store.
      const expiriesDuring = expiredAt.filter((at) => at >= began).length
      const refused = outcome?.startsWith("invalid_token") === true || outcome === "call_api answered 401"
      // Or began with the token an expiry had just revoked, before its replacement was committed,
      // and the replacement was revoked by the next expiry while the call went on.
      const replacedDuring = emulator.tokens.refreshLog.some((entry) => entry.at >= began)
      if (refused && (expiriesDuring >= 2 || (expiriesDuring >= 1 && replacedDuring))) overtaken++
      else if (outcome !== undefined)
        failures.push(`${outcome.slice(0, 300)} (${expiriesDuring} expiries during the call)`)
    }
  }

  /** Kills whoever holds the lease while its refresh waits at the provider; the stall until the next refresh. */
  const killHolderMidRefresh = async (expire: () => Promise<void>) => {
    const inFlight = emulator.count({ origin: "hyperid", path: tokenPath })
    const disarm = emulator.faults.inject({ origin: "hyperid", path: tokenPath, latencyMs: 2_000, times: 1 })
    await expire()
    await until(() => emulator.count({ origin: "hyperid", path: tokenPath }) > inFlight, 30_000)
    const holder = await leaseHolder()
    const killed = replicas.find((r) => r.alive && r.pid === holder)
    disarm()
    if (killed?.pid === undefined) return
    const before = refreshCount()
    killed.alive = false
    process.kill(killed.pid, "SIGKILL")
    const killedAt = Date.now()
    await until(() => refreshCount() > before, 60_000)
    stallAfterKillMs = Date.now() - killedAt
  }

  try {
    await login(emulator, replicas[0] as Replica)
    const refreshesBefore = refreshCount()
    // The refresh log keeps the last 10 000 refreshes (a storm makes hundreds): the run's are those since now.
    const since = emulator.clock.now()
    const callers = replicas.flatMap((replica) =>
      Array.from({ length: options.callers }, (_, index) => caller(replica, index)),
    )
    for (let expiry = 1; expiry <= options.expiries; expiry++) {
      if (storm) {
        await sleep(periodMs)
        continue
      }
      const expire = byClock
        ? // The latest token enters the refresh margin 2 s after it was issued.
          async () => {
            const latest = emulator.tokens.refreshLog.at(-1)?.at ?? emulator.clock.now()
            await sleep(Math.max(0, latest + periodMs - emulator.clock.now()))
          }
        : async () => {
            await sleep(expiry === 1 ? 200 : periodMs)
            emulator.tokens.expire({ provider: "hyperid" })
            expiredAt.push(Date.now())
          }
      if (expiry === options.killAtExpiry) await killHolderMidRefresh(expire)
      else await expire()
      await until(() => refreshCount() - refreshesBefore >= expiry, 30_000)
    }
    await sleep(500)
    running.on = false
    await Promise.all(callers)
    const survivor = replicas.find((r) => r.alive) as Replica
    const final = await call(survivor, "call_api", { provider: "hyperid", method: "GET", path: "/userinfo" })
    const loginKept = final.isError !== true && apiStatus(final) === 200
    const times = emulator.tokens.refreshLog.filter((entry) => entry.at >= since).map((entry) => entry.at)
    const gaps = times.slice(1).map((at, i) => at - (times[i] ?? at))
    return {
      options,
      expiries: options.expiries,
      refreshes: refreshCount() - refreshesBefore,
      closestRefreshesMs: gaps.length === 0 ? undefined : Math.min(...gaps),
      reusedRefreshTokens: emulator.tokens.reusedRefreshTokens,
      loginKept,
      failedCalls: failures.length,
      failures: failures.slice(0, 5),
      overtaken,
      calls,
      stallAfterKillMs,
      wallMs: Date.now() - began,
    }
  } finally {
    running.on = false
    await Promise.all(replicas.filter((r) => r.alive).map((r) => r.client.close().catch(() => undefined)))
    await admin?.close()
    await redis?.stop()
    await emulator.close()
  }
}

/** `pnpm bench`'s section: the file and Redis runs side by side, with their must-hold checks. */
export const replicasSection = async (scale: {
  readonly replicas: number
  readonly expiries: number
  readonly callers: number
}): Promise<Section> => {
  const killAtExpiry = Math.ceil(scale.expiries / 2)
  const results: Array<ReplicaResult> = []
  for (const store of ["file", "redis"] as const) {
    if (store === "redis" && !redisAvailable()) continue
    for (const expiry of ["provider", "clock"] as const) {
      results.push(await replicaStress({ store, expiry, ...scale, killAtExpiry }))
    }
    results.push(await replicaStress({ store, expiry: "storm", ...scale, expiries: Math.ceil(scale.expiries / 2) }))
  }
  const how = { provider: "401 from the API", clock: "expiry by clock", storm: "refresh storm" } as const
  const name = (r: ReplicaResult) => `${r.options.store}, ${how[r.options.expiry ?? "provider"]}`
  const storm = (r: ReplicaResult) => r.options.expiry === "storm"
  return {
    title: "Replicas sharing one store",
    method: `${scale.replicas} \`hyperauth-mcp\` processes per run on one encrypted file or one Redis, against a hyperid that rotates refresh tokens strictly and revokes the login on any reuse; ${scale.callers} callers per replica call \`call_api\` or \`get_token\` again as soon as each call returns. The access token expires ${scale.expiries} times, every 2 s: revoked at the provider (the API answers 401 and the replicas replace it), or run into the 60 s refresh margin on the replicas' own clocks. At expiry ${killAtExpiry} the lease holder is killed with SIGKILL while its refresh waits at the provider; the stall is from the kill to the next refresh the provider answered (on another host the lease would be taken over when it expires, ≤ 15 s). In the refresh storm, tokens are issued inside the 60 s margin, so every call refreshes, one after the other under the lease, for ${Math.ceil(scale.expiries / 2) * 2} s: only reuse and loss count there (before leases, this lost the login within seconds).`,
    header: [
      "run",
      "expiries",
      "refreshes",
      "closest refreshes, ms",
      "reused refresh tokens",
      "calls (failed)",
      "login kept",
      "stall after SIGKILL, ms",
      "wall, s",
    ],
    rows: results.map((r) => [
      name(r),
      storm(r) ? "every call" : String(r.expiries),
      String(r.refreshes),
      r.closestRefreshesMs === undefined ? "—" : r.closestRefreshesMs.toFixed(0),
      String(r.reusedRefreshTokens),
      `${r.calls} (${r.failedCalls}${r.overtaken > 0 ? `; ${r.overtaken} overtaken by the next expiry` : ""})`,
      r.loginKept ? "yes" : "no",
      r.stallAfterKillMs === undefined ? "—" : r.stallAfterKillMs.toFixed(0),
      (r.wallMs / 1000).toFixed(1),
    ]),
    checks: [
      ...(results.length < 6 ? [{ what: "the Redis runs ran (redis-server found)", ok: false }] : []),
      ...results.flatMap((r) => [
        { what: `${name(r)}: 0 refresh tokens reused`, ok: r.reusedRefreshTokens === 0 },
        { what: `${name(r)}: 0 logins lost`, ok: r.loginKept },
        ...(storm(r)
          ? []
          : [
              {
                what: `${name(r)}: exactly 1 refresh per expiry (${r.refreshes}/${r.expiries})`,
                ok: r.refreshes === r.expiries,
              },
            ]),
        {
          what: `${name(r)}: no call of a surviving replica failed${r.failures.length === 0 ? "" : ` (first: ${r.failures[0]?.split("\n")[0]})`}`,
          ok: r.failedCalls === 0,
        },
      ]),
    ],
  }
}
