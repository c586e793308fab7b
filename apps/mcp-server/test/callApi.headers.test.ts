/**
 * The headers `call_api` hands back are the answer's end-to-end ones. The
 * server is an intermediary between the agent and the API, so it drops what
 * described its own connection to the API (the hop-by-hop headers of RFC
 * 9110 §7.6.1, and any the answer's `Connection` names) and what would
 * hand the agent the API's cookies or challenges. A loopback server stands
 * in for the provider's API.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, expect, it } from "vitest"
import { connect, emulatorEnv, type Session, structured } from "./support/harness.js"

let emulator: Emulator
let session: Session
const api = createServer((_request, response) => {
  response.writeHead(200, [
    ["content-type", "application/json"],
    ["x-request-id", "req_1"],
    ["cache-control", "no-store"],
    ["set-cookie", "session=s3cr3t; HttpOnly"],
    ["www-authenticate", 'Bearer realm="api"'],
    ["proxy-authenticate", 'Basic realm="proxy"'],
    ["connection", "keep-alive, X-Hop"],
    ["x-hop", "1"],
    ["keep-alive", "timeout=5"],
    ["proxy-connection", "keep-alive"],
    ["trailer", "x-checksum"],
  ])
  // No length: the answer goes out chunked (`Transfer-Encoding: chunked`).
  response.write('{"ok":')
  response.end("true}")
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

it("call_api returns the end-to-end headers only: no hop-by-hop ones, none Connection names, no cookies or challenges", async () => {
  const result = structured(await session.call("call_api", { provider: "hyperproof", method: "GET", path: "/v1/x" }))
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
