/**
 * Client-credentials grants, by throughput and by p50 latency: the core
 * library's hyperproof token request against openid-client, the reference
 * OAuth client, on the same token endpoint with the same client
 * authentication (client_secret_post).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Hyperproof } from "@hyperauth/core"
import { defaultHyperproofClient } from "@hyperauth/emulator"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as oidc from "openid-client"
import type { RemoteEmulator } from "./emulator.js"
import * as Http from "./http.js"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { interleave, ms, percentile, ratio } from "./stats.js"

export const grant = async (emulator: RemoteEmulator, scale: Scale): Promise<Section> => {
  const origin = emulator.origins.hyperproofAccounts
  const { clientId, clientSecret } = defaultHyperproofClient
  const runtime = ManagedRuntime.make(Http.layer)
  const fetchRuntime = ManagedRuntime.make(Http.fetchLayer)
  const hyperproof = await runtime.runPromise(
    Hyperproof.make({
      clientId,
      clientSecret: Redacted.make(clientSecret),
      authUrl: origin,
      apiUrl: emulator.origins.hyperproofApi,
    }),
  )
  const config = new oidc.Configuration(
    { issuer: origin, token_endpoint: `${origin}/oauth/token` },
    clientId,
    undefined,
    oidc.ClientSecretPost(clientSecret),
  )
  // The emulator is plain HTTP on loopback.
  oidc.allowInsecureRequests(config)

  // The same request through @effect/platform's client alone, JSON-parsed but
  // not decoded: what the core library builds on, to show where time goes.
  const platformGrant = Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(`${origin}/oauth/token`).pipe(
        HttpClientRequest.bodyUrlParams({
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: clientSecret,
        }),
      ),
    ),
  ).pipe(
    Effect.flatMap((response) => response.json),
    Effect.map((body) =>
      typeof body === "object" && body !== null && "access_token" in body ? String(body.access_token) : "",
    ),
  )
  const contenders = {
    "openid-client": async () => (await oidc.clientCredentialsGrant(config)).access_token,
    platform: () => fetchRuntime.runPromise(platformGrant),
    core: async () => Redacted.value((await runtime.runPromise(hyperproof.fetchToken)).accessToken),
  }
  const issued = await Promise.all(Object.values(contenders).map((run) => run()))
  const before = await emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token", status: 200 })
  const calls = scale.calls
  const samples = await interleave(contenders, calls)
  const answered = (await emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token", status: 200 })) - before
  const sent = Object.keys(contenders).length * (calls.warmup + calls.rounds * calls.perRound)
  await runtime.dispose()
  await fetchRuntime.dispose()

  const perSecond = (values: ReadonlyArray<number>) => (1000 * values.length) / values.reduce((a, b) => a + b, 0)
  const p50 = (values: ReadonlyArray<number>) => percentile(values, 50)
  const reference = { perSecond: perSecond(samples["openid-client"]), p50: p50(samples["openid-client"]) }
  const row = (name: string, values: ReadonlyArray<number>) => [
    name,
    perSecond(values).toFixed(0),
    ratio(perSecond(values), reference.perSecond),
    ms(p50(values)),
    ratio(p50(values), reference.p50),
  ]
  const total = calls.rounds * calls.perRound
  return {
    title: "Client-credentials grant",
    method: [
      "`POST /oauth/token` (`grant_type=client_credentials`) on the emulated hyperproof accounts server (the emulator in its own process),",
      `one request at a time, ${total} per contender after ${calls.warmup} each to warm up, in ${calls.rounds} rounds, the contenders taking turns.`,
      "Throughput is calls over the sum of their latencies; p50 is the median latency in ms. No contender sends tracing headers.",
    ].join(" "),
    header: ["contender", "grants / s", "ratio", "p50 ms", "p50 ratio"],
    rows: [
      row("openid-client 6.9 `clientCredentialsGrant` (reference)", samples["openid-client"]),
      row("`@effect/platform` FetchHttpClient alone, JSON parsed, not decoded", samples.platform),
      row("core: `Hyperproof.fetchToken` (pipeline, Schema decoding, TokenSet)", samples.core),
    ],
    checks: [
      { what: "every contender got a token", ok: issued.every((token) => token.length > 0) },
      { what: `the emulator issued a token for each of the ${sent} requests`, ok: answered === sent },
    ],
    targets: [
      {
        what: `core grants/s ≥ 1.3× openid-client: ${ratio(perSecond(samples.core), reference.perSecond)} (p50 ${ratio(p50(samples.core), reference.p50)} of openid-client's)`,
        ok: perSecond(samples.core) >= 1.3 * reference.perSecond,
      },
    ],
  }
}
