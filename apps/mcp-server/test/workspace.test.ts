/**
 * The README's commands say what went wrong: pnpm's own errors are not
 * silenced for the whole workspace (only `pnpm --silent start` keeps them
 * off stdout, where MCP messages go).
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../..", import.meta.url))

/** The pnpm running these tests, else the pinned one from npx's cache (never the network). */
const pnpm: ReadonlyArray<string> =
  process.env.npm_execpath?.includes("pnpm") === true
    ? [process.execPath, process.env.npm_execpath]
    : ["npx", "--offline", "--yes", "pnpm@10.34.9"]

describe("workspace commands", () => {
  it("a script that does not exist fails with pnpm's message, not in silence", () => {
    const [command = "npx", ...args] = pnpm
    const result = spawnSync(command, [...args, "run", "no-such-script"], { cwd: root, encoding: "utf8" })
    expect(result.status).not.toBe(0)
    expect(`${result.stdout}${result.stderr}`).toMatch(/Missing script: no-such-script/)
  })
})
