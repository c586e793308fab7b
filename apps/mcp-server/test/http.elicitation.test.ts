/**
 * URL-mode elicitation over `--http`, in process over real loopback HTTP
 * against the emulator: the offer of a login's URL is sent on the stream of
 * the `login` call it belongs to (Streamable HTTP: messages sent before the
 * response "SHOULD relate to the originating client request"), so a client
 * that opens no GET stream (which it MAY do) still gets it. Sent unrelated,
 * it went to the standalone GET stream only, and without one it was lost.
 */
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { serveHttp } from "../src/http.js"
import * as Runtime from "../src/runtime.js"

let emulator: Emulator
let runtime: Runtime.Runtime
let server: Server
let url = ""

beforeEach(async () => {
  emulator = await start()
  runtime = Runtime.make({ HYPERAUTH_STORE: "memory", ...emulator.env })
  server = await serveHttp(runtime, { port: 0, token: undefined })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
})

afterEach(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await runtime.dispose()
  await emulator.close()
})

const baseHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" }

const messagesOf = (sse: string): Array<Record<string, unknown>> =>
  sse
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice("data: ".length)) as Record<string, unknown>)

describe("URL-mode elicitation over --http", () => {
  it("is sent on the login call's own stream, before its answer, with no GET stream open", async () => {
    const init = await fetch(url, {
      method: "POST",
      headers: baseHeaders,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: { elicitation: { url: {} } },
          clientInfo: { name: "t", version: "1" },
        },
      }),
    })
    await init.text()
    const headers = {
      ...baseHeaders,
      "mcp-session-id": init.headers.get("mcp-session-id") ?? "",
      "mcp-protocol-version": "2025-11-25",
    }
    const post = (body: unknown) => fetch(url, { method: "POST", headers, body: JSON.stringify(body) })
    await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text()
    const login = await post({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "login", arguments: { provider: "hyper" } },
    })
    const messages = messagesOf(await login.text())
    expect(messages.map((message) => message.method ?? message.id)).toEqual(["elicitation/create", 2])
    const offer = messages[0]?.params as { mode: string; url: string }
    const result = messages[1]?.result as { structuredContent: { verification_uri_complete?: string } }
    expect(offer).toMatchObject({ mode: "url", url: result.structuredContent.verification_uri_complete })
  })
})
