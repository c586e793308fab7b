/**
 * Authorization-code logins that cannot be hijacked, collide or vanish: the
 * built server over real stdio, the emulator and the loopback listener over
 * real HTTP, the browser played by `fetch`.
 */
import { createServer } from "node:http"
import { type Emulator, hyperidRealmPath, start } from "@hyperauth/emulator"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured, tempStore } from "./support/harness.js"
import { rawHttp } from "./support/raw.js"

let emulator: Emulator
const sessions: Array<Session> = []

const tokenPath = { hyperid: `${hyperidRealmPath}/token`, hyperline: "/v1/oauth/tokens" } as const
const tokenRequests = (provider: "hyperid" | "hyperline") =>
  emulator.count({ origin: provider, path: tokenPath[provider] })

/** A server with its own store, on the given callback port. */
const server = async (callbackPort: number, extra: Record<string, string> = {}) => {
  const session = await connect({
    ...emulatorEnv(emulator),
    HYPERAUTH_STORE: await tempStore(),
    HYPERAUTH_CALLBACK_PORT: String(callbackPort),
    ...extra,
  })
  sessions.push(session)
  return session
}

/** The browser following a redirect: the page the listener answers with. */
const land = async (url: string, init?: RequestInit) => {
  const page = await fetch(url, init)
  return { status: page.status, text: await page.text() }
}

const login = async (session: Session, provider: "hyperid" | "hyperline", account = "default") =>
  structured(await session.call("login", { provider, account, ...(provider === "hyperid" ? { scope: "openid" } : {}) }))

const listenerPort = (pending: Record<string, unknown>) => Number(new URL(String(pending.redirect_uri)).port)

const stillPending = async (session: Session, loginId: unknown) =>
  structured(await session.call("complete_login", { login_id: loginId, wait_seconds: 0 })).status === "pending"

/** Whether the listener behind `url` stops answering within `ms`. */
const closedWithin = async (url: string, ms: number) => {
  const deadline = Date.now() + ms
  for (;;) {
    const answered = await fetch(url).then(
      () => true,
      () => false,
    )
    if (!answered) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
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

describe("two servers on one machine", () => {
  it("each completes a hyperid and a hyperline login at the same time, each on a port it holds", async () => {
    const port = await freePort()
    const [first, second] = await Promise.all([server(port), server(port)])
    if (first === undefined || second === undefined) throw new Error("no servers")
    const pending = await Promise.all(
      [first, second].flatMap((s) => [login(s, "hyperid"), login(s, "hyperline")] as const),
    )
    for (const p of pending) expect(p).toMatchObject({ status: "pending", listening: true })
    const [firstId, firstLine, secondId, secondLine] = pending.map(listenerPort)
    // One server holds the configured port; the other a free one, and says so in its URLs.
    expect(firstId).toBe(firstLine)
    expect(secondId).toBe(secondLine)
    expect(firstId).not.toBe(secondId)
    expect([firstId, secondId]).toContain(port)
    for (const p of pending) {
      const asked = new URL(String(p.authorization_url)).searchParams.get("redirect_uri")
      expect(asked).toBe(p.redirect_uri)
    }

    const pages = await Promise.all(
      pending.map((p, i) =>
        land((i % 2 === 0 ? emulator.hyperid : emulator.hyperline).authorize(String(p.authorization_url))),
      ),
    )
    for (const page of pages) expect(page).toMatchObject({ status: 200, text: expect.stringContaining("signed in") })
    const done = await Promise.all(
      pending.map((p, i) => (i < 2 ? first : second).call("complete_login", { login_id: p.login_id, wait_seconds: 5 })),
    )
    for (const result of done) expect(structured(result).status).toBe("authenticated")
    for (const s of [first, second]) {
      const me = structured(await s.call("call_api", { provider: "hyperid", method: "GET", path: "/userinfo" }))
      expect(me.status).toBe(200)
    }
  })

  it("with a pinned loopback redirect URI whose port is taken, the login says the user pastes the URL", async () => {
    const port = await freePort()
    const first = await server(port)
    const held = await login(first, "hyperline")
    expect(listenerPort(held)).toBe(port)
    const pinned = `http://127.0.0.1:${port}/callback/hyperline`
    const second = await server(await freePort(), { HYPERLINE_REDIRECT_URI: pinned })
    const pending = await login(second, "hyperline")
    expect(pending).toMatchObject({ redirect_uri: pinned, listening: false })
    // The browser lands on the first server, which has no such login: it says so and changes nothing.
    const landed = emulator.hyperline.authorize(String(pending.authorization_url))
    const page = await land(landed)
    expect(page.status).toBe(400)
    expect(page.text).toContain("belongs to no login")
    expect(await stillPending(first, held.login_id)).toBe(true)
    const done = structured(await second.call("complete_login", { login_id: pending.login_id, redirect_url: landed }))
    expect(done.status).toBe("authenticated")
  })
})

/** Whether this machine has an IPv6 loopback to listen on (some CI containers have none). */
const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createServer()
  probe.once("error", () => resolve(false))
  probe.listen(0, "::1", () => probe.close(() => resolve(true)))
})

