/**
 * The floor of an MCP `call_api`: the SDK's low-level `Server` with one
 * tool (`./oneToolServer.ts`, as the echo server) that makes the same GET
 * with plain `node:http` (a keep-alive agent, a token it was given) and
 * answers with the same result `call_api` gives (`{ status, headers, body, truncated }`
 * as `structuredContent` and as its JSON text copy). No input check, no
 * token store, no time limit, no retry, no capped read: what an MCP call
 * that makes one HTTP request costs when nothing else is done.
 *
 * Configured by `FLOOR_API_URL` (the API origin) and `FLOOR_TOKEN`.
 */
import * as Http from "node:http"
import { serve } from "./oneToolServer.js"

const origin = process.env.FLOOR_API_URL ?? ""
const authorization = `Bearer ${process.env.FLOOR_TOKEN ?? ""}`
const agent = new Http.Agent({ keepAlive: true })

interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: unknown
  readonly truncated: boolean
}

const get = (path: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const request = Http.get(
      `${origin}${path}`,
      { agent, headers: { accept: "application/json", authorization } },
      (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          text += chunk
        })
        response.on("end", () => {
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(response.headers))
            if (typeof value === "string") headers[name] = value
          resolve({ status: response.statusCode ?? 0, headers, body: JSON.parse(text), truncated: false })
        })
      },
    )
    request.on("error", reject)
  })

await serve({
  name: "get",
  description: "GET a path of the API with plain node:http.",
  argument: "path",
  call: async (path) => {
    const structured = { ...(await get(typeof path === "string" ? path : "/")) }
    return { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured }
  },
})
