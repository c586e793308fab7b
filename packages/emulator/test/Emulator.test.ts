import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  defaultHyperIdClient,
  defaultHyperlineApiKey,
  defaultHyperproofClient,
  type Emulator,
  hyperidRealmPath,
  maxBodyBytes,
  originNames,
  start,
} from "../src/index.js"

let emulator: Emulator
beforeAll(async () => {
  emulator = await start()
})
afterAll(async () => {
  await emulator.close()
})

describe("emulator skeleton", () => {
  it("listens on a loopback origin per provider and serves /health on each", async () => {
    const origins = originNames.map((name) => emulator.origins[name])
    expect(new Set(origins).size).toBe(originNames.length)
    for (const name of originNames) {
      expect(emulator.origins[name]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const response = await fetch(`${emulator.origins[name]}/health`)
      expect(await response.json()).toEqual({ ok: true, origin: name })
    }
  })

  it("exposes the environment that points hyperauth at it", () => {
    expect(emulator.env.HYPER_BASE_URL).toBe(emulator.origins.hyper)
    expect(emulator.env.HYPERPROOF_API_URL).toBe(emulator.origins.hyperproofApi)
    expect(emulator.env).toMatchObject({
      HYPERID_CLIENT_ID: defaultHyperIdClient.clientId,
      HYPERID_CLIENT_SECRET: defaultHyperIdClient.clientSecret,
      HYPERLINE_API_KEY: defaultHyperlineApiKey,
      HYPERPROOF_CLIENT_SECRET: defaultHyperproofClient.clientSecret,
    })
    expect(emulator.env.HYPER_CLIENT_ID).toBeTruthy()
  })

  it("puts the clients it was started with in its environment", async () => {
    const other = await start({ hyperproof: { clientId: "mine", clientSecret: "my-secret" } })
    expect(other.env).toMatchObject({ HYPERPROOF_CLIENT_ID: "mine", HYPERPROOF_CLIENT_SECRET: "my-secret" })
    await other.close()
  })

  it("answers unknown routes with 404", async () => {
    expect((await fetch(`${emulator.origins.hyper}/nope`)).status).toBe(404)
  })

  it("forces a status for a number of requests, per route", async () => {
    const url = `${emulator.origins.hyperline}/health`
    emulator.faults.inject({ origin: "hyperline", path: "/health", status: 503, body: "down", times: 2 })
    expect((await fetch(`${emulator.origins.hyper}/health`)).status).toBe(200)
    expect((await fetch(url)).status).toBe(503)
    expect(await (await fetch(url)).text()).toBe("down")
    expect((await fetch(url)).status).toBe(200)
  })

  it("drops connections, sends malformed bodies and adds latency until disarmed", async () => {
    const url = `${emulator.origins.hyper}/health`
    const disarm = emulator.faults.inject({ path: "/health", drop: true })
    await expect(fetch(url)).rejects.toThrow()
    disarm()
    emulator.faults.inject({ path: "/health", malformed: true, times: 1 })
    await expect((await fetch(url)).json()).rejects.toThrow()
    emulator.faults.inject({ path: "/health", latencyMs: 150, times: 1 })
    const started = performance.now()
    expect((await fetch(url)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
  })

  it("resets connections with a TCP RST", async () => {
    emulator.faults.inject({ path: "/health", reset: true, times: 1 })
    const failure = await fetch(`${emulator.origins.hyper}/health`).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(TypeError)
    expect((failure as TypeError).cause).toMatchObject({ code: "ECONNRESET" })
  })

  it("stops a long latency when the client hangs up, so close() does not wait for it", async () => {
    const other = await start()
    other.faults.inject({ path: "/health", latencyMs: 600_000 })
    const abort = new AbortController()
    const pending = fetch(`${other.origins.hyper}/health`, { signal: abort.signal }).catch(() => "aborted")
    while (other.count({ path: "/health" }) === 0) await new Promise((r) => setTimeout(r, 5))
    abort.abort()
    expect(await pending).toBe("aborted")
    await other.close()
  })

  it("delays an answer after handling its request: a client that gives up meanwhile finds it done", async () => {
    const other = await start()
    try {
      const refreshToken = other.tokens.issue("refresh", {
        provider: "hyperid",
        clientId: defaultHyperIdClient.clientId,
        subject: "user_ada",
        scope: "openid",
        grant: "g1",
        lifetime: 600,
      }).value
      const path = `${hyperidRealmPath}/token`
      other.faults.inject({ origin: "hyperid", path, answerLatencyMs: 600_000 })
      const abort = new AbortController()
      const pending = fetch(`${other.origins.hyperid}${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: refreshToken,
          client_id: defaultHyperIdClient.clientId,
          client_secret: defaultHyperIdClient.clientSecret,
        }),
        signal: abort.signal,
      }).then(
        () => "answered",
        () => "aborted",
      )
      let outcome = "waiting"
      void pending.then((settled) => {
        outcome = settled
      })
      while ((other.tokens.refreshes.get("hyperid") ?? 0) === 0) await new Promise((r) => setTimeout(r, 5))
      // Handled (the refresh token is spent), and still unanswered a while later.
      await new Promise((r) => setTimeout(r, 100))
      expect(outcome).toBe("waiting")
      abort.abort()
      expect(await pending).toBe("aborted")
    } finally {
      await other.close()
    }
  })

  it("logs what clients sent", async () => {
    const before = emulator.count({ origin: "hyperid", path: "/health" })
    await fetch(`${emulator.origins.hyperid}/health`)
    expect(emulator.count({ origin: "hyperid", path: "/health" })).toBe(before + 1)
  })

  it("logs the status and OAuth error of each answer", async () => {
    await fetch(`${emulator.origins.hyper}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=password",
    })
    expect(emulator.requests.at(-1)).toMatchObject({
      path: "/oauth/token",
      status: 400,
      error: "unsupported_grant_type",
    })
    expect(emulator.count({ path: "/oauth/token", error: "unsupported_grant_type" })).toBe(1)
    await fetch(`${emulator.origins.hyper}/nowhere`)
    expect(emulator.requests.at(-1)).toMatchObject({ path: "/nowhere", status: 404, error: undefined })
  })

  it("close() stops listening, also with idle keep-alive connections", async () => {
    const other = await start()
    await fetch(`${other.origins.hyper}/health`)
    await other.close()
    await expect(fetch(`${other.origins.hyper}/health`)).rejects.toThrow()
  })
})

/** POSTs `size` bytes to `url` in 64 KiB chunks, with or without a Content-Length; the status and body answered. */
const postBytes = (url: string, size: number, declared: boolean) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = Http.request(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(declared ? { "content-length": String(size) } : {}),
        },
      },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          body += chunk
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
      },
    )
    // The emulator may stop reading once it has answered: a write after that is no failure here.
    request.on("error", (error) => (request.writableEnded ? undefined : reject(error)))
    const chunk = Buffer.alloc(64 * 1024, "a")
    let sent = 0
    const more = () => {
      while (sent < size) {
        sent += chunk.length
        if (!request.write(chunk)) return request.once("drain", more)
      }
      request.end()
    }
    more()
  })

describe("request bodies", () => {
  for (const declared of [true, false]) {
    it(`answers a body over ${maxBodyBytes} bytes with 413 and reads no more of it (${declared ? "Content-Length" : "chunked"})`, async () => {
      const answer = await postBytes(`${emulator.origins.hyperproofAccounts}/oauth/token`, 8 * 1024 * 1024, declared)
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({ error: "invalid_request" })
      // Still serving.
      expect((await fetch(`${emulator.origins.hyperproofAccounts}/health`)).status).toBe(200)
    })
  }
})
