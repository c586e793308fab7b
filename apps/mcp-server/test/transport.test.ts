/** The server's transports and lifecycle: Streamable HTTP guards, shutdown. */
import { type ChildProcess, spawn } from "node:child_process"
import { request } from "node:http"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { afterEach, describe, expect, it } from "vitest"
import { serverMain } from "./support/harness.js"

const children: Array<ChildProcess> = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL")
})

const launch = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [serverMain, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", HYPERAUTH_STORE: "memory", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  })
  children.push(child)
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const line = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stderr)
        if (match !== null) return resolve(match)
        if (child.exitCode !== null) return reject(new Error(`exited: ${stderr}`))
        setTimeout(check, 20)
      }
      check()
    })
  return { child, exited, line }
}

/** A raw request, so that Host and Origin can be anything. */
const post = (port: number, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/mcp",
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on("error", reject)
    req.end(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    )
  })

describe("Streamable HTTP", () => {
  it("binds to loopback, checks Host, Origin and the bearer secret, and serves the tools", async () => {
    const server = launch(["--http", "--port", "0"], { HYPERAUTH_HTTP_TOKEN: "http-secret" })
    const port = Number((await server.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/))[1])
    const auth = { authorization: "Bearer http-secret" }
    expect(await post(port, { ...auth, host: "evil.example" })).toBe(403)
    expect(await post(port, { ...auth, host: `localhost:${port}`, origin: "https://evil.example" })).toBe(403)
    expect(await post(port, { host: `127.0.0.1:${port}` })).toBe(401)
    expect(await post(port, { host: `127.0.0.1:${port}`, authorization: "Bearer wrong" })).toBe(401)

    const client = new Client({ name: "http-e2e", version: "0.0.0" })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: auth } }),
    )
    const { tools } = await client.listTools()
    expect(tools).toHaveLength(8)
    const listed = await client.callTool({ name: "list_providers", arguments: {} })
    expect(listed.isError).toBeFalsy()
    await client.close()

    server.child.kill("SIGTERM")
    expect(await server.exited).toBe(0)
  })
})

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
}

/** A raw exchange with /mcp: status, session id and the JSON-RPC error, if the answer has one. */
const exchange = async (
  port: number,
  init: { method?: string; body?: string | ReadableStream<Uint8Array>; headers?: Record<string, string> },
) => {
  const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: init.method ?? "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body, duplex: "half" }),
  })
  const text = await response.text()
  const json = /^\s*\{/.test(text) ? (JSON.parse(text) as { error?: { code: number; message: string } }) : undefined
  return { status: response.status, session: response.headers.get("mcp-session-id"), error: json?.error }
}

describe("HYPERAUTH_HTTP_TOKEN", () => {
  it("set but empty or blank, or with spaces around it, stops the start: no server without the token asked for", async () => {
    for (const token of ["", "   ", " padded-secret", "padded-secret\n"]) {
      const server = launch(["--http", "--port", "0"], { HYPERAUTH_HTTP_TOKEN: token })
      expect(await server.exited, JSON.stringify(token)).not.toBe(0)
      const stderr = await server.line(/failed to start: .*/)
      expect(stderr[0]).toContain("HYPERAUTH_HTTP_TOKEN")
      expect(stderr[0]).not.toContain("padded-secret")
      expect(stderr.input).not.toMatch(/listening on/)
    }
  })
})

describe("Streamable HTTP sessions", () => {
  it("answers an unknown or ended Mcp-Session-Id with 404, ends sessions on DELETE, and 404 after a restart", async () => {
    const server = launch(["--http", "--port", "0"])
    const port = Number((await server.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/))[1])
    const unknown = await exchange(port, {
      headers: { "mcp-session-id": "no-such-session" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    })
    expect(unknown.status).toBe(404)
    expect(unknown.error?.code).toBe(-32001)

    const opened = await exchange(port, { body: JSON.stringify(initialize) })
    expect(opened.status).toBe(200)
    const session = { "mcp-session-id": opened.session ?? "", "mcp-protocol-version": "2025-06-18" }
    const listed = await exchange(port, {
      headers: session,
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    })
    expect(listed.status).toBe(200)
    expect((await exchange(port, { method: "DELETE", headers: session })).status).toBe(200)
    const ended = await exchange(port, {
      headers: session,
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }),
    })
    expect(ended.status).toBe(404)

    // A restarted server knows none of the old sessions: 404, so the client starts anew.
    const reopened = await exchange(port, { body: JSON.stringify(initialize) })
    server.child.kill("SIGTERM")
    await server.exited
    const again = launch(["--http", "--port", String(port)])
    await again.line(/listening on/)
    const afterRestart = await exchange(port, {
      headers: { "mcp-session-id": reopened.session ?? "", "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    })
    expect(afterRestart.status).toBe(404)
  })

  it("answers a body that is not JSON with -32700 and one past the cap with 413", async () => {
    const server = launch(["--http", "--port", "0"])
    const port = Number((await server.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/))[1])
    const garbage = await exchange(port, { body: "{not json" })
    expect(garbage.status).toBe(400)
    expect(garbage.error?.code).toBe(-32700)

    const opened = await exchange(port, { body: JSON.stringify(initialize) })
    const session = { "mcp-session-id": opened.session ?? "", "mcp-protocol-version": "2025-06-18" }
    expect((await exchange(port, { headers: session, body: "]" })).error?.code).toBe(-32700)

    // Streamed without a length, so the cap is enforced while reading, not from a header.
    const chunk = new Uint8Array(1024 * 1024).fill(0x20)
    let sent = 0
    const huge = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        sent += chunk.length
        if (sent > 64 * 1024 * 1024) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const tooLarge = await exchange(port, { headers: session, body: huge })
    expect(tooLarge.status).toBe(413)
    expect(sent).toBeLessThan(64 * 1024 * 1024)
    // The server is still there.
    expect((await exchange(port, { body: JSON.stringify(initialize) })).status).toBe(200)
  })

  it("reports protocol errors once, not as 'MCP error -32602: MCP error -32602: ...'", async () => {
    const server = launch(["--http", "--port", "0"])
    const port = Number((await server.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/))[1])
    const client = new Client({ name: "http-e2e", version: "0.0.0" })
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)))
    const unknownTool = await client.callTool({ name: "no_such_tool", arguments: {} }).catch((error: Error) => error)
    expect(unknownTool).toBeInstanceOf(Error)
    expect((unknownTool as Error).message).toBe("MCP error -32602: Unknown tool: no_such_tool")
    await client.close()
  })
})

describe("stdio lifecycle", () => {
  it("writes nothing but protocol to stdout and stops when stdin closes", async () => {
    const server = launch([])
    let stdout = ""
    server.child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    await server.line(/ready on stdio/)
    server.child.stdin?.end()
    expect(await server.exited).toBe(0)
    expect(stdout).toBe("")
  })

  it("stops cleanly on SIGINT", async () => {
    const server = launch([])
    await server.line(/ready on stdio/)
    server.child.kill("SIGINT")
    expect(await server.exited).toBe(0)
  })
})
