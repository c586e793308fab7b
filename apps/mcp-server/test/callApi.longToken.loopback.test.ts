/**
 * `call_api` with a long access token that holds many non-alphanumeric
 * characters (here 1,700 UUIDs joined with dots, 63 KB, just under the
 * 64 KiB the core takes from a token endpoint): redacting it
 * from the API's answer must neither fail nor hand the agent the token. The
 * scrubber's one pattern per secret (a group for every such character) was
 * too deep for V8 to compile, and V8's SyntaxError quotes the whole pattern,
 * the token's every character, which reached the agent as the error answer.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, type Session } from "./support/harness.js"

const token = Array.from({ length: 1700 }, () => crypto.randomUUID()).join(".")
let emulator: Emulator
let session: Session
// Node's default limit (16 KiB) would answer the token's request 431.
const api = createServer({ maxHeaderSize: 1024 * 1024 }, (request, response) => {
  request.resume()
  request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'))
})

beforeAll(async () => {
  emulator = await start()
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve))
  const { port } = api.address() as AddressInfo
  emulator.faults.inject({
    origin: "hyperproofAccounts",
    path: "/oauth/token",
    status: 200,
    body: { access_token: token, token_type: "bearer", expires_in: 3600 },
    times: 1,
  })
  session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: "memory",
    HYPERPROOF_API_URL: `http://127.0.0.1:${port}`,
  })
  await session.call("login", { provider: "hyperproof" })
})
afterAll(async () => {
  await session?.close()
  await new Promise((resolve) => api.close(resolve))
  await emulator?.close()
})

describe("call_api with a long token of many dots and dashes", () => {
  it("answers, and nothing of the token reaches the agent", async () => {
    const answer = await session.call("call_api", { provider: "hyperproof", method: "GET", path: "/v1/anything" }).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error: String(error) }),
    )
    const text = JSON.stringify(answer)
    // The token's first UUID, raw or as the pattern spelled it.
    const first = token.slice(0, 36)
    // Booleans, not the texts: a failure would print the token.
    expect(text.includes(first.split("-")[0] ?? first), "a piece of the token reached the agent").toBe(false)
    expect(answer.error === undefined, "call_api failed").toBe(true)
    expect(answer.result?.structuredContent).toMatchObject({ status: 200, body: { ok: true } })
  }, 60_000)
})
