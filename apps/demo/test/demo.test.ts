import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const demo = fileURLToPath(new URL("../dist/demo.js", import.meta.url))

it("pnpm demo plays the whole session through all four providers", async () => {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [demo], { timeout: 60_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    )
  })
  for (const provider of ["hyperproof", "hyper", "hyperid", "hyperline"]) {
    expect(output).toContain(`agent → login {"provider":"${provider}"`)
  }
  expect(output).toContain("invalid_input: hyperline: path must not contain . or .. segments.")
  expect(output).toContain("Done: four providers")
  expect(output).not.toMatch(/hyper(id|line|proof)?_(at|rt)_/)
}, 60_000)
