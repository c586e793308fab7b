/**
 * MCP conformance over real stdio, in raw JSON-RPC lines, for what real
 * clients (and scripts posing as them) send: the lifecycle (requests before
 * `initialize`, a repeated one, version negotiation), JSON-RPC batches by
 * negotiated revision, methods of capabilities this server does not
 * declare, request ids of every kind, cancellation (of unknown, finished and
 * running requests) and progress.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { type Emulator, start } from "@hyperauth/emulator"
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { emulatorEnv } from "./support/harness.js"
import { type RawOptions, type RawSession, rawSession } from "./support/raw.js"

const memory = { HYPERAUTH_STORE: "memory" }

/** Sessions a test opened, closed after it. */
const opened: Array<RawSession> = []
const open = async (env: Record<string, string> = memory, options: RawOptions = {}) => {
  const raw = await rawSession(env, options)
  opened.push(raw)
  return raw
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((raw) => raw.close()))
})

const initializeRequest = (id: string | number, protocolVersion = "2025-06-18") => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "0" } },
})

interface ErrorAnswer {
  readonly code: number
  readonly message: string
}

const errorOf = (answer: Record<string, unknown>): ErrorAnswer => {
  expect(answer, JSON.stringify(answer).slice(0, 300)).toHaveProperty("error")
  return answer.error as ErrorAnswer
}

/** Every answer (result or error) to request `id` so far. */
const answersTo = (raw: RawSession, id: unknown) =>
  raw.messages().filter((m) => m.id === id && ("result" in m || "error" in m))

/** The errors answered without an id since message `from`. */
const idless = (raw: RawSession, from: number) =>
  raw
    .messages()
    .slice(from)
    .filter((m) => !("id" in m) && "error" in m)
    .map((m) => (m.error as ErrorAnswer).code)

