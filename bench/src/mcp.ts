/** The built `hyperauth-mcp` over stdio, configured for the emulator. */
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import type { Emulator } from "@hyperauth/emulator"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"

export const serverMain = createRequire(import.meta.url)
  .resolve("@hyperauth/mcp-server/package.json")
  .replace(/package\.json$/, "dist/hyperauth-mcp.js")

export interface McpSession {
  readonly client: Client
  /** The server's process id. */
  readonly pid: number | null
  readonly close: () => Promise<void>
}

export const serverEnv = (emulator: Emulator): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? tmpdir(),
  ...emulator.env,
  HYPERAUTH_STORE: "memory",
})

/** Spawns the server and resolves once it has answered `initialize`. */
export const connect = async (emulator: Emulator): Promise<McpSession> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [serverMain],
    env: serverEnv(emulator),
    stderr: "ignore",
  })
  const client = new Client({ name: "hyperauth-bench", version: "0.0.0" })
  await client.connect(transport)
  return { client, pid: transport.pid, close: () => client.close() }
}
