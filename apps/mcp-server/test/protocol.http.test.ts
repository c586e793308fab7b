/**
 * MCP conformance over `--http` where Streamable HTTP differs from stdio,
 * in process over real loopback HTTP: the `MCP-Protocol-Version` header,
 * version negotiation, JSON-RPC batches by negotiated revision (2025-03-26
 * has them; 2025-06-18 removed them: "the body of the POST request MUST be
 * a single JSON-RPC request, notification, or response"), and what needs
 * no answer (202).
 */
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "vitest"
import { initialize, mcpHeaders, messagesOf, useHttpServer } from "./support/httpServer.js"

const served = useHttpServer()

/** A session's JSON-RPC messages of an answer: a JSON body, or the events of an SSE one. */
const messagesIn = async (response: Response): Promise<Array<Record<string, unknown>>> => {
  const text = await response.text()
  if (text === "") return []
  return (response.headers.get("content-type") ?? "").startsWith("text/event-stream")
    ? messagesOf(text)
    : [JSON.parse(text) as Record<string, unknown>]
}

/** Opens a session speaking `protocolVersion`: what initialize answered, and a POST with the session's headers. */
const openSession = async (protocolVersion: string) => {
  const init = await fetch(served.url, { method: "POST", headers: mcpHeaders, body: initialize({}, protocolVersion) })
  const [answer] = await messagesIn(init)
  const negotiated = String((answer?.result as { protocolVersion?: unknown } | undefined)?.protocolVersion)
  const session = init.headers.get("mcp-session-id") ?? ""
  const post = (body: unknown, version: string | null = negotiated) =>
    fetch(served.url, {
      method: "POST",
      headers: {
        ...mcpHeaders,
        "mcp-session-id": session,
        ...(version === null ? {} : { "mcp-protocol-version": version }),
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    })
  const initialized = await post({ jsonrpc: "2.0", method: "notifications/initialized" })
  expect(initialized.status).toBe(202)
  return { negotiated, post }
}

const batch = [
  { jsonrpc: "2.0", id: 11, method: "ping" },
  { jsonrpc: "2.0", id: 12, method: "tools/list" },
]

describe("version negotiation over --http", () => {
  it.each(["2024-11-05", "2025-03-26", "2025-06-18"])("a client asking for %s is answered with it", async (version) => {
    expect((await openSession(version)).negotiated).toBe(version)
  })

  it("a client asking for a version the server does not speak is answered with the latest it does", async () => {
    expect((await openSession("2099-01-01")).negotiated).toBe(LATEST_PROTOCOL_VERSION)
  })

  it.each(["2099-01-01", "garbage", ""])("a request with MCP-Protocol-Version %j is 400", async (header) => {
    const { post } = await openSession("2025-06-18")
    const response = await post({ jsonrpc: "2.0", id: 2, method: "ping" }, header)
    expect(response.status).toBe(400)
    await response.text()
  })

  it("a request without MCP-Protocol-Version is served (the server knows what was negotiated)", async () => {
    const { post } = await openSession("2025-06-18")
    const response = await post({ jsonrpc: "2.0", id: 2, method: "ping" }, null)
    expect(response.status).toBe(200)
    expect(await messagesIn(response)).toMatchObject([{ id: 2, result: {} }])
  })
})

describe("the lifecycle over --http", () => {
  it("a second initialize in a session is 400 (-32600) and the session serves on", async () => {
    const { post } = await openSession("2025-06-18")
    const again = await post(initialize({ elicitation: { url: {} } }, "2025-03-26"))
    expect(again.status).toBe(400)
    expect(await messagesIn(again)).toMatchObject([{ error: { code: -32600 } }])
    const ping = await post({ jsonrpc: "2.0", id: 3, method: "ping" })
    expect(await messagesIn(ping)).toMatchObject([{ id: 3, result: {} }])
  })

  it("a request before initialize (no session) is 400 and starts no session", async () => {
    const response = await fetch(served.url, {
      method: "POST",
      headers: mcpHeaders,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    })
    expect(response.status).toBe(400)
    expect(response.headers.get("mcp-session-id")).toBeNull()
    await response.text()
  })
})

describe("batches over --http", () => {
  it.each(["2025-06-18", LATEST_PROTOCOL_VERSION])(
    "are 400 (-32600) in a session that negotiated %s, and nothing in one runs",
    async (version) => {
      const { post } = await openSession(version)
      const response = await post(batch)
      expect(response.status).toBe(400)
      const [refusal] = await messagesIn(response)
      expect(refusal).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } })
      expect(JSON.stringify(refusal?.error)).toMatch(/batch/i)
      // A batch of notifications alone too: no 202 for it.
      const notifications = await post([{ jsonrpc: "2.0", method: "notifications/whatever" }])
      expect(notifications.status).toBe(400)
      await notifications.text()
      const ping = await post({ jsonrpc: "2.0", id: 13, method: "ping" })
      expect(await messagesIn(ping)).toMatchObject([{ id: 13, result: {} }])
    },
  )

  it("are served in a session that negotiated 2025-03-26", async () => {
    const { post } = await openSession("2025-03-26")
    const response = await post(batch)
    expect(response.status).toBe(200)
    const answers = await messagesIn(response)
    expect(answers.map((m) => m.id).sort()).toEqual([11, 12])
  })

  it("an initialize in a batch starts no session (2025-03-26: it MUST NOT be part of one)", async () => {
    const response = await fetch(served.url, {
      method: "POST",
      headers: mcpHeaders,
      body: `[${initialize({}, "2025-03-26")}]`,
    })
    expect(response.status).toBe(400)
    expect(response.headers.get("mcp-session-id")).toBeNull()
    const [refusal] = await messagesIn(response)
    expect(refusal).toMatchObject({ error: { code: -32600 } })
  })
})

describe("what needs no answer over --http", () => {
  it("an unknown notification, and a response to a request the server never made, are 202 with no body", async () => {
    const { post } = await openSession("2025-06-18")
    for (const body of [
      { jsonrpc: "2.0", method: "notifications/whatever" },
      { jsonrpc: "2.0", id: 4242, result: {} },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 999 } },
    ]) {
      const response = await post(body)
      expect(response.status).toBe(202)
      expect(await response.text()).toBe("")
    }
  })

  it.each([0, "", -1])("a request with id %j is answered on its own stream, with that id", async (id) => {
    const { post } = await openSession("2025-06-18")
    const response = await post({ jsonrpc: "2.0", id, method: "tools/list" })
    const [answer] = await messagesIn(response)
    expect(answer).toMatchObject({ jsonrpc: "2.0", id })
    expect(answer).toHaveProperty("result.tools")
  })

  it("a method of a capability not declared is -32601", async () => {
    const { post } = await openSession("2025-06-18")
    const response = await post({ jsonrpc: "2.0", id: 5, method: "resources/list" })
    expect(await messagesIn(response)).toMatchObject([{ id: 5, error: { code: -32601 } }])
  })
})