/** A ping answered: everything written before it has been read. */
const pinged = async (raw: RawSession, id: string) => {
  await raw.send({ jsonrpc: "2.0", id, method: "ping" })
  expect(await raw.answer(id)).toHaveProperty("result")
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts a hyper device login on `raw` and checks no URL-mode elicitation was sent for it. */
const expectNoUrlOffered = async (raw: RawSession, name: string) => {
  await raw.send({
    jsonrpc: "2.0",
    id: `device-${name}`,
    method: "tools/call",
    params: { name: "login", arguments: { provider: "hyper" } },
  })
  expect(await raw.answer(`device-${name}`)).toHaveProperty("result.structuredContent.status", "pending")
  await pinged(raw, `after-${name}`)
  expect(raw.messages().filter((m) => m.method === "elicitation/create")).toEqual([])
}

describe("lifecycle", () => {
  it("before initialize only ping is answered; other requests are -32600 and run nothing", async () => {
    const raw = await open(memory, { protocolVersion: null })
    await pinged(raw, "early-ping")
    await raw.send({ jsonrpc: "2.0", id: "early-list", method: "tools/list" })
    await raw.send({
      jsonrpc: "2.0",
      id: "early-call",
      method: "tools/call",
      params: { name: "list_providers", arguments: {} },
    })
    for (const id of ["early-list", "early-call"]) {
      const error = errorOf(await raw.answer(id))
      expect(error.code).toBe(-32600)
      expect(error.message).toMatch(/not initialized/i)
      expect(error.message).toContain("initialize")
    }
    // Then the session starts as usual.
    await raw.send(initializeRequest("init"))
    expect(await raw.answer("init")).toHaveProperty("result.protocolVersion", "2025-06-18")
    await raw.send({ jsonrpc: "2.0", method: "notifications/initialized" })
    await raw.send({ jsonrpc: "2.0", id: "list", method: "tools/list" })
    expect(await raw.answer("list")).toHaveProperty("result.tools")
  })

  it("a second initialize is -32600 and changes nothing: a client claiming elicitation in it is not sent any", async () => {
    const emulator = await start()
    try {
      const raw = await open({ ...emulatorEnv(emulator), ...memory })
      await raw.send({
        ...initializeRequest("again", "2025-11-25"),
        params: {
          protocolVersion: "2025-11-25",
          capabilities: { elicitation: { url: {} } },
          clientInfo: { name: "b", version: "1" },
        },
      })
      const error = errorOf(await raw.answer("again"))
      expect(error.code).toBe(-32600)
      expect(error.message).toMatch(/already initialized/i)
      // The first client declared no elicitation: a device login offers its URL to nobody.
      await expectNoUrlOffered(raw, "again")
    } finally {
      await emulator.close()
    }
  })

  it("a client that negotiated 2025-06-18 (no URL-mode elicitation) is offered no URL, whatever it declares", async () => {
    const emulator = await start()
    try {
      const raw = await open({ ...emulatorEnv(emulator), ...memory }, { protocolVersion: null })
      await raw.send({
        ...initializeRequest("init-old"),
        params: {
          protocolVersion: "2025-06-18",
          capabilities: { elicitation: { url: {} } },
          clientInfo: { name: "old", version: "1" },
        },
      })
      expect(await raw.answer("init-old")).toHaveProperty("result.protocolVersion", "2025-06-18")
      await expectNoUrlOffered(raw, "old")
    } finally {
      await emulator.close()
    }
  })

  it("an initialize refused for its params (-32602) does not count: the next one is answered", async () => {
    const raw = await open(memory, { protocolVersion: null })
    await raw.send({ jsonrpc: "2.0", id: "bad", method: "initialize", params: { protocolVersion: 5 } })
    expect(errorOf(await raw.answer("bad")).code).toBe(-32602)
    await raw.send(initializeRequest("good"))
    expect(await raw.answer("good")).toHaveProperty("result.serverInfo.name", "hyperauth")
  })

  it("requests written right after initialize, before its answer, are served (a client piping a script)", async () => {
    const raw = await open(memory, { protocolVersion: null })
    await raw.send(
      [
        JSON.stringify(initializeRequest(0)),
        JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      ].join("\n"),
    )
    expect(await raw.answer(0)).toHaveProperty("result")
    expect(await raw.answer(1)).toHaveProperty("result.tools")
  })

  it.each(["2024-11-05", "2025-03-26", "2025-06-18"])("a client asking for %s is answered with it", async (version) => {
    const raw = await open(memory, { protocolVersion: null })
    await raw.send(initializeRequest("init", version))
    expect(await raw.answer("init")).toHaveProperty("result.protocolVersion", version)
  })

  it.each(["2099-01-01", "1.0.0", "2024-01-01"])(
    "a client asking for %s, which the server does not speak, is answered with the latest it does",
    async (version) => {
      const raw = await open(memory, { protocolVersion: null })
      await raw.send(initializeRequest("init", version))
      const answer = await raw.answer("init")
      expect(answer).toHaveProperty("result.protocolVersion", LATEST_PROTOCOL_VERSION)
      expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(LATEST_PROTOCOL_VERSION)
    },
  )
})

describe("batches", () => {
  const batch = [
    { jsonrpc: "2.0", id: "in-batch-ping", method: "ping" },
    { jsonrpc: "2.0", id: "in-batch-list", method: "tools/list" },
  ]

  it.each(["2025-06-18", LATEST_PROTOCOL_VERSION])(
    "are refused whole (-32600, no id) once %s is negotiated, which has none; nothing in one runs",
    async (version) => {
      const raw = await open(memory, { protocolVersion: version })
      const from = raw.messages().length
      await raw.send(batch)
      await raw.until(() => idless(raw, from).length === 1)
      expect(idless(raw, from)).toEqual([-32600])
      const refusal = raw
        .messages()
        .slice(from)
        .find((m) => "error" in m)
      expect(errorOf(refusal ?? {}).message).toMatch(/batch/i)
      await pinged(raw, "after-batch")
      expect(answersTo(raw, "in-batch-ping")).toEqual([])
      expect(answersTo(raw, "in-batch-list")).toEqual([])
      expect(raw.stderr()).toMatch(/batch/)
    },
  )

  it.each(["2025-03-26", "2024-11-05"])("are served message by message once %s is negotiated", async (version) => {
    const raw = await open(memory, { protocolVersion: version })
    await raw.send(batch)
    expect(await raw.answer("in-batch-ping")).toHaveProperty("result")
    expect(await raw.answer("in-batch-list")).toHaveProperty("result.tools")
  })

  it("are refused before initialize, an initialize in one too (2025-03-26: it MUST NOT be in a batch)", async () => {
    const raw = await open(memory, { protocolVersion: null })
    const from = raw.messages().length
    await raw.send([initializeRequest("batched-init", "2025-03-26")])
    await raw.send(batch)
    await raw.until(() => idless(raw, from).length === 2)
    expect(idless(raw, from)).toEqual([-32600, -32600])
    expect(answersTo(raw, "batched-init")).toEqual([])
    // Not initialized by it: a plain initialize is answered.
    await raw.send(initializeRequest("init", "2025-03-26"))
    expect(await raw.answer("init")).toHaveProperty("result.protocolVersion", "2025-03-26")
  })
})

describe("what a client may send that this server does not offer", () => {
  let raw: RawSession
  beforeAll(async () => {
    raw = await rawSession(memory)
  })
  afterAll(async () => {
    await raw?.close()
  })

  it.each([
    ["resources/list", {}],
    ["resources/templates/list", {}],
    ["resources/read", { uri: "file:///etc/passwd" }],
    ["prompts/list", {}],
    ["prompts/get", { name: "x" }],
    ["logging/setLevel", { level: "debug" }],
    ["completion/complete", { ref: { type: "ref/prompt", name: "x" }, argument: { name: "a", value: "b" } }],
    ["sampling/createMessage", { messages: [], maxTokens: 1 }],
    ["no/such/method", undefined],
  ])("%s, of a capability not declared, is -32601 with its id", async (method, params) => {
    const id = `m-${method}`
    await raw.send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
    expect(errorOf(await raw.answer(id)).code).toBe(-32601)
  })

  it("declares only tools", async () => {
    const fresh = await open(memory, { protocolVersion: null })
    await fresh.send(initializeRequest("init"))
    const answer = (await fresh.answer("init")) as { result: { capabilities: Record<string, unknown> } }
    expect(answer.result.capabilities).toEqual({ tools: {} })
  })

  it("an unknown notification, and a response to a request the server never made, get no answer", async () => {
    const from = raw.messages().length
    await raw.send({ jsonrpc: "2.0", method: "notifications/whatever", params: { a: 1 } })
    await raw.send({ jsonrpc: "2.0", method: "notifications/roots/list_changed" })
    await raw.send({ jsonrpc: "2.0", id: 424242, result: {} })
    await raw.send({ jsonrpc: "2.0", id: "never-asked", error: { code: -1, message: "no" } })
    await pinged(raw, "after-strays")
    expect(raw.messages().slice(from)).toEqual([{ jsonrpc: "2.0", id: "after-strays", result: {} }])
  })

  it("tools/list without a cursor is every tool, on one page (no nextCursor)", async () => {
    await raw.send({ jsonrpc: "2.0", id: "list", method: "tools/list", params: {} })
    const answer = (await raw.answer("list")) as { result: { tools: Array<unknown>; nextCursor?: string } }
    expect(answer.result.tools.length).toBe(8)
    expect(answer.result.nextCursor).toBeUndefined()
  })

  it("a tools/call augmented as a task (MCP 2025-11-25), tasks not declared, is served as a plain call", async () => {
    // "Receivers that do not declare the task capability MUST process requests normally, ignoring task metadata."
    for (const [id, task] of [
      ["task-empty", {}],
      ["task-ttl", { ttl: 1000 }],
    ] as const) {
      await raw.send({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "list_providers", arguments: {}, task },
      })
      const answer = (await raw.answer(id)) as { result?: { structuredContent?: unknown } }
      expect(answer.result?.structuredContent, id).toHaveProperty("providers")
    }
  })

  it("ping is answered between everything, with an empty result", async () => {
    await raw.send({ jsonrpc: "2.0", id: "p-params", method: "ping", params: {} })
    expect(await raw.answer("p-params")).toEqual({ jsonrpc: "2.0", id: "p-params", result: {} })
  })
})

