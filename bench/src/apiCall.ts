/**
 * What an authenticated API call costs on top of a plain `fetch`: through
 * the core library (stored token, pipeline, body read) and through the MCP
 * server's `call_api` over stdio, next to a trivial `echo` tool over the
 * same SDK stdio transport (what MCP itself costs a call).
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Accounts, AuthorizedClient, Hyperproof, TokenStore } from "@hyperauth/core"
import { defaultHyperproofClient, sampleControl } from "@hyperauth/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type { RemoteEmulator } from "./emulator.js"
import * as Http from "./http.js"
import { connect, connectEcho, connectFloor } from "./mcp.js"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { interleave, ms, percentile, ratio } from "./stats.js"

const key = { provider: "hyperproof", account: "bench" }

export const apiCall = async (emulator: RemoteEmulator, scale: Scale): Promise<Section> => {
  const runtime = ManagedRuntime.make(Layer.merge(Http.layer, TokenStore.layerMemory))
  const { accounts, api } = await runtime.runPromise(
    Effect.gen(function* () {
      const hyperproof = yield* Hyperproof.make({
        clientId: defaultHyperproofClient.clientId,
        clientSecret: Redacted.make(defaultHyperproofClient.clientSecret),
        authUrl: emulator.origins.hyperproofAccounts,
        apiUrl: emulator.origins.hyperproofApi,
      })
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperproof.provider))
      yield* accounts.save(key, yield* hyperproof.fetchToken)
      const api = yield* AuthorizedClient.make(hyperproof.provider, key.account).pipe(
        Effect.provideService(Accounts.Accounts, accounts),
      )
      return { accounts, api }
    }),
  )
  const path = `/v1/controls/${sampleControl.id}`
  const url = `${emulator.origins.hyperproofApi}${path}`
  const request = HttpClientRequest.get(path)
  const accessToken = Redacted.value((await runtime.runPromise(accounts.get(key))).accessToken)
  const session = await connect(emulator)
  await session.client.callTool({ name: "login", arguments: { provider: "hyperproof" } })
  const echo = await connectEcho()
  const floor = await connectFloor(emulator.origins.hyperproofApi, accessToken)

  const statusOf = (content: unknown) =>
    typeof content === "object" && content !== null && "status" in content ? content.status : undefined
  const contenders = {
    fetch: async () => {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      })
      await response.text()
      return response.status
    },
    core: () => runtime.runPromise(Effect.map(api.exchange(request), (r) => r.status)),
    mcp: async () => {
      const result = await session.client.callTool({
        name: "call_api",
        arguments: { provider: "hyperproof", method: "GET", path },
      })
      return statusOf(result.structuredContent)
    },
    floor: async () => {
      const result = await floor.client.callTool({ name: "get", arguments: { path } })
      return statusOf(result.structuredContent)
    },
    echo: async () => {
      const result = await echo.client.callTool({ name: "echo", arguments: { text: path } })
      // Not an HTTP call: 200 stands for "it answered with its input".
      return JSON.stringify(result.structuredContent) === JSON.stringify({ echo: { text: path } }) ? 200 : undefined
    },
  }
  // Each contender must really get the control before its time counts.
  const statuses = await Promise.all(Object.values(contenders).map((run) => run()))
  const calls = scale.calls
  const samples = await interleave(contenders, calls)
  await session.close()
  await echo.close()
  await floor.close()
  await runtime.dispose()

  const p50 = (values: ReadonlyArray<number>) => percentile(values, 50)
  const base = { p50: p50(samples.fetch), p99: percentile(samples.fetch, 99) }
  const row = (name: string, values: ReadonlyArray<number>) => {
    const p99 = percentile(values, 99)
    return [
      name,
      ms(p50(values)),
      ms(p99),
      ratio(p50(values), base.p50),
      ratio(p99, base.p99),
      `${p50(values) >= base.p50 ? "+" : "−"}${ms(Math.abs(p50(values) - base.p50))}`,
    ]
  }
  const mcpOverFetch = p50(samples.mcp) - base.p50
  return {
    title: "API call overhead",
    method: [
      `\`GET ${path}\` on the emulated hyperproof API (the emulator in its own process) with a valid token,`,
      `${calls.rounds * calls.perRound} sequential calls per contender after ${calls.warmup} each to warm up, in ${calls.rounds} rounds, the contenders taking turns.`,
      "Latency in ms, ratios against plain `fetch`; no contender sends tracing headers (the core runs on its own node:http transport, `NodeHttpTransport`, as the MCP server does: no client spans, no propagation headers).",
      "The MCP server (the built bundle) keeps its logins in the default encrypted file store (`HYPERAUTH_STORE` a temporary file, `HYPERAUTH_STORE_KEY` set);",
      "the echo tool is the SDK's low-level `Server` with one tool, called by the same SDK `Client` over stdio: what an MCP call costs with no work behind it. The echo and floor servers read stdio with the SDK's `StdioServerTransport`; hyperauth-mcp with its own (`apps/mcp-server/src/stdio.ts`: the same framing and 10 MiB limit, with oversized lines dropped and flow control), which in alternating runs of this section cost within the noise (±0.05 ms) of the SDK's.",
      "The floor is the same `Server` with one tool that makes the same GET with plain `node:http` (keep-alive agent, the token given) and returns `call_api`'s result, JSON text copy included, with nothing else done: no input check, no token store, no time limit or retry, no capped read: what the MCP call and one plain `node:http` request cost together, before any of `call_api`'s own work.",
    ].join(" "),
    header: ["contender", "p50 ms", "p99 ms", "p50 ratio", "p99 ratio", "p50 over fetch, ms"],
    rows: [
      row("plain `fetch` (reference)", samples.fetch),
      row("core: `AuthorizedClient.exchange` (token from `Accounts`, pipeline, body read)", samples.core),
      row("MCP `call_api` over stdio (SDK Client, encrypted file store)", samples.mcp),
      row(
        "floor: one plain `node:http` GET in an SDK `Server` tool, the same result (no checks, no store)",
        samples.floor,
      ),
      row("MCP `echo` tool over stdio (SDK `Server`, no HTTP)", samples.echo),
    ],
    checks: [{ what: "every contender got HTTP 200 for the control", ok: statuses.every((s) => s === 200) }],
    notes: [
      `The floor is fetch + ${ms(p50(samples.floor) - base.p50)} ms and ${ratio(p50(samples.floor), p50(samples.echo))} the echo tool: \`call_api\` adds ${ms(p50(samples.mcp) - p50(samples.floor))} ms to it.`,
    ],
    targets: [
      {
        what: `core API call p50 ≤ 1.0× plain \`fetch\`: ${ratio(p50(samples.core), base.p50)}`,
        ok: p50(samples.core) <= base.p50,
      },
      {
        what: `MCP \`call_api\` p50 ≤ fetch + 0.4 ms: fetch + ${ms(mcpOverFetch)} ms`,
        ok: mcpOverFetch <= 0.4,
      },
      {
        what: `MCP \`call_api\` p50 within 3× the echo tool's: ${ratio(p50(samples.mcp), p50(samples.echo))}`,
        ok: p50(samples.mcp) <= 3 * p50(samples.echo),
      },
    ],
  }
}
