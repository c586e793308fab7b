/**
 * `@hyperauth/core/promise`'s hyperproof against the emulator over
 * loopback: one service per settings, so its token is fetched once for
 * many calls; API calls as with `fetch`. An echo server stands in for the
 * API where the request itself is what is checked.
 */
import { execFile } from "node:child_process"
import { createServer, type Server } from "node:http"
import { fileURLToPath } from "node:url"
import { sampleControl } from "@hyperauth/emulator"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { hyperproof } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { expectNoSecrets, rejection, untyped } from "./support/promise.js"

const emulator = useEmulator()
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  Object.assign(process.env, emulator.current.env)
})
afterEach(async () => {
  process.env = { ...saved }
  // Each test starts with no token: the service of the last one is closed.
  await hyperproof.dispose()
})

/** How many tokens were asked for since the counter was made. */
const tokenCounter = () => {
  const count = () => emulator.current.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
  const base = count()
  return () => count() - base
}
const controlPath = `/v1/controls/${sampleControl.id}`

/** Answers every request with what it received, as JSON; `/empty` with a 204. */
let echo: Server
let echoOrigin = ""
beforeAll(async () => {
  echo = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      if (request.url === "/empty") return response.writeHead(204, { "x-seen": "yes" }).end()
      if (request.url === "/large") return response.writeHead(200).end("x".repeat(300 * 1024))
      response.writeHead(201, { "content-type": "application/json", "x-echo": "1" })
      response.end(
        JSON.stringify({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      )
    })
  })
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
  const address = echo.address()
  if (address === null || typeof address === "string") throw new Error("the echo server has no port")
  echoOrigin = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve))
})

