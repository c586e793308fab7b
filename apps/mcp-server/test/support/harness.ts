/**
 * Runs the built `hyperauth-mcp` as a child process over real stdio and
 * talks to it with the MCP SDK's `Client`, against an emulator started in
 * the test process.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Emulator } from "@hyperauth/emulator"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult, ClientCapabilities } from "@modelcontextprotocol/sdk/types.js"

export const serverMain = fileURLToPath(new URL("../../dist/hyperauth-mcp.js", import.meta.url))

export { freePort } from "@hyperauth/emulator/redis-server"

export const tempStore = async (): Promise<string> =>
  join(await mkdtemp(join(tmpdir(), "hyperauth-mcp-")), "tokens.json")

/** All four providers configured against the emulator. */
export const emulatorEnv = (emulator: Emulator): Record<string, string> => ({ ...emulator.env })

export interface Session {
  readonly client: Client
  /** Every line the server wrote to stderr. */
  readonly stderr: () => string
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>
  readonly close: () => Promise<void>
  /** Ends the server as a crash would (SIGKILL: nothing is released), once it has exited. */
  readonly kill: () => Promise<void>
}

export const connect = async (
  env: Record<string, string>,
  setup: (client: Client) => void = () => undefined,
  capabilities: ClientCapabilities = {},
): Promise<Session> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [serverMain],
    // Only what the test gives: no provider is configured by accident.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), ...env },
    stderr: "pipe",
  })
  let stderr = ""
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const client = new Client({ name: "hyperauth-e2e", version: "0.0.0" }, { capabilities })
  setup(client)
  await client.connect(transport)
  // `initialize` is answered while the runtime is built; the server says "ready" once its store is
  // open and the listeners of pending logins are back, which tests of a restart rely on.
  const deadline = Date.now() + 20_000
  while (!/ready on stdio|failed to start/.test(stderr) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return {
    client,
    stderr: () => stderr,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
    kill: async () => {
      const pid = transport.pid
      if (pid === null) return
      process.kill(pid, "SIGKILL")
      for (;;) {
        try {
          process.kill(pid, 0)
        } catch {
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await client.close().catch(() => undefined)
    },
  }
}

/** The structured result of a successful call. */
export const structured = (result: CallToolResult): Record<string, unknown> => {
  if (result.isError === true) throw new Error(`tool failed: ${textOf(result)}`)
  return (result.structuredContent ?? {}) as Record<string, unknown>
}

export const textOf = (result: CallToolResult): string =>
  result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")

/** The stable code of a failed call (its first text line starts with it). */
export const errorCode = (result: CallToolResult): string | undefined =>
  result.isError === true ? /^([a-z_]+):/.exec(textOf(result))?.[1] : undefined
