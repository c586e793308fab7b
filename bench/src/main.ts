/**
 * `pnpm bench [--quick] [--only NAME] [--out FILE]`: runs every measurement
 * against a fresh emulator in its own process, prints the report and writes
 * it (BENCHMARKS.md at the repository root by default). `--quick` measures a
 * little of everything, to show the bench works, not to quote. `--only`
 * runs the sections whose name contains NAME (e.g. `--only "API call"`),
 * and then writes nowhere unless `--out` says where. Exits 1 when
 * a check the numbers must pass fails (e.g. more than one refresh request,
 * a tracing header sent); issue 14's speed targets are reported, not enforced.
 */
import { writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { apiCall } from "./apiCall.js"
import { devicePolling } from "./devicePolling.js"
import { spawnEmulator } from "./emulator.js"
import { grant } from "./grant.js"
import { mcpServer } from "./mcpServer.js"
import { replicasSection } from "./replicas.js"
import { render, type Section } from "./report.js"
import { full, quick } from "./scale.js"
import { stampede } from "./stampede.js"
import { storeRead } from "./storeRead.js"

// pnpm 10 passes the `--` of `pnpm bench -- --quick` on to the script.
const args = process.argv.slice(2).filter((arg) => arg !== "--")
const { values } = parseArgs({
  args,
  options: { quick: { type: "boolean" }, only: { type: "string" }, out: { type: "string" } },
})
const scale = values.quick === true ? quick : full
const only = values.only
// A partial run must not overwrite the full report.
const output =
  values.out ?? (only === undefined ? fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url)) : undefined)

const startedAt = new Date()
const emulator = await spawnEmulator()
const sections: Array<Section> = []
try {
  for (const [name, measure] of [
    ["API call overhead", () => apiCall(emulator, scale)],
    ["client-credentials grant", () => grant(emulator, scale)],
    ["refresh stampede", () => stampede(emulator, scale)],
    ["token store read", () => storeRead(scale)],
    ["MCP server start", () => mcpServer(emulator, scale)],
    // Counts, not speed: these two keep an emulator of their own, in process.
    ["device-flow polling", () => devicePolling(scale)],
    ["replicas sharing one store", () => replicasSection(scale.replicas)],
  ] as const) {
    if (only !== undefined && !name.includes(only)) continue
    process.stderr.write(`bench: ${name}…\n`)
    sections.push(await measure())
  }
  // The emulator saw every request of the speed figures: none may carry a trace.
  const traced = await emulator.traced()
  sections.push({
    title: "Tracing headers",
    method:
      "Every request the emulator received during the sections above that measure speed, checked for `traceparent`, `tracestate`, `b3` and `X-B3-TraceId` (seen with `node:diagnostics_channel` in the emulator's process).",
    header: ["measure", "value"],
    rows: [
      ["requests with a tracing header", String(traced.length)],
      ...traced.slice(0, 5).map((line) => ["example", `\`${line}\``]),
    ],
    checks: [{ what: "no contender sent a tracing header", ok: traced.length === 0 }],
  })
} finally {
  await emulator.close()
}

const report = render(sections, startedAt)
process.stdout.write(report)
if (output !== undefined) {
  await writeFile(output, report)
  process.stderr.write(`bench: wrote ${output}\n`)
}
const failed = sections.flatMap((s) => s.checks ?? []).filter((check) => !check.ok)
if (failed.length > 0) {
  process.stderr.write(`bench: failed checks:\n${failed.map((c) => `  - ${c.what}`).join("\n")}\n`)
  process.exitCode = 1
}
