/**
 * The pages a person sees, in a real headless Chromium: the emulator's
 * consent page clicked through to the listener's callback page, for hyperid
 * and hyperline, allowed and denied. Chromium is Debian's `chromium`
 * package (installed by `.ci/run`), driven by `playwright-core`.
 */
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Emulator, start } from "@hyperauth/emulator"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, errorCode, freePort, type Session, structured, tempStore } from "./support/harness.js"

/** What a person reads in an element (the page has no hidden text). */
const shown = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? ""

const executablePath = process.env.HYPERAUTH_CHROMIUM ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"

if (!available) {
  process.stderr.write(
    `\nSKIPPED: browser tests: no Chromium at ${executablePath} (apt-get install chromium, or set HYPERAUTH_CHROMIUM)\n\n`,
  )
}

describe.runIf(!available && inCi)("browser tests in CI", () => {
  it(`need Chromium at ${executablePath}`, () => {
    expect.fail(`CI is set but ${executablePath} is missing: .ci/run installs the chromium package`)
  })
})

describe.skipIf(!available)("callback pages in Chromium", () => {
  let emulator: Emulator
  let session: Session
  let context: BrowserContext
  let profile: string
  const pages: Array<Page> = []

  beforeAll(async () => {
    emulator = await start()
    session = await connect({
      ...emulatorEnv(emulator),
      HYPERAUTH_STORE: await tempStore(),
      HYPERAUTH_CALLBACK_PORT: String(await freePort()),
    })
    profile = await mkdtemp(join(tmpdir(), "hyperauth-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    })
  }, 60_000)

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close()))
  })

  afterAll(async () => {
    await context?.close()
    await session?.close()
    await emulator?.close()
    if (profile !== undefined) await rm(profile, { recursive: true, force: true })
  })

  const secrets = () =>
    Object.entries(emulatorEnv(emulator))
      .filter(([name]) => name.endsWith("_SECRET"))
      .map(([, value]) => value)

  /** Starts a login, opens its URL and clicks a button of the consent page: the callback page reached. */
  const clickThrough = async (provider: "hyperid" | "hyperline", button: "Allow" | "Deny", account: string) => {
    const pending = structured(
      await session.call("login", { provider, account, ...(provider === "hyperid" ? { scope: "openid" } : {}) }),
    )
    expect(pending.listening).toBe(true)
    const page = await context.newPage()
    pages.push(page)
    await page.goto(String(pending.authorization_url))
    await page.getByRole("button", { name: button }).click()
    await page.waitForURL((url) => url.pathname === `/callback/${provider}`)
    await page.waitForLoadState("load")
    const html = await page.content()
    for (const secret of secrets()) expect(html).not.toContain(secret)
    expect(html).not.toMatch(/_code_/)
    return {
      pending,
      page,
      heading: await shown(page, "h1"),
      text: await shown(page, "body"),
    }
  }

  for (const provider of ["hyperid", "hyperline"] as const) {
    it(`${provider}: Allow lands on a page saying you are signed in, and the login is finished`, async () => {
      const { pending, heading, text } = await clickThrough(provider, "Allow", `${provider}-allow`)
      expect(heading).toBe("Signed in")
      expect(text).toContain(`You are signed in to ${provider}.`)
      expect(text).toContain("go back to your assistant")
      const done = structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))
      expect(done.status).toBe("authenticated")
    })

    it(`${provider}: Deny lands on a page with the provider's error code and description and what to do`, async () => {
      const { pending, heading, text } = await clickThrough(provider, "Deny", `${provider}-deny`)
      expect(heading).toBe("Sign-in did not finish")
      expect(text).toContain(`The ${provider} sign-in ended with access_denied: `)
      expect(text).toContain(provider === "hyperid" ? "The user denied the request" : "The user denied access")
      expect(text).toContain("start the login again")
      expect(errorCode(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 }))).toBe(
        "access_denied",
      )
    })
  }

  it("a pinned http://localhost redirect URI: Chromium, which tries ::1 first, lands on this server's page", async () => {
    const port = await freePort()
    const pinned = await connect({
      ...emulatorEnv(emulator),
      HYPERAUTH_STORE: await tempStore(),
      HYPERID_REDIRECT_URI: `http://localhost:${port}/callback/hyperid`,
    })
    try {
      const pending = structured(await pinned.call("login", { provider: "hyperid", scope: "openid" }))
      expect(pending).toMatchObject({ listening: true, redirect_uri: `http://localhost:${port}/callback/hyperid` })
      const page = await context.newPage()
      pages.push(page)
      await page.goto(String(pending.authorization_url))
      await page.getByRole("button", { name: "Allow" }).click()
      await page.waitForURL((url) => url.pathname === "/callback/hyperid")
      expect(await shown(page, "h1")).toBe("Signed in")
      const done = await pinned.call("complete_login", { login_id: pending.login_id, wait_seconds: 5 })
      expect(structured(done).status).toBe("authenticated")
    } finally {
      await pinned.close()
    }
  })

  it("a link that belongs to no waiting login says so in plain words", async () => {
    const pending = structured(await session.call("login", { provider: "hyperline", account: "stray" }))
    const page = await context.newPage()
    pages.push(page)
    await page.goto(`${String(pending.redirect_uri)}?code=junk&state=not-yours`)
    expect(await shown(page, "h1")).toBe("No sign-in is waiting for this link")
    expect(await shown(page, "body")).toContain("nothing changed")
    expect(
      structured(await session.call("complete_login", { login_id: pending.login_id, wait_seconds: 0 })).status,
    ).toBe("pending")
  })

  it("the provider's words are shown as text, never run as markup", async () => {
    const pending = structured(await session.call("login", { provider: "hyperline", account: "markup" }))
    const state = new URL(String(pending.authorization_url)).searchParams.get("state") ?? ""
    const page = await context.newPage()
    pages.push(page)
    const description = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`
    await page.goto(
      `${String(pending.redirect_uri)}?${new URLSearchParams({ error: "server_error", error_description: description, state })}`,
    )
    expect(await page.title()).not.toBe("pwned")
    expect(await shown(page, "body")).toContain(description)
    expect(await page.locator("img, script").count()).toBe(0)
  })
})
