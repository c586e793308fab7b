/**
 * Browser clients over `--http` (the MCP Inspector's direct connection, any
 * web page on a loopback origin): the server accepts loopback `Origin`s,
 * but a browser sends a `POST` with `Content-Type: application/json` and
 * `Mcp-Session-Id` / `Mcp-Protocol-Version` headers only after a CORS
 * preflight, and lets the page read `Mcp-Session-Id` only when it is
 * exposed. Without CORS answers such a client cannot connect at all.
 *
 * CORS is answered only when `HYPERAUTH_HTTP_TOKEN` is set: without it,
 * any page some local server serves (a dev server showing a cloned
 * repository, a notebook) could drive the tools with the user's logins and
 * read the answers; with it, a page needs the token besides.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "vitest"
import { initialize, mcpHeaders, useHttpServer } from "./support/httpServer.js"

const origin = "http://localhost:6274"
const token = "a-long-random-bearer-secret"

/** A page's `initialize`, from `origin`, with `headers` besides. */
const initializeFrom = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { origin, ...mcpHeaders, ...headers }, body: initialize() })

describe("CORS for loopback origins, with HYPERAUTH_HTTP_TOKEN set", () => {
  const served = useHttpServer({ token })

  it("answers the preflight of a loopback origin", async () => {
    const preflight = await fetch(served.url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,mcp-protocol-version,mcp-session-id",
      },
    })
    expect(preflight.status).toBeLessThan(300)
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin)
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/)
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase()
    for (const header of ["content-type", "mcp-protocol-version", "mcp-session-id"]) expect(allowed).toContain(header)
  })

  it("lets the page read the session id of its initialize answer", async () => {
    const init = await initializeFrom(served.url, { authorization: `Bearer ${token}` })
    await init.text()
    expect(init.headers.get("access-control-allow-origin")).toBe(origin)
    expect((init.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("mcp-session-id")
  })

  it("takes a session id for no credential: without the token it is 401, a forged one 404", async () => {
    const init = await initializeFrom(served.url, { authorization: `Bearer ${token}` })
    await init.text()
    const session = init.headers.get("mcp-session-id") ?? ""
    const ping = (headers: Record<string, string>) =>
      fetch(served.url, {
        method: "POST",
        headers: { origin: "http://127.0.0.1:5173", ...mcpHeaders, "mcp-protocol-version": "2025-06-18", ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }),
      }).then(async (response) => [response.status, await response.text()] as const)
    expect((await ping({ "mcp-session-id": session }))[0]).toBe(401)
    expect((await ping({ "mcp-session-id": randomUUID(), authorization: `Bearer ${token}` }))[0]).toBe(404)
    const [status, body] = await ping({ "mcp-session-id": session, authorization: `Bearer ${token}` })
    expect(status).toBe(200)
    expect(body).toContain('"result"')
  })

  it("gives no CORS answer to an origin that is not loopback", async () => {
    const preflight = await fetch(served.url, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
  })
})

describe("without HYPERAUTH_HTTP_TOKEN", () => {
  const served = useHttpServer()

  it("answers a loopback origin's preflight 403, with no CORS headers, saying what to set", async () => {
    const preflight = await fetch(served.url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
    expect(await preflight.text()).toContain("HYPERAUTH_HTTP_TOKEN")
  })

  it("starts no session for a request a page may send without a preflight (a text/plain form post)", async () => {
    // A Content-Type whose media type is text/plain is CORS-safelisted, however its parameters read.
    const simple = await fetch(served.url, {
      method: "POST",
      headers: { origin, accept: mcpHeaders.accept, "content-type": "text/plain; a=application/json" },
      body: initialize(),
    })
    await simple.text()
    expect(simple.status).toBe(415)
    expect(simple.headers.get("mcp-session-id")).toBeNull()
  })

  it("lets no loopback page read an answer", async () => {
    const init = await initializeFrom(served.url)
    await init.text()
    expect(init.headers.get("access-control-allow-origin")).toBeNull()
  })
})
