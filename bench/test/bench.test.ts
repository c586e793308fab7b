import { execFile } from "node:child_process"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { targetsTitle } from "../src/report.js"

const bench = fileURLToPath(new URL("../dist/main.js", import.meta.url))

// Only that `pnpm bench` still runs and passes its own checks: its numbers
// are for BENCHMARKS.md, never for assertions.
it("pnpm bench --quick measures every figure and passes its checks", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "hyperauth-bench-")), "BENCHMARKS.md")
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [bench, "--quick", "--out", out], { timeout: 120_000 }, (error) =>
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
    "Token store read, unchanged since the last read",
    "Tracing headers",
    targetsTitle,
  ]) {
    expect(report).toContain(`## ${title}`)
  }
  expect(report).toContain("Machine: ")
  // Issue 14's speed targets may not be met yet; every check must be.
  const [checked, targets] = report.split(`## ${targetsTitle}`)
  expect(checked).not.toContain("❌")
  expect(targets).toMatch(/^- [✅❌] core API call p50/m)
}, 120_000)
