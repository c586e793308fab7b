/**
 * `@hyperauth/core/promise`'s hyperline, used as a web app would (a login
 * kept as JSON between redirect and callback, API calls as with `fetch`),
 * against the emulator over loopback.
 */
import { createServer } from "node:http"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { hyperline, type Token } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { expectNoSecrets, keptAsJson, rejection, untyped } from "./support/promise.js"

const emulator = useEmulator()
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  Object.assign(process.env, emulator.current.env)
})
afterEach(() => {
  process.env = { ...saved }
})

const tokenRequests = () => emulator.current.count({ origin: "hyperline", path: "/v1/oauth/tokens" })

/** A finished login, its login kept as JSON in between as a session would keep it. */
const loggedIn = async (): Promise<Token> => {
  const started = await hyperline.authorizationUrl()
  const kept = keptAsJson(started)
  return hyperline.completeLogin(kept, emulator.current.hyperline.authorize(started.url))
}

describe("@hyperauth/core/promise hyperline", () => {
  it("logs in (authorization URL with state → redirect → JSON code exchange), refreshes and revokes", async () => {
    const started = await hyperline.authorizationUrl()
    expect(Object.keys(started).sort()).toEqual(["redirectUri", "state", "url"])
    const url = new URL(started.url)
    expect(`${url.origin}${url.pathname}`).toBe(`${emulator.current.origins.hyperline}/v1/oauth/authorize`)
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: emulator.current.env.HYPERLINE_CLIENT_ID,
      redirect_uri: "http://127.0.0.1:8976/callback/hyperline",
      response_type: "code",
      state: started.state,
    })

    const token = await hyperline.completeLogin(keptAsJson(started), emulator.current.hyperline.authorize(started.url))
    expect(token.tokenType).toBe("Bearer")
    expect(typeof token.accessToken).toBe("string")
    expect(typeof token.refreshToken).toBe("string")
    expect(token.expiresAt).toBeInstanceOf(Date)

    const renewed = await hyperline.refresh(token)
    expect(renewed.accessToken).not.toBe(token.accessToken)
    expect(typeof renewed.refreshToken).toBe("string")
    const companies = await hyperline.fetch(renewed, "/v1/companies")
    expect(companies.status).toBe(200)

    await hyperline.revoke(renewed)
    const refused = await rejection(hyperline.refresh(renewed))
    expect(refused).toMatchObject({ name: "HyperauthError", code: "invalid_grant", status: 400 })
    expectNoSecrets(refused, [renewed.refreshToken, renewed.accessToken, emulator.current.env.HYPERLINE_CLIENT_SECRET])
  })

  it("fetch: a Response with the company header; a path elsewhere, a 404 and a POST as fetch has them", async () => {
    const token = await loggedIn()
    const oldest = await hyperline.fetch(token.accessToken, "/v1/customers")
    expect(oldest).toBeInstanceOf(Response)
    expect(oldest.ok).toBe(true)
    expect(await oldest.json()).toMatchObject({ company_id: "cmp_acme" })

    const chosen = await hyperline.fetch(token, "v1/customers?limit=5", { companyId: "cmp_globex" })
    expect(chosen.headers.get("hyperline-companyid")).toBe("cmp_globex")
    expect(await chosen.json()).toMatchObject({ company_id: "cmp_globex" })

    // Like fetch: a status is an answer, not a rejection.
    const missing = await hyperline.fetch(token, "/v1/nothing-here", {
      method: "post",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ message: "No resource at /v1/nothing-here" })
    expect(emulator.current.requests.at(-1)).toMatchObject({ method: "POST", path: "/v1/nothing-here", status: 404 })

    // HYPERLINE_COMPANY_ID is the company when a call names none.
    process.env.HYPERLINE_COMPANY_ID = "cmp_globex"
    expect(await (await hyperline.fetch(token, "/v1/customers")).json()).toMatchObject({ company_id: "cmp_globex" })
  })

  it("calls one after another reuse their connections: the facades share one transport", async () => {
    let connections = 0
    const api = createServer((_, response) => response.writeHead(200, { "content-type": "application/json" }).end("{}"))
    api.on("connection", () => connections++)
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve))
    try {
      const address = api.address()
      if (address === null || typeof address === "string") throw new Error("the API server has no port")
      process.env.HYPERLINE_BASE_URL = `http://127.0.0.1:${address.port}`
      for (let i = 0; i < 20; i++) expect((await hyperline.fetch("a-token", "/v1/customers")).status).toBe(200)
      // A transport per call opened 20. The second call may find the first's socket not yet back in the pool.
      expect(connections).toBeLessThanOrEqual(2)
    } finally {
      api.closeAllConnections()
      await new Promise((resolve) => api.close(resolve))
    }
  })

  it("fetch: a refused token is invalid_token, quoting no token; a URL elsewhere and bad input send nothing", async () => {
    const token = await loggedIn()
    emulator.current.tokens.revoke(token.accessToken)
    const refused = await rejection(hyperline.fetch(token, "/v1/customers"))
    expect(refused.code).toBe("invalid_token")
    // What to do next, as the docs say: the caller holds a refresh token, so a new login is not the only way.
    expect(refused.message).toContain("Refresh the token")
    expectNoSecrets(refused, [token.accessToken, token.refreshToken, emulator.current.env.HYPERLINE_CLIENT_SECRET])

    const before = emulator.current.count({})
    const refusals = [
      hyperline.fetch(token, "https://evil.example/v1/customers"),
      hyperline.fetch(token, "/v1/customers", { method: "BREW" }),
      hyperline.fetch(token, "/v1/customers", { body: "a GET has no body" }),
      hyperline.fetch(token, "/v1/customers", { headers: { "transfer-encoding": "chunked" } }),
      hyperline.fetch(token, "/v1/customers", { maxBodyBytes: 0 }),
      hyperline.fetch("", "/v1/customers"),
      hyperline.revoke({}),
    ]
    for (const call of refusals) {
      const error = await rejection(call)
      expect(error.code).toBe("invalid_input")
      expect(error.message).toContain("hyperline")
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("a JavaScript caller's wrong types reject with invalid_input, before anything is sent; null is none where fetch has it so", async () => {
    const token = await loggedIn()
    const before = emulator.current.count({})
    // As plain JavaScript would pass them (untyped: no types).
    const refusals = [
      () => hyperline.authorizationUrl(untyped('{ "redirect_uri": "http://127.0.0.1:8976/callback/other" }')),
      () => hyperline.authorizationUrl(untyped('{ "redirectUri": 8976 }')),
      () => hyperline.authorizationUrl(untyped('{ "signal": {} }')),
      () => hyperline.fetch(token, "/v1/customers", untyped('{ "method": 5 }')),
      () => hyperline.fetch(token, "/v1/customers", untyped('{ "headers": "accept: application/json" }')),
      () => hyperline.fetch(token, "/v1/customers", untyped('{ "headers": null }')),
      () => hyperline.fetch(token, "/v1/customers", untyped('{ "signal": {} }')),
      () => hyperline.fetch(token, "/v1/customers", untyped('{ "companyId": 42 }')),
    ]
    for (const call of refusals) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/^hyperline: .{20,}/)
    }
    expect(emulator.current.count({})).toBe(before)
    // fetch(url, null), a null signal and a null body: none, as fetch has them.
    expect((await hyperline.fetch(token, "/v1/customers", untyped("null"))).status).toBe(200)
    expect((await hyperline.fetch(token, "/v1/customers", untyped('{ "signal": null, "body": null }'))).status).toBe(
      200,
    )
    expect((await hyperline.authorizationUrl(untyped("null"))).redirectUri).toBe(
      "http://127.0.0.1:8976/callback/hyperline",
    )
  })

  it("a companyId, header value or access token HTTP cannot carry is invalid_input, not a connection_error, and nothing is sent", async () => {
    const token = await loggedIn()
    const before = emulator.current.count({})
    for (const call of [
      () => hyperline.fetch(token, "/v1/customers", { companyId: "cmp_acme\r\nx-injected: 1" }),
      () => hyperline.fetch(token, "/v1/customers", { companyId: "" }),
      () => hyperline.fetch(token, "/v1/customers", { companyId: "cmp acme" }),
      // As plain JavaScript would pass them (untyped: no types).
      () => hyperline.fetch(token, "/v1/customers", { headers: untyped('[["accept"]]') }),
      () => hyperline.fetch(token, "/v1/customers", { headers: untyped('{ "x-count": 5 }') }),
      // An access token is sent in a header too.
      () => hyperline.fetch(`${token.accessToken}\r\nx-injected: 1`, "/v1/customers"),
      () => hyperline.fetch("tökén", "/v1/customers"),
    ]) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toContain("Nothing was sent")
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("a login lacking its state and no refresh token are refused saying nothing was sent, as every refusal before sending", async () => {
    const before = emulator.current.count({})
    for (const call of [
      () => hyperline.completeLogin(untyped('{ "redirectUri": "http://127.0.0.1:8976/callback/hyperline" }'), ""),
      () => hyperline.refresh({}),
      () => hyperline.revoke({}),
    ]) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/ Nothing was sent\.$/)
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("an empty refresh token is none: refresh and revoke refuse it before sending, never a revocation that did nothing", async () => {
    const token = await loggedIn()
    const before = emulator.current.count({})
    for (const call of [
      () => hyperline.revoke(""),
      () => hyperline.revoke({ refreshToken: "" }),
      () => hyperline.refresh(""),
      () => hyperline.refresh({ ...token, refreshToken: "" }),
    ]) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toContain("no refresh token")
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("fetch: a body larger than maxBodyBytes is invalid_response, never a cut body", async () => {
    const token = await loggedIn()
    const whole = await (await hyperline.fetch(token, "/v1/companies")).text()
    const refused = await rejection(hyperline.fetch(token, "/v1/companies", { maxBodyBytes: 16 }))
    expect(refused).toMatchObject({ code: "invalid_response", status: 200 })
    expect(refused.message).toContain("maxBodyBytes")
    const exact = await hyperline.fetch(token, "/v1/companies", { maxBodyBytes: Buffer.byteLength(whole) })
    expect(await exact.text()).toBe(whole)
  })

  it("a redirect of another login is state_mismatch, and its code is not sent", async () => {
    const first = await hyperline.authorizationUrl()
    const second = await hyperline.authorizationUrl()
    const landed = emulator.current.hyperline.authorize(second.url)
    const before = tokenRequests()
    await expect(hyperline.completeLogin(first, landed)).rejects.toMatchObject({ code: "state_mismatch" })
    expect(tokenRequests()).toBe(before)
  })

  it("an aborted signal sends nothing; one that aborts during a call stops it", async () => {
    const token = await loggedIn()
    const before = emulator.current.count({})
    const aborted = AbortSignal.abort(new Error("the user left"))
    await expect(hyperline.fetch(token, "/v1/customers", { signal: aborted })).rejects.toThrow("the user left")
    await expect(hyperline.refresh(token, { signal: aborted })).rejects.toThrow("the user left")
    expect(emulator.current.count({})).toBe(before)

    emulator.current.faults.inject({ origin: "hyperline", path: "/v1/customers", latencyMs: 5_000, times: 1 })
    const controller = new AbortController()
    const started = Date.now()
    const call = hyperline.fetch(token, "/v1/customers", { signal: controller.signal })
    setTimeout(() => controller.abort(new Error("cancelled")), 50)
    await expect(call).rejects.toThrow("cancelled")
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})
