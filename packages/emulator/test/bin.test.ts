import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

it("hyperauth-emulator prints the environment that points at it, serves it, and stops on SIGTERM", async () => {
  const child = spawn(process.execPath, [bin], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  await expect.poll(() => stdout, { timeout: 10_000 }).toContain("HYPERPROOF_API_URL")
  const hyper = /export HYPER_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
  expect(hyper).toBeDefined()
  expect(await (await fetch(`${hyper}/health`)).json()).toEqual({ ok: true, origin: "hyper" })
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  expect(await exited).toBe(0)
})

it("--hyperline-callback registers the default app's redirect URIs in place of the loopback default", async () => {
  const child = spawn(process.execPath, [bin, "--hyperline-callback", "https://app.example/cb"], {
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  try {
    await expect.poll(() => stdout, { timeout: 10_000 }).toContain("HYPERPROOF_API_URL")
    const origin = /export HYPERLINE_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
    const page = (redirectUri: string) =>
      fetch(
        `${origin}/v1/oauth/authorize?${new URLSearchParams({
          client_id: "hyperline-client",
          redirect_uri: redirectUri,
          response_type: "code",
          state: "s",
        })}`,
      )
    expect((await page("https://app.example/cb")).status).toBe(200)
    expect((await page("http://127.0.0.1:8976/callback/hyperline")).status).toBe(400)
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }
})
