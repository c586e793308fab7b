/** The authorized clients call_api keeps: one per provider and account, a bounded number. */

import { assert, describe, it } from "@effect/vitest"
import { Accounts, Hyperproof, NodeHttpTransport, TokenStore } from "@hyperauth/core"
import { Effect, Layer, Redacted } from "effect"
import * as ApiClients from "../src/ApiClients.js"

const layer = ApiClients.layer.pipe(
  Layer.provideMerge(
    Layer.effect(
      Accounts.Accounts,
      Accounts.make(() => Effect.die("no provider needed")),
    ),
  ),
  Layer.provideMerge(TokenStore.layerMemory),
  Layer.provideMerge(NodeHttpTransport.layer),
)

const hyperproof = Effect.map(
  Hyperproof.make({
    clientId: "client",
    clientSecret: Redacted.make("secret"),
    authUrl: "http://127.0.0.1:9",
    apiUrl: "http://127.0.0.1:9",
  }),
  (service) => service.provider,
)

describe("ApiClients", () => {
  it.effect("keeps one client per provider and account", () =>
    Effect.gen(function* () {
      const provider = yield* hyperproof
      const clients = yield* ApiClients.ApiClients
      const first = clients.get(provider, "default")
      assert.strictEqual(clients.get(provider, "default"), first)
      assert.notStrictEqual(clients.get(provider, "other"), first)
      assert.strictEqual(clients.get(provider, "default").provider, provider)
    }).pipe(Effect.provide(layer)),
  )

  it.effect(`keeps at most ${ApiClients.maxClients}, the least recently used going first`, () =>
    Effect.gen(function* () {
      const provider = yield* hyperproof
      const clients = yield* ApiClients.ApiClients
      const first = clients.get(provider, "a0")
      const second = clients.get(provider, "a1")
      for (let i = 2; i < ApiClients.maxClients; i++) clients.get(provider, `a${i}`)
      // Used again: a1, not a0, is now the oldest.
      assert.strictEqual(clients.get(provider, "a0"), first)
      clients.get(provider, "one too many")
      assert.strictEqual(clients.get(provider, "a0"), first)
      assert.notStrictEqual(clients.get(provider, "a1"), second)
    }).pipe(Effect.provide(layer)),
  )
})
