/**
 * Hostile input from the browser's redirect and from an API: the built
 * server over real stdio with the SDK's Client, the emulator and the
 * loopback listener over real HTTP, the browser played by `fetch`. What a
 * hostile party writes reaches a page, a log or a tool result bounded: on
 * one line, a few hundred characters at most.
 */
import { type Emulator, start } from "@hyperauth/emulator"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  connect,
  emulatorEnv,
  errorCode,
  freePort,
  type Session,
  structured,
  tempStore,
  textOf,
} from "./support/harness.js"

let emulator: Emulator
const sessions: Array<Session> = []

const server = async () => {
  const session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: await tempStore(),
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  })
  sessions.push(session)
  return session
}

beforeAll(async () => {
  emulator = await start()
})

afterEach(async () => {
  emulator.faults.clear()
  await Promise.all(sessions.splice(0).map((s) => s.close()))
})

afterAll(async () => {
  await emulator?.close()
})

/** Line breaks, C1 controls, separators and marks that reorder text, then a long tail. */
const forged = (length: number) =>
  `refused\r\n2026-12-02 INFO forged log line\u0085next\u2028\u202eesrever\u0007${"x".repeat(length)}`

/** Characters no line of a message may hold. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

describe("a hostile redirect's error_description, error_uri and error", () => {
  it("reach the listener's page and complete_login on one line, a few hundred characters long", async () => {
    const session = await server()
    const pending = structured(await session.call("login", { provider: "hyperline", account: "hostile" }))
    const state = new URL(String(pending.authorization_url)).searchParams.get("state") ?? ""
    const query = new URLSearchParams({
      error: "server_error",
      error_description: forged(12_000),
      error_uri: `https://evil.example/\r\n${"y".repeat(1_000)}`,
      state,
    })
    const page = await fetch(`${String(pending.redirect_uri)}?${query}`)
    const html = await page.text()
    expect(page.status).toBe(400)
    expect(html).toContain("server_error")
    expect(html).toContain("forged log line")
    expect(html).not.toMatch(unprintable)
    expect(html.length).toBeLessThan(2_000)

    const done = await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 })
    expect(errorCode(done)).toBe("http_error")
    const [first, details] = textOf(done).split("\n")
    expect(first).toContain("forged log line")
    expect(first).not.toMatch(unprintable)
    expect((first ?? "").length).toBeLessThan(1_500)
    const message = JSON.parse(details ?? "{}").error.message as string
    expect(message).not.toMatch(unprintable)
    expect(message.length).toBeLessThan(1_500)
    expect(session.stderr()).not.toContain("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    expect(session.stderr()).not.toContain("\nINFO forged")
  })

  it("pasted as complete_login's redirect_url, end the login with a bounded one-line message", async () => {
    const session = await server()
    const pending = structured(await session.call("login", { provider: "hyperline", account: "pasted" }))
    const state = new URL(String(pending.authorization_url)).searchParams.get("state") ?? ""
    const query = new URLSearchParams({ error: "access_denied", error_description: forged(8_000), state })
    const done = await session.call("complete_login", {
      login_id: pending.login_id,
      redirect_url: `${String(pending.redirect_uri)}?${query}`,
    })
    expect(errorCode(done)).toBe("access_denied")
    const [first] = textOf(done).split("\n")
    expect(first).not.toMatch(unprintable)
    expect((first ?? "").length).toBeLessThan(1_500)
  })

  it("an error code of thousands of characters is not quoted whole", async () => {
    const session = await server()
    const pending = structured(await session.call("login", { provider: "hyperline", account: "long-code" }))
    const state = new URL(String(pending.authorization_url)).searchParams.get("state") ?? ""
    const query = new URLSearchParams({ error: `server_error${"z".repeat(10_000)}`, state })
    const html = await (await fetch(`${String(pending.redirect_uri)}?${query}`)).text()
    expect(html.length).toBeLessThan(2_000)
    const done = await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 })
    expect(textOf(done).length).toBeLessThan(3_000)
  })
})

describe("an API answer that grows when written as JSON", () => {
  const mib = 1024 * 1024
  /** What the result costs on the wire: the JSON-RPC message carries it as JSON, as UTF-8. */
  const wireBytes = (result: unknown) => Buffer.byteLength(JSON.stringify(result))

  it.each([
    ["control bytes (6 bytes each as JSON)", "text/plain", "\u0000".repeat(mib), true],
    ["quotes and backslashes (2 bytes each)", "text/plain", '"\\'.repeat(mib / 2), true],
    ["bytes that are no UTF-8 (3 bytes each as U+FFFD)", "text/plain", new Uint8Array(mib).fill(0xff), true],
    // Whole, as the text it came as: 21 characters a number once parsed and written again.
    ["JSON numbers that grow when written again", "application/json", `[${"9e20,".repeat(200_000)}0]`, false],
  ])(
    "%s: the body is at most 1 MiB as JSON, truncated says it was cut, and the result stays some MiB",
    async (_, type, body, cut) => {
      const session = await server()
      structured(await session.call("login", { provider: "hyperproof", account: "grows" }))
      emulator.faults.inject({
        origin: "hyperproofApi",
        path: "/v1/grows",
        status: 200,
        headers: { "content-type": type },
        body,
        times: 1,
      })
      const result = await session.call("call_api", {
        provider: "hyperproof",
        account: "grows",
        method: "GET",
        path: "/v1/grows",
      })
      const answer = structured(result)
      expect(answer.status).toBe(200)
      expect(answer.truncated).toBe(cut)
      if (!cut) expect(answer.body).toBe(body)
      expect(Buffer.byteLength(JSON.stringify(answer.body))).toBeLessThanOrEqual(mib + 2)
      // structuredContent, and its JSON text copy escaped once more: three times the body at worst.
      expect(wireBytes(result)).toBeLessThan(3 * mib + 64 * 1024)
    },
  )
})

describe("an API's JSON after a UTF-8 byte order mark (RFC 8259 §8.1)", () => {
  it("comes back parsed, as JSON without one does", async () => {
    const session = await server()
    structured(await session.call("login", { provider: "hyperproof", account: "bom" }))
    emulator.faults.inject({
      origin: "hyperproofApi",
      path: "/v1/bom",
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: `\ufeff${JSON.stringify({ data: [{ id: 1 }] })}`,
      times: 1,
    })
    const answer = structured(
      await session.call("call_api", { provider: "hyperproof", account: "bom", method: "GET", path: "/v1/bom" }),
    )
    expect(answer.body).toEqual({ data: [{ id: 1 }] })
    expect(answer.truncated).toBe(false)
  })
})

describe("a tool call past the stdio limit", () => {
  it("is refused at once, as the SDK's Client writes it, and the server serves on", async () => {
    const session = await server()
    // Without its answer the call would end at its own time limit, as -32001.
    const refused = session.client.callTool(
      {
        name: "call_api",
        arguments: { provider: "hyperproof", method: "POST", path: "/v1/x", body: "x".repeat(11 * 1024 * 1024) },
      },
      undefined,
      { timeout: 30_000 },
    )
    await expect(refused).rejects.toMatchObject({ code: -32600, message: expect.stringMatching(/10 MiB/) })
    expect(errorCode(await session.call("list_providers"))).toBeUndefined()
  })
})
