/**
 * What an authenticated API call costs on top of a plain `fetch`: through
 * the core library (stored token, pipeline, body read) and through the MCP
 * server's `call_api` over stdio.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Accounts, ApiClient, Hyperproof, TokenStore } from "@hyperauth/core"
import { defaultHyperproofClient, type Emulator, sampleControl } from "@hyperauth/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { connect } from "./mcp.js"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { interleave, ms, percentile, ratio } from "./stats.js"

const key = { provider: "hyperproof", account: "bench" }

export const apiCall = async (emulator: Emulator, scale: Scale): Promise<Section> => {
  const runtime = ManagedRuntime.make(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))
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
      return { accounts, api: ApiClient.make(yield* HttpClient.HttpClient, { provider: "hyperproof" }) }
    }),
  )
  const path = `/v1/controls/${sampleControl.id}`
  const url = `${emulator.origins.hyperproofApi}${path}`
  const accessToken = Redacted.value((await runtime.runPromise(accounts.get(key))).accessToken)
  const session = await connect(emulator)
  await session.client.callTool({ name: "login", arguments: { provider: "hyperproof" } })

  const contenders = {
    fetch: async () => {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      })
      await response.text()
      return response.status
    },
    core: () =>
      runtime.runPromise(
        Effect.flatMap(accounts.accessToken(key), (token) =>
          Effect.map(api.send(HttpClientRequest.get(url), { accessToken: token.accessToken }), (r) => r.status),
        ),
      ),
    mcp: async () => {
      const result = await session.client.callTool({
        name: "call_api",
        arguments: { provider: "hyperproof", method: "GET", path },
      })
      const content = result.structuredContent
      return typeof content === "object" && content !== null && "status" in content ? content.status : undefined
    },
  }
  // Each contender must really get the control before its time counts.
  const statuses = await Promise.all(Object.values(contenders).map((run) => run()))
  const calls = scale.calls
  const samples = await interleave(contenders, calls)
  await session.close()
  await runtime.dispose()

  const base = { p50: percentile(samples.fetch, 50), p99: percentile(samples.fetch, 99) }
  const row = (name: string, values: ReadonlyArray<number>) => {
    const p50 = percentile(values, 50)
    const p99 = percentile(values, 99)
    return [name, ms(p50), ms(p99), ratio(p50, base.p50), ratio(p99, base.p99)]
  }
  return {
    title: "API call overhead",
    method: `\`GET ${path}\` on the emulated hyperproof API with a valid token, ${calls.rounds * calls.perRound} sequential calls per contender (after ${calls.warmup} to warm up), in ${calls.rounds} alternating rounds. Latency in ms; ratios against plain \`fetch\`.`,
    header: ["contender", "p50 ms", "p99 ms", "p50 ratio", "p99 ratio"],
    rows: [
      row("plain `fetch` (reference)", samples.fetch),
      row("core: `Accounts.accessToken` + `ApiClient.send`", samples.core),
      row("MCP `call_api` over stdio (SDK Client)", samples.mcp),
    ],
    checks: [{ what: "every contender got HTTP 200 for the control", ok: statuses.every((s) => s === 200) }],
  }
}
