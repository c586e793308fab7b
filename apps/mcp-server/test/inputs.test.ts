/**
 * A malformed tool call is `invalid_input` naming each bad field by its
 * path and saying what it must be — and never quoting what was sent, which
 * may be a secret pasted into the wrong field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, errorCode, type Session, textOf } from "./support/harness.js"

/** What an agent might paste into the wrong field. */
const secret = "sk_live_9f8e7d6c5b4a"

let session: Session
beforeAll(async () => {
  session = await connect({ HYPERAUTH_STORE: "memory" })
})
afterAll(async () => {
  await session?.close()
})

describe("invalid_input", () => {
  it.each([
    ["call_api", { provider: secret, method: "GET", path: "/v1/x" }, ["provider", "hyperproof"]],
    ["call_api", { provider: "hyperproof", method: secret, path: "/v1/x" }, ["method", "GET"]],
    ["call_api", { provider: "hyperproof", method: "GET" }, ["path"]],
    ["call_api", { provider: "hyperproof", method: "GET", path: "/x", headers: { "x-key": 42 } }, ["headers.x-key"]],
    ["call_api", { provider: "hyperproof", method: "GET", path: "/x", query: { key: [secret] } }, ["query.key"]],
    ["login", { provider: "hyperproof", account: `${secret} !` }, ["account", "letters, digits"]],
    ["login", { provider: "hyperproof", account: "" }, ["account"]],
    ["get_token", { provider: "hyperproof", reveal: secret }, ["reveal", "boolean"]],
    ["complete_login", { login_id: secret, wait_seconds: 500 }, ["wait_seconds", "120"]],
    ["complete_login", { login_id: "" }, ["login_id"]],
  ] as const)("%s %j names the field and quotes nothing", async (tool, args, mentions) => {
    const result = await session.call(tool, args)
    const text = textOf(result)
    expect(errorCode(result), text).toBe("invalid_input")
    for (const mention of mentions) expect(text).toContain(mention)
    expect(text).toContain(`call ${tool} again`)
    expect(text).not.toContain(secret)
    expect(text).not.toContain("42")
  })
})
