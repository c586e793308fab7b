/**
 * Timings of the hot paths, printed by `pnpm bench` (vitest bench).
 * Network numbers are loopback against the emulator.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FetchHttpClient } from "@effect/platform"
import { defaultHyperproofClient, type Emulator, start } from "@hyperauth/emulator"
import { Effect, Layer, ManagedRuntime, Redacted, Schema } from "effect"
import { afterAll, beforeAll, bench, describe } from "vitest"
import * as Accounts from "../src/Accounts.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { excerpt, withoutKnownSecrets } from "../src/internal/scrub.js"
import { TokenResponse } from "../src/internal/wire.js"
import type * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"

let emulator: Emulator
let hyperproof: Hyperproof.Service
let accounts: Accounts.Service
let plainStore: TokenStore.Service
let sealedStore: TokenStore.Service
let token: Token.TokenSet
const runtime = ManagedRuntime.make(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))

beforeAll(async () => {
  emulator = await start()
  hyperproof = await runtime.runPromise(
    Hyperproof.make({
      clientId: defaultHyperproofClient.clientId,
      clientSecret: Redacted.make(defaultHyperproofClient.clientSecret),
      authUrl: emulator.origins.hyperproofAccounts,
      apiUrl: emulator.origins.hyperproofApi,
    }),
  )
  accounts = await runtime.runPromise(Accounts.make(() => Effect.succeed(hyperproof.provider)))
  token = await runtime.runPromise(hyperproof.fetchToken)
  await runtime.runPromise(accounts.save({ provider: "hyperproof", account: "bench" }, token))
  const dir = await mkdtemp(join(tmpdir(), "hyperauth-bench-"))
  plainStore = TokenStore.makeFile({ path: join(dir, "plain.json") })
  sealedStore = TokenStore.makeFile({ path: join(dir, "sealed.json"), key: Redacted.make("bench key") })
})

afterAll(async () => {
  await runtime.dispose()
  await emulator.close()
})

const body = JSON.stringify({
  access_token: "a".repeat(40),
  token_type: "bearer",
  expires_in: "3600",
  refresh_token: "r",
})
const decodeToken = Schema.decodeUnknownSync(Schema.parseJson(TokenResponse))
const bigPage = `<html>${"lorem ipsum access_token=abc123secret ".repeat(3000)}</html>`
// A 64 KiB token of many dots (the largest the core takes) and a 1 MiB answer that does not echo it.
const longToken = Redacted.make(Array.from({ length: 1770 }, () => crypto.randomUUID()).join("."))
const bigAnswer = JSON.stringify({
  data: Array.from({ length: 16_000 }, (_, i) => ({ id: i, name: `item-${i}`, note: "x".repeat(40) })),
}).slice(0, 1024 * 1024)
// Escapes everywhere, as URLs and HTML in an answer have them: each is undone to look for the token.
const escapedAnswer = JSON.stringify({
  data: Array.from({ length: 16_000 }, (_, i) => ({ id: i, url: `https://x.example/a%20b?c=${i}&amp;d=2` })),
}).slice(0, 1024 * 1024)
const apiToken = Redacted.make("hyperproof_at_D3VRVpmg3xivqdP3HRjjWRV8")

describe("in memory", () => {
  bench("decode a token response", () => {
    decodeToken(body)
  })
  bench("scrub a 100 KiB error page into an excerpt", () => {
    excerpt(bigPage)
  })
  bench("scrub a 1 MiB answer of a 64 KiB token", () => {
    withoutKnownSecrets(bigAnswer, [longToken])
  })
  bench("scrub a 1 MiB answer with 32k escapes (%20, &amp;), 40-character token", () => {
    withoutKnownSecrets(escapedAnswer, [apiToken])
  })
  bench("Accounts.accessToken, token still valid", async () => {
    await runtime.runPromise(accounts.accessToken({ provider: "hyperproof", account: "bench" }))
  })
})

describe("loopback HTTP to the emulator", () => {
  bench("client-credentials token request", async () => {
    await runtime.runPromise(hyperproof.fetchToken)
  })
  bench("getControl with the cached token", async () => {
    await runtime.runPromise(hyperproof.getControl("ctl_access_review"))
  })
})

describe("file token store", () => {
  bench("set, plain file (lock, write, fsync, rename)", async () => {
    await runtime.runPromise(plainStore.set({ provider: "hyperproof", account: "bench" }, token))
  })
  bench("set, AES-256-GCM file", async () => {
    await runtime.runPromise(sealedStore.set({ provider: "hyperproof", account: "bench" }, token))
  })
})