describe("a redirect URI on localhost (HYPERID_REDIRECT_URI=http://localhost:{port}/...)", () => {
  const landOn = (address: string, port: number, landed: URL, host = `localhost:${port}`) =>
    rawHttp(
      port,
      `GET ${landed.pathname}${landed.search} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      address,
    )

  it("is received whichever loopback address the browser resolves localhost to; another Host is refused", async () => {
    const port = await freePort()
    const session = await server(await freePort(), {
      HYPERID_REDIRECT_URI: `http://localhost:${port}/callback/hyperid`,
    })
    for (const address of ipv6Loopback ? ["127.0.0.1", "::1"] : ["127.0.0.1"]) {
      const pending = await login(session, "hyperid", address === "::1" ? "six" : "four")
      expect(pending, address).toMatchObject({ listening: true })
      const landed = new URL(emulator.hyperid.authorize(String(pending.authorization_url)))
      // A page of another site that the browser resolves to loopback (DNS rebinding) learns nothing and changes nothing.
      const rebound = await landOn(address, port, landed, `evil.example:${port}`)
      expect(rebound, address).toMatch(/^HTTP\/1\.1 421 /)
      // Nor does a name that URL parsing would turn into a loopback address: only the three names are taken.
      for (const other of ["127.1", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]"]) {
        expect(await landOn(address, port, landed, `${other}:${port}`), other).toMatch(/^HTTP\/1\.1 421 /)
      }
      // Two Host lines are 400 (RFC 9112 §3.2), whichever is loopback: Node reads only the first.
      const twice = await rawHttp(
        port,
        `GET ${landed.pathname}${landed.search} HTTP/1.1\r\nHost: localhost:${port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
        address,
      )
      expect(twice, address).toMatch(/^HTTP\/1\.1 400 /)
      expect(await stillPending(session, pending.login_id)).toBe(true)
      const answer = await landOn(address, port, landed, `LOCALHOST:${port}`)
      expect(answer, address).toMatch(/^HTTP\/1\.1 200 /)
      expect(answer).toContain("signed in to hyperid")
      const done = await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 })
      expect(structured(done).status, address).toBe("authenticated")
    }
  })

  it.runIf(ipv6Loopback)(
    "another program holding [::1] on its port makes the login say the user pastes the URL",
    async () => {
      const port = await freePort()
      // It listens where a browser that tries ::1 first (Chromium) sends a localhost redirect.
      const squatter = createServer((_, res) => res.end("not hyperauth"))
      await new Promise<void>((resolve, reject) => {
        squatter.once("error", reject)
        squatter.listen(port, "::1", resolve)
      })
      try {
        const session = await server(await freePort(), {
          HYPERID_REDIRECT_URI: `http://localhost:${port}/callback/hyperid`,
        })
        const pending = await login(session, "hyperid")
        expect(pending).toMatchObject({ listening: false })
        expect(String(pending.next_step)).toContain("redirect_url")
        expect(session.stderr()).toContain("::1")
      } finally {
        squatter.close()
      }
    },
  )
})

