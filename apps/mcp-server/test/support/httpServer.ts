/**
 * A `--http` server in process over real loopback HTTP, made before each
 * test of the suite that asks for it and closed after it: with the
 * emulator behind it when asked, a bearer token when given, and the
 * sessions' and connections' limits when given.
 */
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterEach, beforeEach } from "vitest"
import { type HttpOptions, serveHttp } from "../../src/http.js"
import * as Runtime from "../../src/runtime.js"

export interface HttpServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string
}

/** The headers of every Streamable HTTP POST. */
export const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" }

/** The JSON-RPC messages of an SSE body. */
export const messagesOf = (sse: string): Array<Record<string, unknown>> =>
  sse
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice("data: ".length)) as Record<string, unknown>)

/** Reads a response's body until it ends or `ms` pass: what came, and whether it ended. */
export const readFor = async (response: Response, ms: number): Promise<{ text: string; ended: boolean }> => {
  const reader = response.body?.getReader()
  if (reader === undefined) return { text: "", ended: true }
  const decoder = new TextDecoder()
  let text = ""
  const deadline = Date.now() + ms
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) break
    const next = await Promise.race([
      reader.read(),
      new Promise<"late">((resolve) => setTimeout(() => resolve("late"), left)),
    ])
    if (next === "late") break
    if (next.done) return { text, ended: true }
    text += decoder.decode(next.value, { stream: true })
  }
  await reader.cancel()
  return { text, ended: false }
}

/** An `initialize` request body from a client with `capabilities`, speaking `protocolVersion`. */
export const initialize = (capabilities: Record<string, unknown> = {}, protocolVersion = "2025-06-18") =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion, capabilities, clientInfo: { name: "t", version: "1" } },
  })

export const useHttpServer = (
  options: {
    readonly emulator?: boolean
    readonly token?: string
    readonly sessions?: HttpOptions["sessions"]
    readonly connections?: HttpOptions["connections"]
  } = {},
): HttpServer => {
  let emulator: Emulator | undefined
  let runtime: Runtime.Runtime | undefined
  let server: Server | undefined
  const handle = { url: "" }
  beforeEach(async () => {
    emulator = options.emulator === true ? await start() : undefined
    runtime = Runtime.make({ HYPERAUTH_STORE: "memory", ...emulator?.env })
    server = await serveHttp(runtime, {
      port: 0,
      token: options.token,
      sessions: options.sessions,
      connections: options.connections,
    })
    handle.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
  })
  afterEach(async () => {
    await new Promise<void>((resolve) => {
      if (server === undefined) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await runtime?.dispose()
    await emulator?.close()
  })
  return handle
}
