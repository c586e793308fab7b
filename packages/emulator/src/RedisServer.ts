/**
 * A real Redis (or Valkey) for tests of several replicas sharing one store:
 * the machine's `redis-server`, started on a free loopback port with a
 * temporary directory and no persistence, and stopped afterwards (or when
 * this process exits). Where it is not installed a suite says so and is
 * skipped; under CI (`CI` set) a missing server fails the run instead.
 *
 * @example
 * ```ts
 * import { redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
 *
 * if (redisAvailable()) {
 *   const redis = await startRedis()
 *   // HYPERAUTH_STORE=redis.url points hyperauth's token store at it.
 *   await redis.stop()
 * }
 * ```
 *
 * @since 0.2.0
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const find = (): string | undefined => {
  for (const candidate of [process.env.REDIS_SERVER, "redis-server", "valkey-server"]) {
    if (candidate === undefined || candidate === "") continue
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" })
      return candidate
    } catch {}
  }
  return undefined
}

/**
 * The `redis-server` (or `valkey-server`, or `$REDIS_SERVER`) found on this
 * machine, if any.
 *
 * @example
 * ```ts
 * import { redisServerBinary } from "@hyperauth/emulator/redis-server"
 *
 * redisServerBinary // "redis-server", or undefined where none is installed
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const redisServerBinary = find()

/**
 * Whether Redis suites can run here; says why not on stderr, and throws
 * under CI (`CI` set) rather than let a suite skip.
 *
 * @example
 * ```ts
 * import { redisAvailable } from "@hyperauth/emulator/redis-server"
 * import { describe } from "vitest"
 *
 * describe.runIf(redisAvailable())("the Redis store", () => {
 *   // ...
 * })
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const redisAvailable = (): boolean => {
  if (redisServerBinary !== undefined) return true
  if (process.env.CI) {
    throw new Error("redis-server not found, and CI must not skip the Redis suite (apt-get install -y redis-server)")
  }
  process.stderr.write(
    "skipped: redis-server not found (apt-get install redis-server) — the Redis suites did not run\n",
  )
  return false
}

/**
 * A free port on 127.0.0.1, as the system picks one.
 *
 * @example
 * ```ts
 * import { freePort } from "@hyperauth/emulator/redis-server"
 *
 * const port = await freePort()
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * A running `redis-server`: its URL (with the password when one was set),
 * its port, and `stop`.
 *
 * @example
 * ```ts
 * import { type RedisServer, redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
 *
 * if (redisAvailable()) {
 *   const redis: RedisServer = await startRedis()
 *   process.env.HYPERAUTH_STORE = redis.url // a store shared by the processes started from here
 *   await redis.stop()
 * }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
}

/**
 * Starts `redis-server` on a free loopback port, in a temporary directory,
 * without persistence; `stop` ends it and removes its directory. It is also
 * killed when this process exits.
 *
 * @example
 * ```ts
 * import { startRedis } from "@hyperauth/emulator/redis-server"
 *
 * const redis = await startRedis({ password: "s3cret" })
 * redis.url // "redis://default:s3cret@127.0.0.1:…/0"
 * await redis.stop()
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const startRedis = async (options: { readonly password?: string | undefined } = {}): Promise<RedisServer> => {
  if (redisServerBinary === undefined) throw new Error("redis-server not found")
  const dir = mkdtempSync(join(tmpdir(), "hyperauth-redis-"))
  const port = await freePort()
  const child: ChildProcess = spawn(
    redisServerBinary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      ...(options.password === undefined ? [] : ["--requirepass", options.password]),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  )
  const stopOnExit = () => child.kill("SIGKILL")
  process.once("exit", stopOnExit)
  await new Promise<void>((resolve, reject) => {
    let output = ""
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000)
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output}`))
    })
  })
  return {
    url: `redis://${options.password === undefined ? "" : `default:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}/0`,
    port,
    stop: async () => {
      process.removeListener("exit", stopOnExit)
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve))
        child.kill("SIGTERM")
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
