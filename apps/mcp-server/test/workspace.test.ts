/**
 * The README's commands say what went wrong: pnpm's own errors are not
 * silenced for the whole workspace (only `pnpm --silent start` keeps them
 * off stdout, where MCP messages go). Installing links every bin, built or
 * not: each is a file in the source that runs the built one.
 */
import { spawnSync } from "node:child_process"
import { accessSync, constants, existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
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

  it.each(["apps/mcp-server", "packages/emulator"])(
    "%s's bins are in the source, executable, and run the build",
    (dir) => {
      const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
        bin: Record<string, string>
      }
      for (const file of Object.values(manifest.bin)) {
        const bin = join(root, dir, file)
        // In git, so that a fresh install (before any build) links it instead of warning.
        expect(spawnSync("git", ["ls-files", "--error-unmatch", file], { cwd: join(root, dir) }).status, file).toBe(0)
        accessSync(bin, constants.X_OK)
        const text = readFileSync(bin, "utf8")
        expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true)
        const target = /^import "(\.\.\/dist\/[\w.-]+\.js)"$/m.exec(text)?.[1]
        expect(target !== undefined && existsSync(join(dirname(bin), target)), `${file} imports a built file`).toBe(
          true,
        )
      }
    },
  )
})
