/**
 * The MCP server's start, from spawning `node` to the answer to
 * `initialize`, against the SDK's minimal echo server started the same
 * way (and a bare `node` start as the floor); and the resident memory of
 * both, idle.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
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
  /** Spawn to the first tool call answered: what `initialize` does not wait for shows here. */
  readonly firstCall: Array<number>
  readonly resident: Array<number>
}

/**
 * Times one start to `initialize` answered and on to the first tool call
 * answered (`call`, made at once), then reads its RSS one idle second later.
 */
const startOnce = async (
  open: () => Promise<McpSession>,
  call: (session: McpSession) => Promise<unknown>,
  into: Starts,
): Promise<void> => {
  let session: McpSession | undefined
  const started = performance.now()
  into.start.push(
    await time(async () => {
      session = await open()
    }),
  )
  if (session === undefined) return
  await call(session)
  into.firstCall.push(performance.now() - started)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  if (session.pid !== null) into.resident.push(residentMiB(session.pid))
  await session.close()
}

export const mcpServer = async (emulator: RemoteEmulator, { starts }: Scale): Promise<Section> => {
  const bare: Array<number> = []
  const echo: Starts = { start: [], firstCall: [], resident: [] }
  const server: Starts = { start: [], firstCall: [], resident: [] }
  for (let i = 0; i < starts; i++) {
    bare.push(await time(async () => spawnSync(process.execPath, ["-e", "0"])))
    await startOnce(connectEcho, (s) => s.client.callTool({ name: "echo", arguments: { text: "start" } }), echo)
    await startOnce(
      () => connect(emulator),
      (s) => s.client.callTool({ name: "list_providers" }),
      server,
    )
  }
  const p50 = (values: ReadonlyArray<number>) => percentile(values, 50)
  const reference = p50(echo.start)
  const memory = (values: ReadonlyArray<number>) => [p50(values).toFixed(1), percentile(values, 90).toFixed(1)]
  return {
    title: "MCP server start and memory",
    method: [
      `${starts} starts each, taking turns, of \`node apps/mcp-server/dist/hyperauth-mcp.js\` over stdio (all four providers configured, the default encrypted file store)`,
      "and of the SDK's minimal echo server (low-level `Server`, one tool, stdio), each timed from spawn to the answered `initialize` (SDK Client `connect`);",
      "a bare `node -e 0` run to exit is the floor. hyperauth-mcp answers `initialize` while it loads its tools and builds its runtime,",
      "so the time to the first tool call answered (`list_providers`; `echo` for the echo server), made at once after `initialize`, is shown too.",
      "Resident memory (RSS) is read one idle second after start.",
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
      [
        "SDK echo server, spawn to the first tool call answered, ms",
        ms(p50(echo.firstCall)),
        ms(percentile(echo.firstCall, 90)),
        ratio(p50(echo.firstCall), reference),
      ],
      [
        "hyperauth-mcp, spawn to the first tool call answered (`list_providers`), ms",
        ms(p50(server.firstCall)),
        ms(percentile(server.firstCall, 90)),
        ratio(p50(server.firstCall), reference),
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
