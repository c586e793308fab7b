/**
 * Malformed tool calls over `--http`, in process over real loopback HTTP:
 * the same answers as over stdio (the check sits in front of every
 * transport): arguments that are not an object are `invalid_input`, a call
 * without a tool name a short `-32602`, and so are other requests with
 * params their schema refuses.
 */
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { serveHttp } from "../src/http.js"
import * as Runtime from "../src/runtime.js"

let runtime: Runtime.Runtime
let server: Server
let port = 0
let session = ""

const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" }

/** Posts `body` and returns the JSON-RPC message answered (as JSON or as one server-sent event). */
const post = async (body: string) => {
  const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: "POST",
    headers: session === "" ? headers : { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
    body,
  })
  session ||= response.headers.get("mcp-session-id") ?? ""
  const text = await response.text()
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? text
  // A notification is answered 202 with no body.
  return (data === "" ? {} : JSON.parse(data)) as Record<string, unknown>
}

beforeAll(async () => {
  runtime = Runtime.make({ HYPERAUTH_STORE: "memory" })
  server = await serveHttp(runtime, { port: 0, token: undefined })
  port = (server.address() as AddressInfo).port
  await post(
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  )
  await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }))
})

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await runtime.dispose()
})

describe("malformed tool calls over HTTP", () => {
  it("arguments that are null are invalid_input", async () => {
    const answer = await post(
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_providers","arguments":null}}',
    )
    expect(answer.id).toBe(2)
    const result = answer.result as { isError: boolean; content: Array<{ text: string }> }
    expect(result.isError).toBe(true)
    expect(result.content[0]?.text).toMatch(/^invalid_input: arguments must be an object/)
  })

  it("a call without a tool name is -32602", async () => {
    const answer = await post('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}')
    expect(answer.id).toBe(3)
    expect((answer.error as { code: number }).code).toBe(-32602)
  })

  it("tools/list with a cursor that is not a string is a short -32602 naming it", async () => {
    const answer = await post('{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":5}}')
    expect(answer.id).toBe(4)
    expect(answer.error).toEqual({
      code: -32602,
      message: "Invalid params for tools/list: params.cursor must be of type string",
    })
  })
})
