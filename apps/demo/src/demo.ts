#!/usr/bin/env node
/**
 * `pnpm demo`: starts the emulator, starts the built MCP server over stdio
 * against it, and plays an agent through all four providers, acting as the
 * user in the emulator where a person would approve. Prints a transcript.
 */
import { rm } from "node:fs/promises"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { sampleControl, start } from "@hyperauth/emulator"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"

const serverMain = createRequire(import.meta.url)
  .resolve("@hyperauth/mcp-server/package.json")
  .replace(/package\.json$/, "dist/hyperauth-mcp.js")

const say = (line = "") => process.stdout.write(`${line}\n`)
const dim = (text: string) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text)

/** A free loopback port for the server's redirect listener. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const storePath = join(tmpdir(), `hyperauth-demo-${process.pid}.json`)
const emulator = await start({ hyper: { interval: 1 } })
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [serverMain],
  env: {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? tmpdir(),
    ...emulator.env,
    HYPERAUTH_STORE: storePath,
    HYPERAUTH_CALLBACK_PORT: String(await freePort()),
  },
  stderr: "ignore",
})
const client = new Client({ name: "hyperauth-demo", version: "0.1.0" })
await client.connect(transport)

/** One tool call, printed as the agent would see it; `refused` calls are meant to fail. */
const call = async (
  name: string,
  args: Record<string, unknown> = {},
  refused = false,
): Promise<Record<string, unknown>> => {
  say(`agent → ${name} ${JSON.stringify(args)}`)
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) {
    const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n")
    say(`  ✗ ${text.split("\n")[0]}`)
    if (!refused) throw new Error(`${name} failed unexpectedly`)
    return {}
  }
  const structured = (result.structuredContent ?? {}) as Record<string, unknown>
  say(dim(`  ← ${JSON.stringify(structured).slice(0, 240)}`))
  return structured
}

const user = (line: string) => say(`user  ✓ ${line}`)

try {
  say("hyperauth demo: an agent signs in to four providers through the MCP server (emulated providers)")
  say()
  await call("list_providers")

  say("\n— hyperproof: client credentials")
  await call("login", { provider: "hyperproof" })
  await call("call_api", { provider: "hyperproof", method: "GET", path: `/v1/controls/${sampleControl.id}` })

  say("\n— hyper: device code")
  const device = await call("login", { provider: "hyper", scope: "read" })
  user(`opens ${String(device.verification_uri)} and enters ${String(device.user_code)}`)
  emulator.hyper.approve(String(device.user_code))
  await call("complete_login", { login_id: device.login_id, wait_seconds: 30 })
  await call("introspect_token", { provider: "hyper" })
  await call("call_api", { provider: "hyper", method: "GET", path: "/v1/me" })

  say("\n— hyperid: authorization code with KYC level 3")
  const hyperid = await call("login", {
    provider: "hyperid",
    scope: "openid email",
    options: { verification_level: 3 },
  })
  const landed = emulator.hyperid.authorize(String(hyperid.authorization_url))
  user("approves in the browser, which is sent back to the server")
  await call("complete_login", { login_id: hyperid.login_id, redirect_url: landed })
  await call("refresh_token", { provider: "hyperid" })
  await call("call_api", { provider: "hyperid", method: "GET", path: "/userinfo" })

  say("\n— hyperline: authorization code with state, company header")
  const hyperline = await call("login", { provider: "hyperline" })
  const back = emulator.hyperline.authorize(String(hyperline.authorization_url))
  user("approves and pastes the URL the browser landed on")
  await call("complete_login", { login_id: hyperline.login_id, redirect_url: back })
  await call("call_api", { provider: "hyperline", method: "GET", path: "/v1/customers", company_id: "cmp_globex" })

  say("\n— the guard at work, then logging out")
  await call("call_api", { provider: "hyperline", method: "GET", path: "/v1/../../admin" }, true)
  await call("get_token", { provider: "hyperid", reveal: true }, true)
  await call("logout", { provider: "hyperid" })
  await call("logout", { provider: "hyperline" })
  say("\nDone: four providers, no raw token in any result.")
} catch (error) {
  say(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  await client.close()
  await emulator.close()
  await rm(storePath, { force: true })
}
