/**
 * A malformed tool call is `invalid_input` naming each bad field by its
 * path and saying what it must be — and never quoting what was sent, which
 * may be a secret pasted into the wrong field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, errorCode, type Session, textOf } from "./support/harness.js"

const range = <A>(n: number, f: (i: number) => A): Array<A> => Array.from({ length: n }, (_, i) => f(i))

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

  it.each([
    ["a long scope", "login", { provider: "hyperid", scope: `openid ${"x".repeat(2000)}` }, ["scope", "1024"]],
    ["a long login_id", "complete_login", { login_id: `login_${"x".repeat(500)}` }, ["login_id", "128"]],
    [
      "a long redirect_url",
      "complete_login",
      { login_id: "login_1", redirect_url: `https://x/?${"a".repeat(20_000)}` },
      ["redirect_url", "16384"],
    ],
    [
      "a long path",
      "call_api",
      { provider: "hyperproof", method: "GET", path: `/${"a".repeat(9000)}` },
      ["path", "8192"],
    ],
    [
      "many query parameters",
      "call_api",
      { provider: "hyperproof", method: "GET", path: "/x", query: Object.fromEntries(range(300, (i) => [`q${i}`, i])) },
      ["query", "256"],
    ],
    [
      "many headers",
      "call_api",
      {
        provider: "hyperproof",
        method: "GET",
        path: "/x",
        headers: Object.fromEntries(range(100, (i) => [`x-h${i}`, "v"])),
      },
      ["headers", "64"],
    ],
    [
      "a long header value",
      "call_api",
      { provider: "hyperproof", method: "GET", path: "/x", headers: { "x-big": "v".repeat(9000) } },
      ["headers.x-big", "8192"],
    ],
    [
      "a long company_id",
      "call_api",
      { provider: "hyperline", method: "GET", path: "/v1/customers", company_id: "c".repeat(300) },
      ["company_id", "256"],
    ],
  ] as const)("bounded: %s is invalid_input, nothing sent", async (_label, tool, args, mentions) => {
    const result = await session.call(tool, args)
    const text = textOf(result)
    expect(errorCode(result), text.slice(0, 300)).toBe("invalid_input")
    for (const mention of mentions) expect(text).toContain(mention)
    expect(text.length).toBeLessThan(2000)
  })
})
