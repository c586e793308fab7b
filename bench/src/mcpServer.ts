/**
 * The MCP server's start, from spawning `node` to the answer to
 * `initialize`, against the SDK's minimal echo server started the same
 * way (and a bare `node` start as the floor); and the resident memory of
 * both, idle.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import type { RemoteEmulator } from "./emulator.js"
import { connect, connectEcho, type McpSession } from "./mcp.js"
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

interface Starts {
  readonly start: Array<number>
  readonly resident: Array<number>
}

/** Times one start to `initialize` answered, then reads its RSS one idle second later. */
const startOnce = async (open: () => Promise<McpSession>, into: Starts): Promise<void> => {
  let session: McpSession | undefined
  into.start.push(
    await time(async () => {
      session = await open()
    }),
  )
  if (session === undefined) return
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  if (session.pid !== null) into.resident.push(residentMiB(session.pid))
  await session.close()
}

export const mcpServer = async (emulator: RemoteEmulator, { starts }: Scale): Promise<Section> => {
  const bare: Array<number> = []
  const echo: Starts = { start: [], resident: [] }
  const server: Starts = { start: [], resident: [] }
  for (let i = 0; i < starts; i++) {
    bare.push(await time(async () => spawnSync(process.execPath, ["-e", "0"])))
    await startOnce(connectEcho, echo)
    await startOnce(() => connect(emulator), server)
  }
  const p50 = (values: ReadonlyArray<number>) => percentile(values, 50)
  const reference = p50(echo.start)
  const memory = (values: ReadonlyArray<number>) => [p50(values).toFixed(1), percentile(values, 90).toFixed(1)]
  return {
    title: "MCP server start and memory",
    method: [
      `${starts} starts each, taking turns, of \`node apps/mcp-server/dist/hyperauth-mcp.js\` over stdio (all four providers configured, the default encrypted file store)`,
      "and of the SDK's minimal echo server (low-level `Server`, one tool, stdio), each timed from spawn to the answered `initialize` (SDK Client `connect`);",
      "a bare `node -e 0` run to exit is the floor. Resident memory (RSS) is read one idle second after start.",
    ].join(" "),
    header: ["measure", "p50", "p90", "ratio to echo server"],
    rows: [
      ["bare `node -e 0`, spawn to exit, ms", ms(p50(bare)), ms(percentile(bare, 90)), ratio(p50(bare), reference)],
      [
        "SDK echo server, spawn to `initialize` answered, ms (reference)",
        ms(reference),
        ms(percentile(echo.start, 90)),
        "1.00×",
      ],
      [
        "hyperauth-mcp, spawn to `initialize` answered, ms",
        ms(p50(server.start)),
        ms(percentile(server.start, 90)),
        ratio(p50(server.start), reference),
      ],
      ["SDK echo server, idle resident memory, MiB", ...memory(echo.resident), ""],
      [
        "hyperauth-mcp, idle resident memory, MiB",
        ...memory(server.resident),
        ratio(p50(server.resident), p50(echo.resident)),
      ],
    ],
    checks: [
      {
        what: "every start answered `initialize`",
        ok: [echo, server].every((s) => s.start.length === starts && s.resident.length === starts),
      },
    ],
    targets: [
      {
        what: `MCP cold start ≤ the SDK echo server + 15%: ${ratio(p50(server.start), reference)}`,
        ok: p50(server.start) <= 1.15 * reference,
      },
      {
        what: `hyperauth-mcp idle RSS ≤ 70 MiB: ${p50(server.resident).toFixed(1)} MiB (echo server ${p50(echo.resident).toFixed(1)} MiB)`,
        ok: p50(server.resident) <= 70,
      },
    ],
  }
}
