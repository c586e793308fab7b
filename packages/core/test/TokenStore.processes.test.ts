/**
 * Two real processes writing to one token store file at the same time
 * (the built package, as users run it) lose no update.
 */
import { execFile, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Redacted, Scope } from "effect"
import { expect, it } from "vitest"
import * as TokenStore from "../src/TokenStore.js"

const core = fileURLToPath(new URL("../dist/index.js", import.meta.url))

const writer = (path: string, name: string, count: number) =>
  new Promise<void>((resolve, reject) => {
    const script = `
      import { Token, TokenStore } from ${JSON.stringify(core)}
      import { DateTime, Effect, Redacted } from "effect"
      const store = TokenStore.makeFile({ path: ${JSON.stringify(path)}, key: Redacted.make("shared key") })
      const token = new Token.TokenSet({ accessToken: Redacted.make("at"), tokenType: "Bearer", receivedAt: DateTime.unsafeNow() })
      await Effect.runPromise(Effect.forEach(Array.from({ length: ${count} }, (_, i) => i), (i) =>
        store.set({ provider: "hyperproof", account: "${name}-" + i }, token), { concurrency: 4 }))
    `
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { cwd: fileURLToPath(new URL("..", import.meta.url)) },
      (error) => (error ? reject(error) : resolve()),
    )
  })

it("two processes writing concurrently lose no update", async () => {
  const path = join(await mkdtemp(join(tmpdir(), "hyperauth-2proc-")), "tokens.json")
  await Promise.all([writer(path, "a", 25), writer(path, "b", 25)])
  const document = JSON.parse(await readFile(path, "utf8")) as { revision: number }
  expect(document.revision).toBe(50)
  const check = `
    import { TokenStore } from ${JSON.stringify(core)}
    import { Effect, Redacted } from "effect"
    const list = await Effect.runPromise(TokenStore.makeFile({ path: ${JSON.stringify(path)}, key: Redacted.make("shared key") }).list)
    process.stdout.write(String(list.length))
  `
  const count = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--input-type=module", "-e", check],
      { cwd: fileURLToPath(new URL("..", import.meta.url)) },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    ),
  )
  expect(count).toBe("50")
}, 60_000)

// Node 20's recursive mkdirSync loops for ever where mkdir answers ENOENT for
// a parent that exists, as /proc does: the store must fail, not hang. Run in a
// child process because a synchronous loop would hang this worker too.
it.runIf(existsSync("/proc/self"))(
  "a store in a directory that cannot be made (under /proc) fails with TokenStoreError, not a hang",
  async () => {
    const path = `/proc/hyperauth-${process.pid}/store/tokens.json`
    const script = `
    import { Token, TokenStore } from ${JSON.stringify(core)}
    import { DateTime, Effect, Exit, Redacted } from "effect"
    const token = new Token.TokenSet({ accessToken: Redacted.make("at"), tokenType: "Bearer", receivedAt: DateTime.unsafeNow() })
    const exit = await Effect.runPromiseExit(TokenStore.makeFile({ path: ${JSON.stringify(path)} }).set({ provider: "hyperproof", account: "a" }, token))
    process.stdout.write(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag + ": " + exit.cause.error.message : "not a typed failure")
  `
    const outcome = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { cwd: fileURLToPath(new URL("..", import.meta.url)), timeout: 10_000 },
        (error, stdout) => resolve(error?.killed === true ? "hung: killed after 10 s" : stdout),
      ),
    )
    expect(outcome).toMatch(/^TokenStoreError: /)
    expect(outcome).toContain("/proc/hyperauth-")
  },
  30_000,
)

/** Whether this machine lets us start a process in a pid namespace of its own (root, Linux), as a container is. */
const ownPidNamespace = (() => {
  try {
    return spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { timeout: 10_000 }).status === 0
  } catch {
    return false
  }
})()

// Containers that share a host name (host networking, a set hostname) and a store: a process id
// from the other's namespace names some other process, or none, in this one.
it.runIf(ownPidNamespace)(
  "a lease held by a live process is not taken over from another pid namespace of the same host name",
  async () => {
    const path = join(await mkdtemp(join(tmpdir(), "hyperauth-pidns-")), "tokens.json")
    const key = { provider: "hyperid", account: "default" }
    const store = TokenStore.makeFile({ path, key: Redacted.make("shared key") })
    const scope = Effect.runSync(Scope.make())
    await Effect.runPromise(Scope.extend(store.acquire(key), scope))
    const script = `
      import { TokenStore } from ${JSON.stringify(core)}
      import { Effect, Exit, Redacted } from "effect"
      const store = TokenStore.makeFile({ path: ${JSON.stringify(path)}, key: Redacted.make("shared key") })
      const exit = await Effect.runPromiseExit(Effect.scoped(store.acquire(${JSON.stringify(key)}, { wait: 0 })))
      process.stdout.write(Exit.isSuccess(exit) ? "taken" : exit.cause._tag === "Fail" ? exit.cause.error.reason : "died")
    `
    const answer = await new Promise<string>((resolve, reject) =>
      execFile(
        "unshare",
        ["--pid", "--fork", "--mount-proc", process.execPath, "--input-type=module", "-e", script],
        { cwd: fileURLToPath(new URL("..", import.meta.url)) },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    )
    await Effect.runPromise(Scope.close(scope, Exit.void))
    expect(answer).toBe("locked")
  },
  60_000,
)
