/**
 * Two real processes writing to one token store file at the same time
 * (the built package, as users run it) lose no update.
 */
import { execFile } from "node:child_process"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

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
