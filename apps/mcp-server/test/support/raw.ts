/**
 * The built `hyperauth-mcp` over real stdio, spoken to in raw lines: for
 * what the SDK's `Client` never sends (lines that are not JSON, requests
 * its schemas refuse, arguments too deep for its `JSON.stringify`, lines
 * past the 10 MiB limit); and raw HTTP requests, for what `fetch` never
 * sends (a request target that is no URL).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { serverMain } from "./harness.js"

export interface RawSession {
  /** Writes `line` as is (a newline is added), or an object as its JSON. */
  readonly send: (line: string | Buffer | object) => Promise<void>
  /** Writes `bytes` with no newline. */
  readonly write: (bytes: Buffer) => Promise<void>
  /** Every message the server wrote to stdout, parsed. */
  readonly messages: () => ReadonlyArray<Record<string, unknown>>
  /** The server's answer to request `id`. */
  readonly answer: (id: string | number, timeoutMs?: number) => Promise<Record<string, unknown>>
  /** Waits until `check` holds (or fails after `timeoutMs`). */
  readonly until: (check: () => boolean, timeoutMs?: number) => Promise<void>
  readonly stderr: () => string
  /** The exit code, once the server has exited. */
  readonly exit: () => { readonly code: number | null } | undefined
  readonly close: () => Promise<void>
  /** Closes the reading end of the server's stdout, as a client that went away does: its writes then fail (EPIPE). */
  readonly stopReading: () => void
}

export interface RawOptions {
  /** The `protocolVersion` the session's `initialize` asks for; `null`: no `initialize` is sent. Default "2025-06-18". */
  readonly protocolVersion?: string | null
}

export const rawSession = async (env: Record<string, string>, options: RawOptions = {}): Promise<RawSession> => {
  const protocolVersion = options.protocolVersion === undefined ? "2025-06-18" : options.protocolVersion
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [serverMain], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ["pipe", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  const messages: Array<Record<string, unknown>> = []
  let exited: { code: number | null } | undefined
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
    let end = stdout.indexOf("\n")
    while (end !== -1) {
      messages.push(JSON.parse(stdout.slice(0, end)))
      stdout = stdout.slice(end + 1)
      end = stdout.indexOf("\n")
    }
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  child.on("exit", (code) => {
    exited = { code }
  })
  // A server that has gone refuses writes; the test then sees it exited.
  child.stdin.on("error", () => undefined)
  const send = (line: string | Buffer | object) =>
    new Promise<void>((resolve) => {
      const bytes = typeof line === "string" || Buffer.isBuffer(line) ? line : JSON.stringify(line)
      child.stdin.write(Buffer.concat([Buffer.from(bytes), Buffer.from("\n")]), () => resolve())
    })
  const write = (bytes: Buffer) => new Promise<void>((resolve) => child.stdin.write(bytes, () => resolve()))
  const until = async (check: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out; stderr: ${stderr.slice(-2000)}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const find = (id: string | number) => messages.find((m) => m.id === id && ("result" in m || "error" in m))
  const answer = async (id: string | number, timeoutMs = 10_000) => {
    await until(() => find(id) !== undefined, timeoutMs)
    return find(id) ?? {}
  }
  if (protocolVersion !== null) {
    await send({
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    })
    await answer("init", 20_000)
    await send({ jsonrpc: "2.0", method: "notifications/initialized" })
  }
  await until(() => /ready on stdio|failed to start/.test(stderr), 20_000)
  return {
    send,
    write,
    messages: () => messages,
    answer,
    until,
    stderr: () => stderr,
    exit: () => exited,
    stopReading: () => child.stdout.destroy(),
    close: async () => {
      if (exited !== undefined) return
      const gone = new Promise((resolve) => child.once("exit", resolve))
      child.stdin.end()
      await gone
    },
  }
}

/** Sends `request` as it is on a raw connection to a loopback `port` (of `address`); what came back (empty if the connection closed). */
export const rawHttp = (port: number, request: string, address = "127.0.0.1") =>
  new Promise<string>((resolve) => {
    let answer = ""
    const socket = createConnection({ host: address, port }, () => socket.write(request))
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      answer += chunk
    })
    socket.on("error", () => resolve(answer))
    socket.on("close", () => resolve(answer))
  })
