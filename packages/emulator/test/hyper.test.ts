import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Emulator, start } from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  // A client of its own: the registered one is an option.
  emulator = await start({ hyper: { interval: 1, clientId: "cli" } })
})
afterAll(async () => {
  await emulator.close()
})

const form = (url: string, body: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body),
  })

const initiate = async () => {
  const response = await form(`${emulator.origins.hyper}/oauth/device`, { client_id: "cli", scope: "read" })
  expect(response.status).toBe(200)
  return (await response.json()) as { device_code: string; user_code: string; verification_uri: string }
}

const poll = async (deviceCode: string, clientId = "cli") => {
  const response = await form(`${emulator.origins.hyper}/oauth/token`, {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: deviceCode,
    client_id: clientId,
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe("hyper emulator", () => {
  it("answers authorization_pending, then slow_down when polled faster than the interval", async () => {
    const device = await initiate()
    expect((await poll(device.device_code)).body.error).toBe("authorization_pending")
    const fast = await poll(device.device_code)
    expect(fast.status).toBe(400)
    expect(fast.body.error).toBe("slow_down")
  })

  it("issues the token once after approval; the code cannot be redeemed twice", async () => {
    const device = await initiate()
    expect(emulator.hyper.pending()).toContain(device.user_code)
    expect(emulator.hyper.approve(device.user_code)).toBe(true)
    const granted = await poll(device.device_code)
    expect(granted.status).toBe(200)
    expect(granted.body).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read" })
    emulator.clock.advance(2)
    expect((await poll(device.device_code)).body.error).toBe("invalid_grant")
  })

  it("refuses a client it does not know, at every endpoint, as invalid_client (RFC 6749 §5.2)", async () => {
    const device = await initiate()
    emulator.hyper.approve(device.user_code)
    const polled = await poll(device.device_code, "other")
    expect([polled.status, polled.body.error]).toEqual([401, "invalid_client"])
    const started = await form(`${emulator.origins.hyper}/oauth/device`, { client_id: "other" })
    expect([started.status, ((await started.json()) as { error: string }).error]).toEqual([401, "invalid_client"])
    const introspected = await form(`${emulator.origins.hyper}/oauth/introspect`, { token: "x", client_id: "other" })
    expect([introspected.status, ((await introspected.json()) as { error: string }).error]).toEqual([
      401,
      "invalid_client",
    ])
    // The device code is still good for its own client.
    expect((await poll(device.device_code)).body.access_token).toBeTruthy()
    expect(emulator.env.HYPER_CLIENT_ID).toBe("cli")
  })

  it("answers access_denied after denial and expired_token after expires_in", async () => {
    const denied = await initiate()
    emulator.hyper.deny(denied.user_code)
    expect((await poll(denied.device_code)).body.error).toBe("access_denied")
    const late = await initiate()
    emulator.clock.advance(601)
    expect((await poll(late.device_code)).body.error).toBe("expired_token")
    expect(emulator.hyper.approve(late.user_code)).toBe(false)
  })

  it("refuses a JSON body and other grant types", async () => {
    const json = await fetch(`${emulator.origins.hyper}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "urn:ietf:params:oauth:grant-type:device_code" }),
    })
    expect(((await json.json()) as { error: string }).error).toBe("invalid_request")
    const other = await form(`${emulator.origins.hyper}/oauth/token`, { grant_type: "password", client_id: "cli" })
    expect(((await other.json()) as { error: string }).error).toBe("unsupported_grant_type")
  })

  it("lets a person approve or deny on the HTML verification page", async () => {
    const device = await initiate()
    const page = await fetch(`${device.verification_uri}?user_code=${device.user_code}`)
    expect(page.headers.get("content-type")).toContain("text/html")
    const text = await page.text()
    expect(text).toContain(`value="${device.user_code}"`)
    expect(text).toContain("Approve")
    const decision = await form(`${emulator.origins.hyper}/device`, { user_code: device.user_code, action: "approve" })
    expect(decision.status).toBe(200)
    expect(await decision.text()).toContain("Device connected")
    emulator.clock.advance(2)
    expect((await poll(device.device_code)).status).toBe(200)
    const unknown = await form(`${emulator.origins.hyper}/device`, { user_code: "ZZZZ-ZZZZ", action: "deny" })
    expect(unknown.status).toBe(400)
  })

  it("introspects issued tokens and protects /v1/ with Bearer tokens", async () => {
    const device = await initiate()
    emulator.hyper.approve(device.user_code)
    emulator.clock.advance(2)
    const { access_token } = (await poll(device.device_code)).body as { access_token: string }
    const active = await form(`${emulator.origins.hyper}/oauth/introspect`, { token: access_token, client_id: "cli" })
    expect(await active.json()).toMatchObject({ active: true, scope: "read", client_id: "cli" })
    const me = await fetch(`${emulator.origins.hyper}/v1/me`, { headers: { authorization: `Bearer ${access_token}` } })
    expect(me.status).toBe(200)
    emulator.tokens.expire({ provider: "hyper" })
    const expired = await fetch(`${emulator.origins.hyper}/v1/me`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
    expect(expired.status).toBe(401)
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"')
    const inactive = await form(`${emulator.origins.hyper}/oauth/introspect`, { token: access_token, client_id: "cli" })
    expect(await inactive.json()).toEqual({ active: false })
  })
})

describe("hyper at the instant a device code expires", () => {
  it("answers expired_token, not a token, when the code expires between reading it and answering", async () => {
    const fresh = await start({ hyper: { interval: 0.01, deviceCodeLifetime: 1, clientId: "cli" } })
    try {
      // The emulator's time, held still, then stepped a millisecond per reading.
      let now = fresh.clock.now()
      let step = 0
      fresh.clock.now = () => now + step++
      const started = await form(`${fresh.origins.hyper}/oauth/device`, { client_id: "cli" })
      const device = (await started.json()) as { device_code: string; user_code: string }
      const expiresAt = now + 1_000
      fresh.hyper.approve(device.user_code)
      now = expiresAt - 1
      step = 0
      const polled = await form(`${fresh.origins.hyper}/oauth/token`, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: device.device_code,
        client_id: "cli",
      })
      expect([polled.status, ((await polled.json()) as { error?: string }).error]).toEqual([400, "expired_token"])
    } finally {
      await fresh.close()
    }
  })
})
