/**
 * `call_api` against a loopback server that stands in for the provider's
 * API: a body goes out as JSON (application/json) or as text with the
 * content type the caller set, whatever the letter case of the header
 * name; and the headers that come back are the answer's end-to-end ones.
 * The server is an intermediary between the agent and the API, so it drops
 * what described its own connection to the API (the hop-by-hop headers of
 * RFC 9110 §7.6.1, and those the answer's `Connection` names) and what
 * would hand the agent the API's cookies or challenges.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session
const received: Array<IncomingHttpHeaders> = []
/** What `/v1/hop-by-hop` answers with, beside its end-to-end headers. */
const droppedHeaders: Array<[string, string]> = [
  ["set-cookie", "session=s3cr3t; HttpOnly"],
  ["www-authenticate", 'Bearer realm="api"'],
  ["proxy-authenticate", 'Basic realm="proxy"'],
  ["connection", "keep-alive, X-Hop"],
  ["x-hop", "1"],
  ["keep-alive", "timeout=5"],
  ["proxy-connection", "keep-alive"],
  ["trailer", "x-checksum"],
]
const api = createServer((request, response) => {
  received.push(request.headers)
  request.resume()
  request.on("end", () => {
    // A debugging endpoint that reflects what it was sent, as such endpoints and error pages do.
    const sent = request.headers.authorization ?? ""
    const token = sent.replace(/^Bearer /, "")
    if (request.url === "/v1/echo.json") {
      response
        .writeHead(200, { "content-type": "application/json", "x-echo": sent })
        .end(JSON.stringify({ authorization: sent, nested: [{ token }], encoded: encodeURIComponent(token) }))
      return
    }
    if (request.url === "/v1/echo-escaped.json") {
      // Every character JSON-escaped (letters too), as a serializer that escapes all but ASCII punctuation might.
      const escaped = [...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
      const first = `\\u${(token.charCodeAt(0) || 0).toString(16).padStart(4, "0")}${token.slice(1)}`
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(`{"escaped":"${escaped}","first":"${first}","k":{"${first}":1}}`)
      return
    }
    if (request.url === "/v1/echo-name") {
      // The token as a header's name: a server that turns what it was sent into headers of its own.
      response.writeHead(200, { "content-type": "application/json", [`x-seen-${token}`]: "1" }).end("{}")
      return
    }
    if (request.url === "/v1/echo.txt") {
      response.writeHead(500, { "content-type": "text/plain" }).end(`Bad request. Headers: Authorization: ${sent}`)
      return
    }
    if (request.url !== "/v1/hop-by-hop") {
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
      return
    }
    response.writeHead(200, [
      ["content-type", "application/json"],
      ["x-request-id", "req_1"],
      ["cache-control", "no-store"],
      ...droppedHeaders,
    ])
    // No length: the answer goes out chunked (`Transfer-Encoding: chunked`).
    response.write('{"ok":')
    response.end("true}")
  })
})

beforeAll(async () => {
  emulator = await start()
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve))
  const { port } = api.address() as AddressInfo
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERPROOF_API_URL: `http://127.0.0.1:${port}`,
  })
  expect(structured(await session.call("login", { provider: "hyperproof" })).status).toBe("authenticated")
})
afterAll(async () => {
  await session?.close()
  await new Promise((resolve) => api.close(resolve))
  await emulator?.close()
})

/** `call_api` GET of `path`, and the token it sent (the Authorization the API saw). */
const echoed = async (path: string) => {
  received.length = 0
  const result = await session.call("call_api", { provider: "hyperproof", method: "GET", path })
  const sent = String(received[0]?.authorization ?? "").replace(/^Bearer /, "")
  expect(sent.length).toBeGreaterThan(8)
  return { result, sent }
}

describe("call_api and the login's token", () => {
  it("the token the API echoes back is redacted from the body, parsed or not, and from the headers", async () => {
    for (const path of ["/v1/echo.json", "/v1/echo.txt"]) {
      const { result, sent } = await echoed(path)
      const text = JSON.stringify(result)
      expect(text, path).not.toContain(sent)
      expect(text, path).not.toContain(encodeURIComponent(sent))
      expect(text, path).toContain("[redacted]")
    }
    const parsed = structured(
      await session.call("call_api", { provider: "hyperproof", method: "GET", path: "/v1/echo.json" }),
    )
    expect(parsed.body).toEqual({
      authorization: "Bearer [redacted]",
      nested: [{ token: "[redacted]" }],
      encoded: "[redacted]",
    })
    expect((parsed.headers as Record<string, string>)["x-echo"]).toBe("Bearer [redacted]")
  })

  it("the token echoed with its letters JSON-escaped is redacted: parsed, the body would hold it whole", async () => {
    const { result, sent } = await echoed("/v1/echo-escaped.json")
    expect(JSON.stringify(result)).not.toContain(sent.slice(1))
    expect(structured(result).body).toEqual({ escaped: "[redacted]", first: "[redacted]", k: { "[redacted]": 1 } })
  })

  it("a header whose name carries the token comes back with the name redacted", async () => {
    const { result, sent } = await echoed("/v1/echo-name")
    // Header names come in lower case: the token's lowered copy is what a name would carry.
    expect(JSON.stringify(result).toLowerCase()).not.toContain(sent.toLowerCase())
    expect(Object.keys(structured(result).headers as Record<string, string>)).toContain("x-seen-[redacted]")
  })
})

describe("call_api with a JSON body", () => {
  it("sends it as application/json (the body's own length header is the client's, not refused)", async () => {
    received.length = 0
    const result = await session.call("call_api", {
      provider: "hyperproof",
      method: "POST",
      path: "/v1/notes",
      body: { note: "hello" },
    })
    expect(structured(result).status).toBe(200)
    expect(received[0]?.["content-type"]).toBe("application/json")
    expect(received[0]?.["content-length"]).toBe(String(JSON.stringify({ note: "hello" }).length))
  })
})

describe("call_api with a text body", () => {
  for (const name of ["content-type", "Content-Type", "CONTENT-TYPE"]) {
    it(`sends the content type set as ${name}`, async () => {
      received.length = 0
      const result = await session.call("call_api", {
        provider: "hyperproof",
        method: "POST",
        path: "/v1/notes",
        headers: { [name]: "application/xml" },
        body: "<note/>",
      })
      expect(structured(result).status).toBe(200)
      expect(received[0]?.["content-type"]).toBe("application/xml")
    })
  }
})

describe("call_api's answer headers", () => {
  it("are the end-to-end ones only: no hop-by-hop ones, none Connection names, no cookies or challenges", async () => {
    const result = structured(
      await session.call("call_api", { provider: "hyperproof", method: "GET", path: "/v1/hop-by-hop" }),
    )
    expect(result.status).toBe(200)
    expect(result.body).toEqual({ ok: true })
    const headers = result.headers as Record<string, string>
    expect(headers["content-type"]).toBe("application/json")
    expect(headers["x-request-id"]).toBe("req_1")
    expect(headers["cache-control"]).toBe("no-store")
    expect(Object.keys(headers).sort()).toEqual(["cache-control", "content-type", "date", "x-request-id"])
    // The JSON text copy says the same.
    expect(JSON.stringify(result)).not.toMatch(/s3cr3t|keep-alive|chunked|x-hop|realm/i)
  })
})
