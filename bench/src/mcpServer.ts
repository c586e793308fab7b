/**
 * The MCP server's start: from spawning `node` to the answer to `initialize`,
 * against a bare `node` start as the floor; and its resident memory idle.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import type { Emulator } from "@hyperauth/emulator"
import { connect } from "./mcp.js"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { ms, percentile, ratio, time } from "./stats.js"

/** Resident set size of a process, in MiB. */
const residentMiB = (pid: number): number => {
  const status = `/proc/${pid}/status`
  const kib = existsSync(status)
    ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(status, "utf8"))?.[1])
    : Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim())
  return kib / 1024
}

export const mcpServer = async (emulator: Emulator, { starts }: Scale): Promise<Section> => {
  const bare: Array<number> = []
  const server: Array<number> = []
  const resident: Array<number> = []
  for (let i = 0; i < starts; i++) {
    bare.push(await time(async () => spawnSync(process.execPath, ["-e", "0"])))
    let session: Awaited<ReturnType<typeof connect>> | undefined
    server.push(
      await time(async () => {
        session = await connect(emulator)
      }),
    )
    if (session === undefined) continue
    // Idle: nothing asked of it for a second after start.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    if (session.pid !== null) resident.push(residentMiB(session.pid))
    await session.close()
  }
  const floor = percentile(bare, 50)
  return {
    title: "MCP server start and memory",
    method: `${starts} starts of \`node apps/mcp-server/dist/hyperauth-mcp.js\` over stdio with all four providers configured, timed from spawn to the answered \`initialize\` (SDK Client \`connect\`); a bare \`node -e 0\` run to exit is the floor. Resident memory (RSS) is read one idle second after start.`,
    header: ["measure", "p50", "p90", "ratio to bare node"],
    rows: [
      ["bare `node -e 0`, spawn to exit (reference), ms", ms(floor), ms(percentile(bare, 90)), "1.00×"],
      [
        "cold start, spawn to `initialize` answered, ms",
        ms(percentile(server, 50)),
        ms(percentile(server, 90)),
        ratio(percentile(server, 50), floor),
      ],
      ["idle resident memory, MiB", percentile(resident, 50).toFixed(1), percentile(resident, 90).toFixed(1), ""],
    ],
    checks: [{ what: "every start answered `initialize`", ok: server.length === starts && resident.length === starts }],
  }
}
