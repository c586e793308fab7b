/**
 * A `call_api` body goes out: JSON as application/json, text with the
 * content type the caller set whatever the letter case of the header name.
 * A loopback server stands in for the provider's API and records what
 * arrived.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session
const received: Array<IncomingHttpHeaders> = []
const api = createServer((request, response) => {
  received.push(request.headers)
  request.resume()
  request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end("{}"))
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
