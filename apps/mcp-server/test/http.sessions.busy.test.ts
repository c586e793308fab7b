/**
 * Which sessions an `initialize` at the cap may not take the place of, in
 * process over real loopback HTTP against the emulator, with the sessions'
 * clock injected: one with a request in flight (a `complete_login`
 * waiting for the user), and one whose client has still to answer a
 * request of the server's (a URL-mode elicitation, which the server sends
 * on the `login` call's stream and which outlives it). However long either
 * has been quiet otherwise, it is busy, not quiet.
 */
import { describe, expect, it } from "vitest"
import { mcpHeaders as baseHeaders, initialize, messagesOf, useHttpServer } from "./support/httpServer.js"

const idleMillis = 60_000
let now = 1_000_000
const served = useHttpServer({
  emulator: true,
  sessions: { idleMillis, quietMillis: idleMillis / 2, max: 1, now: () => now },
})

const openSession = async (capabilities: Record<string, unknown> = {}) => {
  const init = await fetch(served.url, {
    method: "POST",
    headers: baseHeaders,
    body: initialize(capabilities, "2025-11-25"),
  })
  await init.text()
  const headers = {
    ...baseHeaders,
    "mcp-session-id": init.headers.get("mcp-session-id") ?? "",
    "mcp-protocol-version": "2025-11-25",
  }
  const post = (body: unknown) => fetch(served.url, { method: "POST", headers, body: JSON.stringify(body) })
  if (init.status === 200) await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text()
  return { status: init.status, post }
}

const ping = async (post: (body: unknown) => Promise<Response>) => {
  const answer = await post({ jsonrpc: "2.0", id: 99, method: "ping" })
  await answer.text()
  return answer.status
}

/** Starts a device login of hyper: the messages of the `login` call's stream. */
const login = async (post: (body: unknown) => Promise<Response>) => {
  const answer = await post({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "login", arguments: { provider: "hyper" } },
  })
  return messagesOf(await answer.text())
}

describe("an initialize at the cap", () => {
  it("does not take the place of a session with a request in flight", async () => {
    const busy = await openSession()
    const messages = await login(busy.post)
    const result = messages[0]?.result as { structuredContent: { login_id: string } } | undefined
    const login_id = result?.structuredContent.login_id ?? ""
    const waiting = await busy.post({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "complete_login", arguments: { login_id, wait_seconds: 30 } },
    })
    expect(waiting.status).toBe(200)
    now += 10 * idleMillis
    expect((await openSession()).status).toBe(503)
    // Once the call is over (cancelled here), the session is quiet from then on.
    await (await busy.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 3 } })).text()
    await waiting.text()
    now += 10 * idleMillis
    expect((await openSession()).status).toBe(200)
    expect(await ping(busy.post)).toBe(404)
  })

  it("does not take the place of a session whose client has still to answer the server's elicitation", async () => {
    const asked = await openSession({ elicitation: { url: {} } })
    const [offer] = await login(asked.post)
    expect(offer?.method).toBe("elicitation/create")
    now += 10 * idleMillis
    expect((await openSession()).status).toBe(503)
    const answered = await asked.post({ jsonrpc: "2.0", id: offer?.id, result: { action: "accept" } })
    expect(answered.status).toBe(202)
    await answered.text()
    now += 10 * idleMillis
    expect((await openSession()).status).toBe(200)
    expect(await ping(asked.post)).toBe(404)
  })
})
