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
