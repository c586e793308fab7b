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
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { serveHttp } from "../src/http.js"
import * as Runtime from "../src/runtime.js"

let runtime: Runtime.Runtime
let server: Server
let url = ""
const origin = "http://localhost:6274"
const token = "a-long-random-bearer-secret"

const serve = async (bearer: string | undefined) => {
  server = await serveHttp(runtime, { port: 0, token: bearer })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`
}

beforeEach(async () => {
  runtime = Runtime.make({ HYPERAUTH_STORE: "memory" })
})

afterEach(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
  await runtime.dispose()
})

describe("CORS for loopback origins, with HYPERAUTH_HTTP_TOKEN set", () => {
  beforeEach(() => serve(token))

  it("answers the preflight of a loopback origin", async () => {
    const preflight = await fetch(url, {
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
    const init = await fetch(url, {
      method: "POST",
      headers: {
        origin,
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    })
    await init.text()
    expect(init.headers.get("access-control-allow-origin")).toBe(origin)
    expect((init.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("mcp-session-id")
  })

  it("gives no CORS answer to an origin that is not loopback", async () => {
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
  })
})

describe("without HYPERAUTH_HTTP_TOKEN", () => {
  beforeEach(() => serve(undefined))

  it("answers a loopback origin's preflight 403, with no CORS headers, saying what to set", async () => {
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull()
    expect(await preflight.text()).toContain("HYPERAUTH_HTTP_TOKEN")
  })

  it("lets no loopback page read an answer", async () => {
    const init = await fetch(url, {
      method: "POST",
      headers: { origin, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    })
    await init.text()
    expect(init.headers.get("access-control-allow-origin")).toBeNull()
  })
})
