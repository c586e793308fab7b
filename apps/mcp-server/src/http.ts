/**
 * Streamable HTTP on 127.0.0.1, endpoint `/mcp`: Host and Origin must be
 * loopback (DNS-rebinding protection), and with `HYPERAUTH_HTTP_TOKEN` set
 * every request must carry it as a Bearer token.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto"
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import type { Runtime } from "./runtime.js"
import { createServer } from "./server.js"

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"])

const hostOk = (host: string | undefined, port: number): boolean => {
  if (host === undefined) return false
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host)
  return match !== null && loopbackHosts.has(match[1] ?? "") && (match[2] === undefined || Number(match[2]) === port)
}

const originOk = (origin: string | undefined): boolean => {
  if (origin === undefined) return true // not a browser
  if (!URL.canParse(origin)) return false
  return loopbackHosts.has(new URL(origin).hostname)
}

const sameToken = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

const readJson = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      try {
        resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch (error) {
        reject(error)
      }
    })
    req.on("error", reject)
  })

export interface HttpOptions {
  readonly port: number
  /** `HYPERAUTH_HTTP_TOKEN`: required as `Authorization: Bearer` when set. */
  readonly token: string | undefined
}

export const serveHttp = (runtime: Runtime, options: HttpOptions): Promise<HttpServer> => {
  const sessions = new Map<string, StreamableHTTPServerTransport>()

  const httpServer = createHttpServer((req, res) => {
    const port = (httpServer.address() as AddressInfo).port
    const reject = (status: number, message: string) =>
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }))
    if (!hostOk(req.headers.host, port)) return reject(403, "Host must be a loopback address")
    if (!originOk(req.headers.origin)) return reject(403, "Origin must be a loopback address")
    if (options.token !== undefined) {
      const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]
      if (given === undefined || !sameToken(given, options.token)) {
        res.setHeader("www-authenticate", 'Bearer realm="hyperauth-mcp"')
        return reject(401, "A valid bearer token (HYPERAUTH_HTTP_TOKEN) is required")
      }
    }
    if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== "/mcp") return reject(404, "The MCP endpoint is /mcp")

    const sessionId = req.headers["mcp-session-id"]
    const existing = typeof sessionId === "string" ? sessions.get(sessionId) : undefined
    const handle = async () => {
      const body = req.method === "POST" ? await readJson(req) : undefined
      if (existing !== undefined) return existing.handleRequest(req, res, body)
      if (req.method !== "POST" || !isInitializeRequest(body)) {
        return reject(400, "No valid session: send an initialize request first")
      }
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, transport)
        },
      })
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
      }
      await createServer(runtime).connect(transport)
      return transport.handleRequest(req, res, body)
    }
    handle().catch(() => {
      if (!res.headersSent) reject(400, "The request body is not valid JSON")
    })
  })

  return new Promise((resolve, reject) => {
    httpServer.once("error", reject)
    httpServer.listen(options.port, "127.0.0.1", () => resolve(httpServer))
  })
}
