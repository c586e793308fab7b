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
import { describe, expect, it } from "vitest"
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
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, `[::1]:${port()}`, "127.0.0.1"]) {
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
