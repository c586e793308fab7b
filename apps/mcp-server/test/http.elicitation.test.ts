/**
 * URL-mode elicitation over `--http`, in process over real loopback HTTP
 * against the emulator: the offer of a login's URL is sent on the stream of
 * the `login` call it belongs to (Streamable HTTP: messages sent before the
 * response "SHOULD relate to the originating client request"), so a client
 * that opens no GET stream (which it MAY do) still gets it. Sent unrelated,
 * it went to the standalone GET stream only, and without one it was lost.
 */
import { describe, expect, it } from "vitest"
import { mcpHeaders as baseHeaders, initialize, messagesOf, useHttpServer } from "./support/httpServer.js"

const served = useHttpServer({ emulator: true })

describe("URL-mode elicitation over --http", () => {
  it("is sent on the login call's own stream, before its answer, with no GET stream open", async () => {
    const init = await fetch(served.url, {
      method: "POST",
      headers: baseHeaders,
      body: initialize({ elicitation: { url: {} } }, "2025-11-25"),
    })
    await init.text()
    const headers = {
      ...baseHeaders,
      "mcp-session-id": init.headers.get("mcp-session-id") ?? "",
      "mcp-protocol-version": "2025-11-25",
    }
    const post = (body: unknown) => fetch(served.url, { method: "POST", headers, body: JSON.stringify(body) })
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
