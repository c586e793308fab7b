/**
 * The store the server uses, over real stdio: `list_providers` names it
 * (never a Redis password), a Redis store is shared by two servers, and a
 * Redis that cannot be reached stops the start with a message that says so.
 */
import { spawn } from "node:child_process"
import { type Emulator, start } from "@hyperauth/emulator"
import { freePort, type RedisServer, redisAvailable, startRedis } from "@hyperauth/emulator/redis-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, emulatorEnv, serverMain, structured, tempStore } from "./support/harness.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

describe("the token store of the server", () => {
  it("list_providers says which store holds the logins", async () => {
    const path = await tempStore()
    const session = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: path, HYPERAUTH_STORE_KEY: "k" })
    try {
      const listed = structured(await session.call("list_providers"))
      expect(listed.store).toEqual({ kind: "file", location: path, encrypted: true })
    } finally {
      await session.close()
    }
  })

  it("says at start when its file store is not encrypted, and not when it is", async () => {
    const plain = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: await tempStore() })
    const sealed = await connect({
      ...emulatorEnv(emulator),
      HYPERAUTH_STORE: await tempStore(),
      HYPERAUTH_STORE_KEY: "k",
    })
    const memory = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: "memory" })
    try {
      // Tokens and pending logins (their state and PKCE verifier) are then plain text to whoever can read the file.
      expect(plain.stderr()).toMatch(/not encrypted[^\n]*HYPERAUTH_STORE_KEY/)
      expect(sealed.stderr()).not.toMatch(/not encrypted/)
      expect(memory.stderr()).not.toMatch(/not encrypted/)
    } finally {
      await Promise.all([plain.close(), sealed.close(), memory.close()])
    }
  })

  it("with a store it cannot read, list_providers still lists the providers and says what is wrong", async () => {
    const path = await tempStore()
    const writer = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: path, HYPERAUTH_STORE_KEY: "right" })
    try {
      expect(structured(await writer.call("login", { provider: "hyperproof" })).status).toBe("authenticated")
    } finally {
      await writer.close()
    }
    const session = await connect({ ...emulatorEnv(emulator), HYPERAUTH_STORE: path, HYPERAUTH_STORE_KEY: "wrong" })
    try {
      const listed = structured(await session.call("list_providers"))
      expect((listed.providers as Array<unknown>).length).toBe(4)
      const store = listed.store as { problem?: string }
      expect(store.problem).toContain("HYPERAUTH_STORE_KEY")
      expect(store.problem).not.toContain("wrong")
    } finally {
      await session.close()
    }
  })

  describe.skipIf(!redisAvailable())("with Redis", () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis({ password: "not-a-real-password" })
    }, 20_000)
    afterAll(async () => {
      await redis?.stop()
    })

    it("two servers on one Redis share a login, and neither shows the URL's password", async () => {
      const url = `redis://default:not-a-real-password@127.0.0.1:${redis.port}/3`
      const env = { ...emulatorEnv(emulator), HYPERAUTH_STORE: url, HYPERAUTH_STORE_KEY: "shared" }
      const a = await connect(env)
      const b = await connect(env)
      try {
        const login = structured(await a.call("login", { provider: "hyperproof" }))
        expect(login.status).toBe("authenticated")
        const listed = structured(await b.call("list_providers"))
        expect(listed.store).toEqual({ kind: "redis", location: `redis://127.0.0.1:${redis.port}/3`, encrypted: true })
        expect(JSON.stringify(listed)).not.toContain("not-a-real-password")
        const hyperproof = (listed.providers as Array<{ id: string; accounts: Array<unknown> }>).find(
          (p) => p.id === "hyperproof",
        )
        expect(hyperproof?.accounts).toHaveLength(1)
      } finally {
        await a.close()
        await b.close()
      }
    })
  })

  it("a Redis that cannot be reached stops the start, saying which and without its password", async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [serverMain], {
      env: {
        PATH: process.env.PATH ?? "",
        HYPERAUTH_STORE: `redis://user:hunter2-secret@127.0.0.1:${port}/0`,
      },
      stdio: ["pipe", "pipe", "pipe"],
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(1)
    expect(stderr).toContain(`redis://127.0.0.1:${port}/0`)
    expect(stderr).toContain("could not be reached")
    expect(stderr).not.toContain("hunter2-secret")
  }, 30_000)
})
