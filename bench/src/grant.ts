/**
 * Client-credentials grants per second: the core library's hyperproof
 * token request against openid-client, the reference OAuth client, on the
 * same token endpoint with the same client authentication (client_secret_post).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Hyperproof } from "@hyperauth/core"
import { defaultHyperproofClient, type Emulator } from "@hyperauth/emulator"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as oidc from "openid-client"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { interleave, ratio } from "./stats.js"

export const grant = async (emulator: Emulator, scale: Scale): Promise<Section> => {
  const origin = emulator.origins.hyperproofAccounts
  const { clientId, clientSecret } = defaultHyperproofClient
  const runtime = ManagedRuntime.make(FetchHttpClient.layer)
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
    platform: () => runtime.runPromise(platformGrant),
    core: async () => Redacted.value((await runtime.runPromise(hyperproof.fetchToken)).accessToken),
  }
  const issued = await Promise.all(Object.values(contenders).map((run) => run()))
  const before = emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token", status: 200 })
  const calls = scale.calls
  const samples = await interleave(contenders, calls)
  const answered = emulator.count({ origin: "hyperproofAccounts", path: "/oauth/token", status: 200 }) - before
  const sent = Object.keys(contenders).length * (calls.warmup + calls.rounds * calls.perRound)
  await runtime.dispose()

  const perSecond = (values: ReadonlyArray<number>) => (1000 * values.length) / values.reduce((a, b) => a + b, 0)
  const reference = perSecond(samples["openid-client"])
  const core = perSecond(samples.core)
  const total = calls.rounds * calls.perRound
  return {
    title: "Client-credentials grant",
    method: `\`POST /oauth/token\` (\`grant_type=client_credentials\`) on the emulated hyperproof accounts server, one request at a time, ${total} per contender in ${calls.rounds} alternating rounds.`,
    header: ["contender", "grants / s", "ratio"],
    rows: [
      ["openid-client 6.9 `clientCredentialsGrant` (reference)", reference.toFixed(0), ratio(reference, reference)],
      [
        "`@effect/platform` FetchHttpClient alone, JSON parsed, not decoded",
        perSecond(samples.platform).toFixed(0),
        ratio(perSecond(samples.platform), reference),
      ],
      ["core: `Hyperproof.fetchToken` (pipeline, Schema decoding, TokenSet)", core.toFixed(0), ratio(core, reference)],
    ],
    checks: [
      { what: "every contender got a token", ok: issued.every((token) => token.length > 0) },
      { what: `the emulator issued a token for each of the ${sent} requests`, ok: answered === sent },
    ],
  }
}
