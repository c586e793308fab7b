/**
 * A real Redis (or Valkey) for tests of several replicas sharing one store:
 * the machine's `redis-server`, started on a free loopback port with a
 * temporary directory and no persistence, and stopped afterwards (or when
 * this process exits). Where it is not installed a suite says so and is
 * skipped; under CI (`CI` set) a missing server fails the run instead.
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

/** The `redis-server` (or `valkey-server`, or `$REDIS_SERVER`) found on this machine. */
export const redisServerBinary = find()

/** Whether Redis suites can run here; says why not once, and refuses to skip under CI. */
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

/** A free port on 127.0.0.1. */
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

export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
}

/** Starts `redis-server` on a free loopback port; `stop` ends it and removes its directory. */
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
