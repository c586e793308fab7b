/**
 * Bad settings, end to end over stdio: every problem names the variable and
 * what it accepts and quotes no value; a malformed config file is named and
 * none of its content is shown; list_providers never shows credentials from
 * a URL; get_token on an unconfigured provider is not_configured.
 */
import { spawn } from "node:child_process"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { connect, errorCode, serverMain, structured, textOf } from "./support/harness.js"

interface Listed {
  readonly id: string
  readonly configured: boolean
  readonly problem?: string
  readonly api_base_url?: string
  readonly api_base_url_problem?: string
}

describe("settings", () => {
  it("names the variable and the accepted values, and quotes no value", async () => {
    const session = await connect({
      HYPERAUTH_STORE: "memory",
      HYPERAUTH_HTTP_TIMEOUT: "abc",
      HYPERID_ENVIRONMENT: "staging",
      HYPER_BASE_URL: "https://ada:pa55word@hyper.example",
    })
    try {
      const listed = structured(await session.call("list_providers")).providers as ReadonlyArray<Listed>
      for (const provider of listed) {
        expect(provider.configured).toBe(false)
        expect(provider.problem).toContain("HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds")
      }
      const byId = Object.fromEntries(listed.map((p) => [p.id, p]))
      expect(byId.hyperid?.problem).toContain("HYPERID_ENVIRONMENT must be production or sandbox")
      expect(byId.hyperid?.api_base_url_problem).toContain("HYPERID_ENVIRONMENT must be production or sandbox")
      expect(byId.hyper?.problem).toContain("HYPER_BASE_URL must be an http(s) origin")
      expect(byId.hyper?.api_base_url_problem).toContain("HYPER_BASE_URL must be an http(s) origin")
      expect(byId.hyperproof?.api_base_url).toBe("https://api.hyperproof.app")

      const everything = JSON.stringify(listed)
      for (const value of ["abc", "staging", "pa55word", "ada:"]) expect(everything).not.toContain(value)
    } finally {
      await session.close()
    }
  })

  it("HYPERAUTH_HTTP_TIMEOUT past an hour is a configuration error naming its range, not a call failing at once", async () => {
    // 3,000,000 s overflowed Node's timer: every request failed after 1 ms as a timeout.
    const session = await connect({ HYPERAUTH_STORE: "memory", HYPERAUTH_HTTP_TIMEOUT: "3000000" })
    try {
      const listed = structured(await session.call("list_providers")).providers as ReadonlyArray<Listed>
      for (const provider of listed) {
        expect(provider.configured).toBe(false)
        expect(provider.problem).toContain("HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds up to 3600")
      }
      expect(JSON.stringify(listed)).not.toContain("3000000")
      for (const [tool, args] of [
        ["login", { provider: "hyperproof" }],
        ["call_api", { provider: "hyperproof", method: "GET", path: "/v1/me" }],
      ] as const) {
        const result = await session.call(tool, args)
        expect(errorCode(result), textOf(result)).toBe("not_configured")
        expect(textOf(result)).toContain("HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds up to 3600")
      }
      expect(session.stderr()).not.toContain("TimeoutOverflowWarning")
    } finally {
      await session.close()
    }
  })

  it("HYPERAUTH_CALLBACK_PORT=abc is named with the ports it accepts", async () => {
    const session = await connect({ HYPERAUTH_STORE: "memory", HYPERAUTH_CALLBACK_PORT: "abc" })
    try {
      const listed = structured(await session.call("list_providers")).providers as ReadonlyArray<Listed>
      expect(listed.find((p) => p.id === "hyperid")?.problem).toContain(
        "HYPERAUTH_CALLBACK_PORT must be a port number from 1 to 65535",
      )
      expect(JSON.stringify(listed)).not.toContain("abc")
    } finally {
      await session.close()
    }
  })

  it("get_token on an unconfigured provider is not_configured, like every other tool", async () => {
    const session = await connect({ HYPERAUTH_STORE: "memory" })
    try {
      for (const provider of ["hyper", "hyperid", "hyperline", "hyperproof"]) {
        const result = await session.call("get_token", { provider })
        expect(errorCode(result), textOf(result)).toBe("not_configured")
        expect(errorCode(await session.call("refresh_token", { provider }))).toBe("not_configured")
      }
    } finally {
      await session.close()
    }
  })

  it("a malformed config file is named, and none of its content is shown", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "hyperauth-config-")), "settings.json")
    await writeFile(file, '{"HYPERID_CLIENT_ID": "x", "HYPERID_CLIENT_SECRET": abc123unquotedsecret}\n')
    const child = spawn(process.execPath, [serverMain, "--config", file], {
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), HYPERAUTH_STORE: "memory" },
      stdio: ["pipe", "pipe", "pipe"],
    })
    let stderr = ""
    let stdout = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(1)
    expect(stderr).toContain(file)
    expect(stderr).toContain("is not valid JSON")
    for (const part of ["abc", "unquoted", 'secret"', "HYPERID_CLIENT_SECRET"]) expect(stderr).not.toContain(part)
    expect(stdout).toBe("")
  })
})

describe("a config file that cannot be read", () => {
  it("is named, with what to do, for a path that does not exist or is a directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hyperauth-config-"))
    for (const [file, said] of [
      [join(dir, "missing.json"), "does not exist"],
      [dir, "is a directory"],
    ] as const) {
      const child = spawn(process.execPath, [serverMain, "--config", file], {
        env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), HYPERAUTH_STORE: "memory" },
        stdio: ["pipe", "pipe", "pipe"],
      })
      let stderr = ""
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
      })
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
      expect(code).toBe(1)
      expect(stderr).toContain(`${file} ${said}`)
      expect(stderr).toContain("--config")
      expect(stderr).not.toContain("ENOENT")
      expect(stderr).not.toContain("EISDIR")
    }
  })
})