describe("@hyperauth/core/promise hyperproof", () => {
  it("calls the API with one token, fetched once, for every call while the settings stay", async () => {
    const tokenRequests = tokenCounter()
    const response = await hyperproof.fetch(controlPath)
    expect(response).toBeInstanceOf(Response)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ id: sampleControl.id, name: sampleControl.name })
    await Promise.all([hyperproof.fetch(controlPath), hyperproof.fetch(controlPath)])
    const token = await hyperproof.getToken()
    expect(typeof token.accessToken).toBe("string")
    expect(token).toMatchObject({ tokenType: "Bearer", access_token: token.accessToken })
    expect(token.expiresIn).toBeGreaterThan(3_000)
    expect(await hyperproof.getToken()).toMatchObject({ accessToken: token.accessToken })
    expect(tokenRequests()).toBe(1)

    // A status is an answer, as with fetch.
    const missing = await hyperproof.fetch("/v1/controls/ctl_nope")
    expect(missing.status).toBe(404)

    // A token the API refuses is replaced once, and the call sent again.
    emulator.current.tokens.revoke(token.accessToken)
    expect((await hyperproof.fetch(controlPath)).status).toBe(200)
    expect(tokenRequests()).toBe(2)
    expect((await hyperproof.getToken()).accessToken).not.toBe(token.accessToken)
  })

  it("other settings make another service; dispose closes it, and the next call fetches a new token", async () => {
    const tokenRequests = tokenCounter()
    await hyperproof.getToken()
    expect(tokenRequests()).toBe(1)
    process.env.HYPERPROOF_SCOPE = "controls:read"
    await hyperproof.getToken()
    expect(tokenRequests()).toBe(2)
    await hyperproof.getToken()
    expect(tokenRequests()).toBe(2)
    await hyperproof.dispose()
    await hyperproof.getToken()
    expect(tokenRequests()).toBe(3)
  })

  it("a wrong client secret is invalid_client, quoting no secret; no settings is not_configured", async () => {
    const secret = "a-wrong-but-secret-value"
    process.env.HYPERPROOF_CLIENT_SECRET = secret
    const refused = await rejection(hyperproof.fetch(controlPath))
    expect(refused).toMatchObject({ name: "HyperauthError", code: "invalid_client", error: "invalid_client" })
    expectNoSecrets(refused, [secret, emulator.current.env.HYPERPROOF_CLIENT_SECRET])

    delete process.env.HYPERPROOF_CLIENT_ID
    const unconfigured = await rejection(hyperproof.getToken())
    expect(unconfigured.code).toBe("not_configured")
    expect(unconfigured.message).toContain("HYPERPROOF_CLIENT_ID")
  })

  it("a second 401 is invalid_token, quoting no token, and says what a client-credentials app can do", async () => {
    const token = await hyperproof.getToken()
    emulator.current.faults.inject({ origin: "hyperproofApi", status: 401, body: { echo: token.accessToken } })
    const refused = await rejection(hyperproof.fetch(controlPath))
    expect(refused.code).toBe("invalid_token")
    expectNoSecrets(refused, [token.accessToken, (await hyperproof.getToken()).accessToken])
    // The token was just issued to the client: nothing to refresh, nobody to log in; its access is the cause.
    expect(refused.message).toMatch(/^hyperproof: .*just issued to this client/)
    expect(refused.message).not.toMatch(/refresh|log in/i)
    expect(refused.message).toMatch(/permissions/)
    expect(refused.message).toMatch(/scope/)
  })

  it("sends the method, headers and body as fetch would, and answers with the API's status, headers and body", async () => {
    process.env.HYPERPROOF_API_URL = echoOrigin
    const response = await hyperproof.fetch("/v1/programs?top=5", {
      method: "PATCH",
      headers: new Headers({ "x-request-id": "req-1" }),
      body: new URLSearchParams({ name: "SOC 2", owner: "Ada Lovelace" }),
    })
    expect(response.status).toBe(201)
    expect(response.headers.get("x-echo")).toBe("1")
    const seen = await response.json()
    const token = await hyperproof.getToken()
    expect(seen).toMatchObject({
      method: "PATCH",
      url: "/v1/programs?top=5",
      body: "name=SOC+2&owner=Ada+Lovelace",
      headers: {
        "x-request-id": "req-1",
        "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
        authorization: `Bearer ${token.accessToken}`,
      },
    })

    const json = await (
      await hyperproof.fetch("/v1/programs", {
        method: "POST",
        headers: [["Content-Type", "application/json"]],
        body: JSON.stringify({ name: "ISO 27001" }),
      })
    ).json()
    expect(json).toMatchObject({ body: '{"name":"ISO 27001"}', headers: { "content-type": "application/json" } })
    const text = await (await hyperproof.fetch("/v1/notes", { method: "PUT", body: "plain" })).json()
    expect(text).toMatchObject({ body: "plain", headers: { "content-type": "text/plain;charset=UTF-8" } })
    const bytes = await (
      await hyperproof.fetch("/v1/blobs", { method: "POST", body: new Uint8Array([104, 105]) })
    ).json()
    expect(bytes).toMatchObject({ body: "hi", headers: { "content-type": "application/octet-stream" } })

    const empty = await hyperproof.fetch("/empty", { method: "DELETE" })
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
    expect(empty.headers.get("x-seen")).toBe("yes")
    const head = await hyperproof.fetch("/v1/programs", { method: "HEAD" })
    expect(head.headers.get("x-echo")).toBe("1")
    expect(head.body).toBeNull()

    // Past the 256 KiB default a body is refused, never handed over cut; maxBodyBytes reads more.
    const cut = await rejection(hyperproof.fetch("/large"))
    expect(cut).toMatchObject({ code: "invalid_response", status: 200 })
    expect(cut.message).toContain("maxBodyBytes, 262144 bytes")
    const large = await hyperproof.fetch("/large", { maxBodyBytes: 1024 * 1024 })
    expect((await large.text()).length).toBe(300 * 1024)

    // The token is for the API only.
    const before = emulator.current.count({})
    const elsewhere = await rejection(hyperproof.fetch(`${emulator.current.origins.hyperline}/v1/customers`))
    expect(elsewhere.code).toBe("invalid_input")
    expect(emulator.current.count({})).toBe(before)
  })

  it("an aborted signal sends nothing; one that aborts during a call stops it", async () => {
    const tokenRequests = tokenCounter()
    const aborted = AbortSignal.abort(new Error("shutting down"))
    await expect(hyperproof.getToken({ signal: aborted })).rejects.toThrow("shutting down")
    await expect(hyperproof.fetch(controlPath, { signal: aborted })).rejects.toThrow("shutting down")
    expect(tokenRequests()).toBe(0)

    emulator.current.faults.inject({ origin: "hyperproofApi", path: controlPath, latencyMs: 5_000, times: 1 })
    const controller = new AbortController()
    const started = Date.now()
    const call = hyperproof.fetch(controlPath, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error("cancelled")), 100)
    await expect(call).rejects.toThrow("cancelled")
    expect(Date.now() - started).toBeLessThan(2_000)
    // The service outlives the cancelled call: its token is reused.
    expect((await hyperproof.fetch(controlPath)).status).toBe(200)
    expect(tokenRequests()).toBe(1)
  })

  it("a JavaScript caller's wrong types reject with invalid_input, before anything is sent; a null init is none", async () => {
    const tokenRequests = tokenCounter()
    for (const call of [
      // As plain JavaScript would pass them (untyped: no types).
      () => hyperproof.getToken(untyped('{ "signal": {} }')),
      () => hyperproof.fetch(controlPath, untyped('{ "signal": "soon" }')),
      () => hyperproof.fetch(controlPath, untyped('{ "method": ["GET"] }')),
    ]) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/^hyperproof: .{20,}/)
    }
    expect(tokenRequests()).toBe(0)
    expect((await hyperproof.fetch(controlPath, untyped("null"))).status).toBe(200)
  })

  it("an idle service does not keep the process running", { timeout: 20_000 }, async () => {
    const promise = fileURLToPath(new URL("../dist/promise.js", import.meta.url))
    const script = `
      import { hyperproof } from ${JSON.stringify(promise)}
      const response = await hyperproof.fetch(${JSON.stringify(controlPath)})
      console.log(response.status)
      // Fires only if something else keeps the process running 3 s on (the emulator keeps an idle connection 5 s).
      setTimeout(() => {
        console.log("still running")
        process.exit(1)
      }, 3_000).unref()
    `
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { env: { ...process.env }, timeout: 15_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    )
    expect(output.trim()).toBe("200")
  })
})
