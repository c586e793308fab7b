/**
 * MCP servers over stdio for the bench: the built `hyperauth-mcp`,
 * configured for the emulator with its default store (an encrypted file),
 * and the SDK's minimal echo server (`./echoServer.ts`) as the reference.
 */
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"

export const serverMain = createRequire(import.meta.url)
  .resolve("@hyperauth/mcp-server/package.json")
  .replace(/package\.json$/, "dist/hyperauth-mcp.js")

export const echoMain = fileURLToPath(new URL("./echoServer.js", import.meta.url))

export const floorMain = fileURLToPath(new URL("./floorServer.js", import.meta.url))

export interface McpSession {
  readonly client: Client
  /** The server's process id. */
  readonly pid: number | null
  readonly close: () => Promise<void>
}

/** Where emulator-bound servers keep their logins: a fresh encrypted file per bench run. */
const storePath = join(mkdtempSync(join(tmpdir(), "hyperauth-bench-store-")), "tokens.json")

/** The environment of a `hyperauth-mcp` pointed at the emulator, with the default store: an encrypted file. */
export const serverEnv = (emulator: { readonly env: Readonly<Record<string, string>> }): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? tmpdir(),
  ...emulator.env,
  HYPERAUTH_STORE: storePath,
  HYPERAUTH_STORE_KEY: "bench store key, not a secret",
})

/** Spawns `node main` and resolves once it has answered `initialize`. */
const spawn = async (main: string, env: Record<string, string>): Promise<McpSession> => {
  const transport = new StdioClientTransport({ command: process.execPath, args: [main], env, stderr: "ignore" })
  const client = new Client({ name: "hyperauth-bench", version: "0.0.0" })
  await client.connect(transport)
  return { client, pid: transport.pid, close: () => client.close() }
}

/** `hyperauth-mcp`, configured for `emulator`. */
export const connect = (emulator: { readonly env: Readonly<Record<string, string>> }): Promise<McpSession> =>
  spawn(serverMain, serverEnv(emulator))

/** The floor of `call_api` (`./floorServer.ts`): one plain `node:http` GET to `apiUrl` with `token`. */
export const connectFloor = (apiUrl: string, token: string): Promise<McpSession> =>
  spawn(floorMain, {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    FLOOR_API_URL: apiUrl,
    FLOOR_TOKEN: token,
  })

/** The SDK's one-tool echo server. */
export const connectEcho = (): Promise<McpSession> =>
  spawn(echoMain, { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir() })
