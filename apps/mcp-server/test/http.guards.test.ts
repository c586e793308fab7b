/**
 * The `--http` transport's DNS-rebinding and cross-origin guards, in
 * process over real loopback HTTP: which `Host` and `Origin` values a
 * request may carry. `fetch` sets `Host` itself, so these requests go out
 * through `node:http`, which sends the headers as given.
 *
 * A browser sends as `Origin` the serialized origin of the page: an
 * `http:` or `https:` page on a loopback host is a local page, anything
 * else is not one (`chrome-extension://localhost`, `file://localhost`),
 * and `null` is what sandboxed iframes, `file:` pages and some redirects
 * send, whatever site they came from.
 */
import { request } from "node:http"
import { createConnection } from "node:net"
import { describe, expect, it } from "vitest"
import { maxRequestBytes } from "../src/http.js"
import { initialize, mcpHeaders, useHttpServer } from "./support/httpServer.js"
import { rawHttp } from "./support/raw.js"

/** The status of an `initialize` POST to `url` with `headers` (Host defaults to the server's). */
const initializeWith = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const { port } = new URL(url)
    const req = request(
      { host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { ...mcpHeaders, ...headers } },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on("error", reject)
    req.end(initialize())
  })

describe("Origin", () => {
  const served = useHttpServer()

  it("accepts the http: and https: origins of loopback hosts", async () => {
    for (const origin of ["http://localhost:6274", "http://127.0.0.1:8080", "https://localhost", "http://[::1]:3000"]) {
      expect(await initializeWith(served.url, { origin }), origin).toBe(200)
    }
  })

  it("refuses a loopback host under any other scheme, and the opaque origin null", async () => {
    for (const origin of [
      "null",
      "chrome-extension://localhost",
      "moz-extension://127.0.0.1",
      "file://localhost",
      "file://",
      "ftp://127.0.0.1",
      "ws://localhost:6274",
      "blob:http://localhost:6274",
      "javascript://localhost",
      "http://localhost:6274/page", // no browser sends a path, user or trailing slash
      "http://user@localhost:6274",
      "http://localhost:6274/",
    ]) {
      expect(await initializeWith(served.url, { origin }), origin).toBe(403)
    }
  })

  it("refuses an origin whose host is not loopback", async () => {
    for (const origin of ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io"]) {
      expect(await initializeWith(served.url, { origin }), origin).toBe(403)
    }
  })
})

describe("Host", () => {
  const served = useHttpServer()
  const port = () => Number(new URL(served.url).port)

  it("accepts the loopback names, with the server's port or none", async () => {
    // Host names are case-insensitive (RFC 3986 §3.2.2).
    for (const host of [
      `127.0.0.1:${port()}`,
      `localhost:${port()}`,
      `LocalHost:${port()}`,
      `[::1]:${port()}`,
      "127.0.0.1",
    ]) {
      expect(await initializeWith(served.url, { host }), host).toBe(200)
    }
  })

  it("refuses the names a rebinding page would send, and loopback on another port", async () => {
    for (const host of [
      `localhost.evil.example:${port()}`,
      `127.0.0.1.nip.io:${port()}`,
      `localhost.:${port()}`, // a trailing dot is another name to a browser, and a rebinding one to DNS
      `[::ffff:127.0.0.1]:${port()}`,
      `0.0.0.0:${port()}`,
      `evil.example:${port()}`,
      `127.0.0.1:${port() + 1}`,
      `127.0.0.1:${port()}@evil.example`,
    ]) {
      expect(await initializeWith(served.url, { host }), host).toBe(403)
    }
  })
})

describe("Host, as the request line and header lines say it", () => {
  const served = useHttpServer()
  const port = () => Number(new URL(served.url).port)
  const body = initialize()
  /** The status line of an `initialize` sent as `target` with `hostLines`. */
  const send = async (target: string, hostLines: ReadonlyArray<string>) =>
    (
      await rawHttp(
        port(),
        `POST ${target} HTTP/1.1\r\n${hostLines.map((line) => `${line}\r\n`).join("")}` +
          `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
    ).split("\r\n")[0]

  it("refuses two Host lines, whichever comes first (RFC 9112: 400)", async () => {
    expect(await send("/mcp", [`Host: 127.0.0.1:${port()}`, "Host: evil.example"])).toMatch(/^HTTP\/1\.1 400 /)
    expect(await send("/mcp", ["Host: evil.example", `Host: 127.0.0.1:${port()}`])).toMatch(/^HTTP\/1\.1 40[03] /)
  })

  it("judges an absolute-form target by its authority, which RFC 9112 puts before the Host line", async () => {
    expect(await send("http://evil.example/mcp", [`Host: 127.0.0.1:${port()}`])).toMatch(/^HTTP\/1\.1 403 /)
    const loopback = await rawHttp(
      port(),
      `GET http://127.0.0.1:${port()}/mcp HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    )
    expect(loopback).toContain("Mcp-Session-Id is required") // past the Host check
  })
})

