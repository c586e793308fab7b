/**
 * `pnpm bench [--quick] [--out FILE]`: runs every measurement against a
 * fresh emulator, prints the report and writes it (BENCHMARKS.md at the
 * repository root by default). `--quick` measures a little of everything,
 * to show the bench works, not to quote. Exits 1 when a check the numbers
 * must pass fails (e.g. more than one refresh request).
 */
import { writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { start } from "@hyperauth/emulator"
import { apiCall } from "./apiCall.js"
import { devicePolling } from "./devicePolling.js"
import { grant } from "./grant.js"
import { mcpServer } from "./mcpServer.js"
import { replicasSection } from "./replicas.js"
import { render, type Section } from "./report.js"
import { full, quick } from "./scale.js"
import { stampede } from "./stampede.js"

const { values } = parseArgs({ options: { quick: { type: "boolean" }, out: { type: "string" } } })
const scale = values.quick === true ? quick : full
const output = values.out ?? fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url))

const startedAt = new Date()
const emulator = await start()
const sections: Array<Section> = []
try {
  for (const [name, measure] of [
    ["API call overhead", () => apiCall(emulator, scale)],
    ["client-credentials grant", () => grant(emulator, scale)],
    ["refresh stampede", () => stampede(emulator, scale)],
    ["MCP server start", () => mcpServer(emulator, scale)],
    ["device-flow polling", () => devicePolling(scale)],
    ["replicas sharing one store", () => replicasSection(scale.replicas)],
  ] as const) {
    process.stderr.write(`bench: ${name}…\n`)
    sections.push(await measure())
  }
} finally {
  await emulator.close()
}

const report = render(sections, startedAt)
process.stdout.write(report)
await writeFile(output, report)
process.stderr.write(`bench: wrote ${output}\n`)
const failed = sections.flatMap((s) => s.checks ?? []).filter((check) => !check.ok)
if (failed.length > 0) {
  process.stderr.write(`bench: failed checks:\n${failed.map((c) => `  - ${c.what}`).join("\n")}\n`)
  process.exitCode = 1
}
