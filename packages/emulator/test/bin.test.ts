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

it("--hyperid-redirect-uri registers a redirect URI for hyperid's client beside the loopback ones", async () => {
  const child = spawn(process.execPath, [bin, "--hyperid-redirect-uri", "https://client.example.org/cb"], {
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  try {
    await expect.poll(() => stdout, { timeout: 10_000 }).toContain("HYPERPROOF_API_URL")
    const origin = /export HYPERID_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
    const page = (redirectUri: string) =>
      fetch(
        `${origin}/auth/realms/HyperID/protocol/openid-connect/auth?${new URLSearchParams({
          client_id: "hyperid-client",
          redirect_uri: redirectUri,
          response_type: "code",
          state: "s",
        })}`,
      )
    // The seed's own example redirect URI.
    expect((await page("https://client.example.org/cb")).status).toBe(200)
    expect((await page("http://127.0.0.1:8976/callback/hyperid")).status).toBe(200)
    expect((await page("https://evil.example/cb")).status).toBe(400)
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }
})