/**
 * Sends `head` (the request line and header lines) and `first`, the first
 * bytes of the body it announces, and never the rest: the status line the
 * server answered, and whether it closed the connection within `withinMs`
 * (else it would read the slow body on, up to Node's request timeout, for
 * a request it has answered).
 */
const answeredMidBody = (url: string, head: string, first = '{"jsonrpc":', withinMs = 2_000) =>
  new Promise<{ status: string; closed: boolean }>((resolve) => {
    let answer = ""
    const socket = createConnection({ host: "127.0.0.1", port: Number(new URL(url).port) }, () =>
      socket.write(`${head}\r\n${first}`),
    )
    const done = (closed: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ status: answer.split("\r\n")[0] ?? "", closed })
    }
    const timer = setTimeout(() => done(false), withinMs)
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      answer += chunk
    })
    socket.on("error", () => undefined)
    socket.on("close", () => done(true))
  })

/** A JSON body of 100000 bytes announced, of which the test sends the first few. */
const slowJson = "Content-Type: application/json\r\nContent-Length: 100000\r\n"
const accept = "Accept: application/json, text/event-stream\r\n"
/** A chunked body past the cap, whose terminating chunk never comes. */
const pastTheCap = `${(maxRequestBytes + 1).toString(16)}\r\n${" ".repeat(maxRequestBytes + 1)}\r\n`

describe("a request answered before its body has all arrived", () => {
  const token = "a-long-random-bearer-secret"
  // How long a connection may stay after such an answer, short here so that the test waits little.
  const served = useHttpServer({ token, connections: { drainMillis: 50 } })
  const host = () => `Host: 127.0.0.1:${new URL(served.url).port}\r\n`
  const auth = `Authorization: Bearer ${token}\r\n`

  it("has its connection closed with our refusal, not its slow body read on", async () => {
    const cases = {
      "no token": `POST /mcp HTTP/1.1\r\n${host()}${slowJson}`,
      "a foreign Host": `POST /mcp HTTP/1.1\r\nHost: evil.example\r\n${slowJson}`,
      "a foreign Origin": `POST /mcp HTTP/1.1\r\n${host()}Origin: https://evil.example\r\n${slowJson}`,
      "another path": `POST /other HTTP/1.1\r\n${host()}${auth}${slowJson}`,
      "an unknown session": `POST /mcp HTTP/1.1\r\n${host()}${auth}Mcp-Session-Id: forged\r\n${slowJson}`,
    }
    for (const [what, head] of Object.entries(cases)) {
      const { status, closed } = await answeredMidBody(served.url, head)
      expect(status, what).toMatch(/^HTTP\/1\.1 4\d\d /)
      expect(closed, what).toBe(true)
    }
  })

  it("has its connection closed soon after when the SDK's transport or a preflight answers it", async () => {
    const opened = await fetch(served.url, {
      method: "POST",
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: initialize(),
    })
    await opened.text()
    const session = `${auth}Mcp-Session-Id: ${opened.headers.get("mcp-session-id")}\r\nMcp-Protocol-Version: 2025-06-18\r\n`
    const post = `POST /mcp HTTP/1.1\r\n${host()}`
    const json = "Content-Type: application/json\r\n"
    const cases: ReadonlyArray<[string, number, string, string?]> = [
      ["a wrong Accept", 406, `${post}${session}Accept: text/html\r\n${slowJson}`],
      ["a wrong Content-Type", 415, `${post}${session}${accept}Content-Type: text/plain\r\nContent-Length: 100000\r\n`],
      ["a length past the cap", 413, `${post}${session}${accept}${json}Content-Length: ${maxRequestBytes + 1}\r\n`],
      ["a body past the cap", 413, `${post}${session}${accept}${json}Transfer-Encoding: chunked\r\n`, pastTheCap],
      ["an initialize past the cap", 413, `${post}${auth}${accept}${json}Transfer-Encoding: chunked\r\n`, pastTheCap],
      // Bodies nobody reads, which Node read on after the answer for as long as they came.
      ["a GET with a body", 406, `GET /mcp HTTP/1.1\r\n${host()}${session}Accept: application/json\r\n${slowJson}`],
      [
        "a preflight with a body",
        204,
        `OPTIONS /mcp HTTP/1.1\r\n${host()}Origin: http://localhost:5173\r\n${slowJson}`,
      ],
      // Not a refusal, but answered before the body came all the same (and the session ends).
      ["a DELETE with a body", 200, `DELETE /mcp HTTP/1.1\r\n${host()}${session}${slowJson}`],
    ]
    for (const [what, expected, head, first] of cases) {
      const { status, closed } = await answeredMidBody(served.url, head, first)
      expect(status, what).toMatch(new RegExp(`^HTTP/1\\.1 ${expected} `))
      expect(closed, what).toBe(true)
    }
  })
})
