/**
 * Cancellation over `--http`, in process over real loopback HTTP against
 * the emulator: a request the client cancels (`notifications/cancelled`)
 * gets no answer, as MCP says, and its SSE stream (the POST's response) is
 * ended all the same. The SDK's transport ends a POST's stream only once
 * every request in it is answered, so a cancelled one held the connection
 * open until the session ended, and the session counted as busy, never
 * idle.
 */
import { describe, expect, it } from "vitest"
import { mcpHeaders as baseHeaders, initialize, messagesOf, readFor, useHttpServer } from "./support/httpServer.js"

const served = useHttpServer({ emulator: true })

const openSession = async (protocolVersion: string) => {
  const init = await fetch(served.url, {
    method: "POST",
    headers: baseHeaders,
    body: initialize({}, protocolVersion),
  })
  await init.text()
  const headers = {
    ...baseHeaders,
    "mcp-session-id": init.headers.get("mcp-session-id") ?? "",
    "mcp-protocol-version": protocolVersion,
  }
  const post = (body: unknown) => fetch(served.url, { method: "POST", headers, body: JSON.stringify(body) })
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text()
  return post
}

/** A device login of hyper still waiting for the user: its id. */
const pendingLogin = async (post: (body: unknown) => Promise<Response>): Promise<string> => {
  const answer = await post({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "login", arguments: { provider: "hyper" } },
  })
  const [message] = messagesOf(await answer.text())
  const result = message?.result as { structuredContent: { login_id: string } }
  return result.structuredContent.login_id
}

const waitCall = (id: number | string, loginId: string, waitSeconds: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "complete_login", arguments: { login_id: loginId, wait_seconds: waitSeconds } },
})

const cancel = (requestId: number | string) => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId, reason: "the user stopped it" },
})

describe("a cancelled request over --http", () => {
  // 0 and "" too, which the SDK's Protocol ignored in a cancellation (see requestIds.ts).
  it.each([7, 0, ""])("gets no answer, and its stream ends at once (id %j)", async (id) => {
    const post = await openSession("2025-06-18")
    const loginId = await pendingLogin(post)
    const waiting = await post(waitCall(id, loginId, 30))
    expect(waiting.status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await post(cancel(id))).status).toBe(202)
    const { text, ended } = await readFor(waiting, 3000)
    expect(ended).toBe(true)
    expect(messagesOf(text).filter((message) => message.id === id)).toEqual([])
    // The session serves on.
    const ping = await post({ jsonrpc: "2.0", id: 8, method: "ping" })
    expect(messagesOf(await ping.text())).toMatchObject([{ id: 8, result: {} }])
  })

  it("in a batch (2025-03-26): the others are answered, then the stream ends", async () => {
    const post = await openSession("2025-03-26")
    const loginId = await pendingLogin(post)
    const waiting = await post([waitCall(7, loginId, 30), waitCall(9, loginId, 1)])
    expect(waiting.status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect((await post(cancel(7))).status).toBe(202)
    const { text, ended } = await readFor(waiting, 5000)
    expect(ended).toBe(true)
    const answers = messagesOf(text).filter((message) => "result" in message || "error" in message)
    expect(answers).toMatchObject([{ id: 9, result: { structuredContent: { status: "pending" } } }])
  })
})