describe("request ids", () => {
  let raw: RawSession
  beforeAll(async () => {
    raw = await rawSession(memory)
  })
  afterAll(async () => {
    await raw?.close()
  })

  it.each([
    ["a number", 17],
    ["zero", 0],
    ["a negative number", -3],
    ["a large number", Number.MAX_SAFE_INTEGER],
    ["a string of digits", "17"],
    ["an empty string", ""],
    ["a string with unicode", "id-é-😀"],
    ["a 64 KiB string", "x".repeat(64 * 1024)],
  ])("%s is answered with exactly that id", async (_, id) => {
    await raw.send({ jsonrpc: "2.0", id, method: "ping" })
    expect(await raw.answer(id)).toEqual({ jsonrpc: "2.0", id, result: {} })
  })

  it("the number 5 and the string '5' are different requests", async () => {
    await raw.send({ jsonrpc: "2.0", id: 5, method: "ping" })
    await raw.send({ jsonrpc: "2.0", id: "5", method: "tools/list" })
    expect(await raw.answer(5)).toHaveProperty("result")
    expect(await raw.answer("5")).toHaveProperty("result.tools")
  })

  it.each([
    ["null", null],
    ["fractional", 1.5],
    ["an object", { a: 1 }],
    ["a boolean", true],
  ])("an id that is %s makes no valid request: -32600 without an id", async (_, id) => {
    const from = raw.messages().length
    await raw.send({ jsonrpc: "2.0", id, method: "ping" })
    await raw.until(() => idless(raw, from).length === 1)
    expect(idless(raw, from)).toEqual([-32600])
  })
})

