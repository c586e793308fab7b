import { execFile } from "node:child_process"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const bench = fileURLToPath(new URL("../dist/main.js", import.meta.url))

// Only that `pnpm bench` still runs and passes its own checks: its numbers
// are for BENCHMARKS.md, never for assertions.
it("pnpm bench --quick measures every figure and passes its checks", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "hyperauth-bench-")), "BENCHMARKS.md")
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [bench, "--quick", "--out", out], { timeout: 60_000 }, (error) =>
      error ? reject(error) : resolve(),
    )
  })
  const report = await readFile(out, "utf8")
  for (const title of [
    "API call overhead",
    "Client-credentials grant",
    "1,000 concurrent callers on an expired token",
    "MCP server start and memory",
    "Device-flow polling",
    "Replicas sharing one store",
  ]) {
    expect(report).toContain(`## ${title}`)
  }
  expect(report).toContain("Machine: ")
  expect(report).not.toContain("❌")
}, 60_000)