describe("forged callbacks", () => {
  it("a request whose target is no URL is answered 400, and the server and its login live on", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperid")
    const port = listenerPort(pending)
    for (const target of ["http://[", "http://", "//[::1", "http://a:99999/callback/hyperid"]) {
      const answer = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      expect(answer, target).toMatch(/^HTTP\/1\.1 4\d\d /)
    }
    expect(await stillPending(session, pending.login_id)).toBe(true)
    expect((await land(emulator.hyperid.authorize(String(pending.authorization_url)))).status).toBe(200)
  })

  it("without state, with a wrong state, or from another web page: ignored, the login still waits", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperid")
    const callback = String(pending.redirect_uri)
    // The attacker's own code, from an authorization request of theirs without state.
    const attackerUrl = new URL(String(pending.authorization_url))
    attackerUrl.searchParams.delete("state")
    attackerUrl.searchParams.delete("code_challenge")
    attackerUrl.searchParams.delete("code_challenge_method")
    const attackers = new URL(emulator.hyperid.authorize(attackerUrl.toString()))
    const fromAPage = { headers: { "sec-fetch-site": "cross-site", origin: "https://evil.example" } }
    const before = tokenRequests("hyperid")
    for (const forged of [
      `${callback}?error=access_denied`,
      `${callback}?code=junk`,
      attackers.toString(),
      `${callback}?error=access_denied&state=guess`,
      `${callback}?code=junk&state=guess`,
    ]) {
      const page = await land(forged, fromAPage)
      expect(page.status, forged).toBe(400)
      expect(page.text).toContain("belongs to no login")
    }
    expect(tokenRequests("hyperid")).toBe(before)
    expect(await stillPending(session, pending.login_id)).toBe(true)

    const page = await land(emulator.hyperid.authorize(String(pending.authorization_url)))
    expect(page.status).toBe(200)
    const done = structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))
    expect(done.status).toBe("authenticated")
  })

  it("a callback repeating a parameter is refused and the login still waits", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperline")
    const landed = emulator.hyperline.authorize(String(pending.authorization_url))
    const page = await land(`${landed}&code=attacker`)
    expect(page.status).toBe(400)
    expect(page.text).toContain("more than once")
    expect(await stillPending(session, pending.login_id)).toBe(true)
    expect((await land(landed)).status).toBe(200)
  })

  it("a hyperid callback naming another issuer (RFC 9207) is refused, sends no code, and the login still waits", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperid")
    const landed = new URL(emulator.hyperid.authorize(String(pending.authorization_url)))
    expect(landed.searchParams.get("iss")).toBe(`${emulator.origins.hyperid}/auth/realms/HyperID`)
    const mixedUp = new URL(landed)
    mixedUp.searchParams.set("iss", "https://other-idp.example/auth/realms/HyperID")
    const before = tokenRequests("hyperid")
    const page = await land(mixedUp.toString())
    expect(page.status).toBe(400)
    expect(page.text).toContain("not accepted")
    expect(tokenRequests("hyperid")).toBe(before)
    expect(await stillPending(session, pending.login_id)).toBe(true)
    expect((await land(landed.toString())).status).toBe(200)
  })

  it("a pasted URL without the login's state, or off its redirect URI, hands over no code and the login still waits", async () => {
    const session = await server(await freePort())
    for (const provider of ["hyperid", "hyperline"] as const) {
      const pending = await login(session, provider)
      // The attacker authorizes as themselves, without the victim's state (and, for hyperid,
      // without PKCE, so a server that does not refuse the downgrade would redeem the code).
      const attack = new URL(String(pending.authorization_url))
      for (const name of ["state", "code_challenge", "code_challenge_method"]) attack.searchParams.delete(name)
      // hyperline requires a state: the attacker's own.
      if (provider === "hyperline") attack.searchParams.set("state", "attacker-state")
      const landed = new URL(emulator[provider].authorize(attack.toString()))
      const genuine = new URL(emulator[provider].authorize(String(pending.authorization_url)))
      const elsewhere = new URL(`https://evil.example/cb?${genuine.searchParams}`)
      const before = tokenRequests(provider)
      for (const [url, code] of [
        [landed, "state_mismatch"],
        [new URL("https://evil.example/?error=access_denied"), "state_mismatch"],
        [elsewhere, "invalid_input"],
      ] as const) {
        const refused = await session.call("complete_login", {
          login_id: pending.login_id,
          redirect_url: url.toString(),
        })
        expect(errorCode(refused)).toBe(code)
      }
      expect(tokenRequests(provider)).toBe(before)
      expect(await stillPending(session, pending.login_id)).toBe(true)
      const done = structured(
        await session.call("complete_login", { login_id: pending.login_id, redirect_url: genuine.toString() }),
      )
      expect(done.status).toBe("authenticated")
    }
  })
})

describe("a double click", () => {
  it("two login calls at once for one account get one login: its link or code finishes it, no second is started", async () => {
    const session = await server(await freePort())
    const starts = () => emulator.count({ origin: "hyper", path: "/oauth/device" })
    for (const provider of ["hyperid", "hyperline", "hyper"] as const) {
      const args = { provider, account: "clicked", ...(provider === "hyperid" ? { scope: "openid" } : {}) }
      const before = starts()
      const [first, second] = (await Promise.all([session.call("login", args), session.call("login", args)])).map(
        structured,
      )
      expect(second?.login_id, provider).toBe(first?.login_id)
      if (provider === "hyper") {
        expect(starts() - before).toBe(1)
        emulator.hyper.approve(String(first?.user_code))
      } else {
        expect(second?.authorization_url).toBe(first?.authorization_url)
        const page = await land(emulator[provider].authorize(String(first?.authorization_url)))
        expect(page.status, provider).toBe(200)
      }
      const done = await session.call("complete_login", { login_id: first?.login_id, wait_seconds: 10 })
      expect(structured(done).status, provider).toBe("authenticated")
    }
  })
})