describe("cancellation and progress", () => {
  let emulator: Emulator
  let api: Server
  let raw: RawSession
  /** Requests the slow API got, and how many of them were abandoned before it answered. */
  const slow = { received: 0, abandoned: 0 }

  beforeAll(async () => {
    emulator = await start({ hyper: { interval: 0.2 } })
    // An API that answers after 10 s: a call to it is in flight for as long as a test needs.
    api = createServer((request, response) => {
      slow.received++
      response.on("close", () => {
        if (!response.writableFinished) slow.abandoned++
      })
      const timer = setTimeout(() => response.writeHead(200, { "content-type": "application/json" }).end("{}"), 10_000)
      request.on("close", () => {
        if (!response.writableFinished) clearTimeout(timer)
      })
    })
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve))
    raw = await rawSession({
      ...emulatorEnv(emulator),
      ...memory,
      HYPERPROOF_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    })
    await raw.send({
      jsonrpc: "2.0",
      id: "login",
      method: "tools/call",
      params: { name: "login", arguments: { provider: "hyperproof" } },
    })
    expect(await raw.answer("login")).toHaveProperty("result.structuredContent.status", "authenticated")
  })
  afterAll(async () => {
    await raw?.close()
    api?.closeAllConnections()
    await new Promise((resolve) => api?.close(resolve))
    await emulator?.close()
  })

  const cancel = (requestId: unknown) =>
    raw.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason: "test" } })

  const slowCall = (id: string | number) =>
    raw.send({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "call_api", arguments: { provider: "hyperproof", method: "GET", path: "/v1/slow" } },
    })

  /** A hyper device login waiting for the user: its id. */
  const pendingLogin = async (id: string): Promise<string> => {
    await raw.send({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "login", arguments: { provider: "hyper", account: id } },
    })
    const answer = (await raw.answer(id)) as { result: { structuredContent: { login_id: string } } }
    return answer.result.structuredContent.login_id
  }

  const waitCall = (id: string | number, loginId: string, waitSeconds: number, meta?: Record<string, unknown>) =>
    raw.send({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: {
        name: "complete_login",
        arguments: { login_id: loginId, wait_seconds: waitSeconds },
        ...(meta === undefined ? {} : { _meta: meta }),
      },
    })

  it("of an unknown request, of a finished one, or malformed, is ignored: nothing is answered", async () => {
    await raw.send({ jsonrpc: "2.0", id: "done", method: "ping" })
    await raw.answer("done")
    const from = raw.messages().length
    await cancel("done")
    await cancel("never-sent")
    await cancel(987654)
    await raw.send({ jsonrpc: "2.0", method: "notifications/cancelled" })
    await raw.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: null } })
    await pinged(raw, "after-cancels")
    expect(raw.messages().slice(from)).toEqual([{ jsonrpc: "2.0", id: "after-cancels", result: {} }])
  })

  it("of a call_api in flight: no answer, the API request is abandoned, and the id can be used again", async () => {
    const before = { ...slow }
    await slowCall("slow-1")
    await raw.until(() => slow.received === before.received + 1)
    await cancel("slow-1")
    await raw.until(() => slow.abandoned === before.abandoned + 1)
    await pinged(raw, "after-slow-cancel")
    expect(answersTo(raw, "slow-1")).toEqual([])
    // The id is free again: a new request with it is served.
    await raw.send({ jsonrpc: "2.0", id: "slow-1", method: "ping" })
    expect(await raw.answer("slow-1")).toHaveProperty("result")
  })

  it.each([
    ["a string", "wait-cancel"],
    ["a number", 31],
    ["0", 0],
    ["''", ""],
  ])("of a complete_login waiting for the user, with %s as id: no answer, ever", async (_, id) => {
    const loginId = await pendingLogin(`acct-${String(id).length}-${typeof id}`)
    await waitCall(id, loginId, 2)
    await sleep(300)
    await cancel(id)
    // Past the 2 s the call would have waited.
    await sleep(2500)
    await pinged(raw, `after-wait-cancel-${String(id)}`)
    expect(answersTo(raw, id)).toEqual([])
  })

  it("a request reusing the id of a call just cancelled is answered, and the cancelled call is not", async () => {
    const before = { ...slow }
    const call = {
      jsonrpc: "2.0",
      id: "reused",
      method: "tools/call",
      params: { name: "call_api", arguments: { provider: "hyperproof", method: "GET", path: "/v1/slow" } },
    }
    const cancelled = { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "reused" } }
    // One write, as a client's messages come when it cancels and goes on at once.
    await raw.send(
      [call, cancelled, { jsonrpc: "2.0", id: "reused", method: "ping" }].map((m) => JSON.stringify(m)).join("\n"),
    )
    expect(await raw.answer("reused", 3000)).toEqual({ jsonrpc: "2.0", id: "reused", result: {} })
    await raw.until(() => slow.abandoned > before.abandoned || slow.received === before.received)
    await sleep(300)
    expect(answersTo(raw, "reused").length).toBe(1)
  })

  it.each([
    ["a string", "tok-1"],
    ["a number", 7],
  ])(
    "complete_login with %s as progress token notifies progress with it, rising, before its answer",
    async (_, token) => {
      const loginId = await pendingLogin(`progress-${typeof token}`)
      const id = `progress-call-${typeof token}`
      await waitCall(id, loginId, 3, { progressToken: token })
      await raw.answer(id, 10_000)
      const all = raw.messages()
      const answerAt = all.findIndex((m) => m.id === id && "result" in m)
      const progress = all
        .filter((m) => m.method === "notifications/progress")
        .map((m) => m.params as { progressToken: unknown; progress: number; total?: number; message?: string })
        .filter((p) => p.progressToken === token)
      expect(progress.length).toBeGreaterThanOrEqual(2)
      for (const [i, p] of progress.entries()) {
        expect(p.total).toBe(3)
        expect(typeof p.message).toBe("string")
        if (i > 0) expect(p.progress).toBeGreaterThan(progress[i - 1]?.progress ?? Number.POSITIVE_INFINITY)
      }
      // None after the answer: the waiting stops with the call.
      const after = all
        .slice(answerAt)
        .filter(
          (m) =>
            m.method === "notifications/progress" && (m.params as { progressToken: unknown }).progressToken === token,
        )
      expect(after).toEqual([])
    },
  )

  it("without a progress token, no progress is notified", async () => {
    const loginId = await pendingLogin("no-progress")
    const from = raw.messages().length
    await waitCall("no-progress-call", loginId, 2)
    await raw.answer("no-progress-call", 10_000)
    expect(
      raw
        .messages()
        .slice(from)
        .filter((m) => m.method === "notifications/progress"),
    ).toEqual([])
  })

  it("a request reusing the id of one in flight is -32600 under id null; the first is answered once, under its id", async () => {
    const loginId = await pendingLogin("duplicate")
    await waitCall("dup", loginId, 1)
    const before = raw.messages().filter((m) => m.id === null).length
    await raw.send({ jsonrpc: "2.0", id: "dup", method: "ping" })
    await raw.until(() => answersTo(raw, "dup").length === 1, 10_000)
    const refusals = raw.messages().filter((m) => m.id === null)
    expect(refusals.length).toBe(before + 1)
    expect(errorOf(refusals.at(-1) ?? {}).code).toBe(-32600)
    expect(answersTo(raw, "dup")[0]).toHaveProperty("result.structuredContent.status", "pending")
    await sleep(300)
    expect(answersTo(raw, "dup").length).toBe(1)
  })
})