describe("logging in again to an account logged in already", () => {
  it("the earlier login serves until the new one finishes, and a new one refused leaves it as it was", async () => {
    const session = await server(await freePort())
    const customers = async () =>
      structured(await session.call("call_api", { provider: "hyperline", method: "GET", path: "/v1/customers" })).status
    const first = await login(session, "hyperline")
    expect((await land(emulator.hyperline.authorize(String(first.authorization_url)))).status).toBe(200)
    expect(structured(await session.call("complete_login", { login_id: first.login_id })).status).toBe("authenticated")
    const again = await login(session, "hyperline")
    expect(await customers()).toBe(200)
    expect((await land(emulator.hyperline.authorize(String(again.authorization_url), "deny"))).status).toBe(400)
    expect(errorCode(await session.call("complete_login", { login_id: again.login_id }))).toBe("access_denied")
    expect(await customers()).toBe(200)
    const third = await login(session, "hyperline")
    expect((await land(emulator.hyperline.authorize(String(third.authorization_url)))).status).toBe(200)
    expect(structured(await session.call("complete_login", { login_id: third.login_id })).status).toBe("authenticated")
    expect(await customers()).toBe(200)
  })
})

describe("exactly-once redemption", () => {
  it("a callback replayed (at once and later) redeems the code once; every delivery gets the first outcome", async () => {
    const session = await server(await freePort())
    for (const provider of ["hyperid", "hyperline"] as const) {
      const pending = await login(session, provider)
      const landed = emulator[provider].authorize(String(pending.authorization_url))
      const before = tokenRequests(provider)
      const pages = await Promise.all([land(landed), land(landed), land(landed)])
      for (const page of pages) expect(page.status).toBe(200)
      const pasted = structured(
        await session.call("complete_login", { login_id: pending.login_id, redirect_url: landed }),
      )
      expect(pasted.status).toBe("authenticated")
      expect(tokenRequests(provider)).toBe(before + 1)
      // The stored login is alive: a second redemption would have revoked it.
      const path = provider === "hyperid" ? "/userinfo" : "/v1/customers"
      expect(structured(await session.call("call_api", { provider, method: "GET", path })).status).toBe(200)
    }
  })

  it("a waiter cancelled mid-exchange: the exchange finishes, the tokens are stored, the login is not left pending", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperline")
    const landed = emulator.hyperline.authorize(String(pending.authorization_url))
    emulator.faults.inject({ origin: "hyperline", path: tokenPath.hyperline, latencyMs: 1500, times: 1 })
    const cancel = new AbortController()
    const waiter = session.client.callTool(
      { name: "complete_login", arguments: { login_id: pending.login_id, redirect_url: landed } },
      undefined,
      { signal: cancel.signal },
    )
    setTimeout(() => cancel.abort(), 500)
    await expect(waiter).rejects.toThrow()
    const done = structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 10 }))
    expect(done.status).toBe("authenticated")
    expect(structured(await session.call("get_token", { provider: "hyperline" })).status).toBe("authenticated")
    expect(tokenRequests("hyperline")).toBeGreaterThan(0)
  })
})

describe("the listener", () => {
  it("stops as soon as no login waits for it, after a refusal too", async () => {
    const session = await server(await freePort())
    const pending = await login(session, "hyperid")
    const denied = await land(emulator.hyperid.authorize(String(pending.authorization_url), "deny"))
    expect(denied.status).toBe(400)
    expect(denied.text).toContain("access_denied")
    // No tool call in between: the listener goes away on its own.
    expect(await closedWithin(String(pending.redirect_uri), 2000)).toBe(true)
    expect(errorCode(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 1 }))).toBe(
      "access_denied",
    )
  })

  it("stops once the last waiting login is done, not before", async () => {
    const session = await server(await freePort())
    const first = await login(session, "hyperid")
    const second = await login(session, "hyperline")
    expect(listenerPort(first)).toBe(listenerPort(second))
    expect((await land(emulator.hyperid.authorize(String(first.authorization_url)))).status).toBe(200)
    expect(await closedWithin(String(first.redirect_uri), 300)).toBe(false)
    expect((await land(emulator.hyperline.authorize(String(second.authorization_url)))).status).toBe(200)
    expect(await closedWithin(String(first.redirect_uri), 2000)).toBe(true)
  })
})
