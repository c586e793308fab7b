/**
 * A login belongs to the provider settings that made it: a server sharing
 * the token store but pointed at another origin or client (a sandbox, a
 * mock) must neither send the stored tokens there nor let that origin's
 * answer end the login.
 */

import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as AuthorizedClient from "../src/AuthorizedClient.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { sourceOf } from "../src/internal/provider.js"
import * as NodeHttpTransport from "../src/NodeHttpTransport.js"
import * as TokenStore from "../src/TokenStore.js"
import { hyperproofOptions, useEmulator } from "./support/emulator.js"

const production = useEmulator()
const sandbox = useEmulator()
const key = { provider: "hyperproof", account: "default" }

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe("a login made with other provider settings", () => {
  it.live("is not this service's: nothing is sent with it to this origin, and it stays the other's", () =>
    Effect.gen(function* () {
      const real = yield* Hyperproof.make(hyperproofOptions(production.current))
      const other = yield* Hyperproof.make(hyperproofOptions(sandbox.current))
      const accountsOf = (hyperproof: Hyperproof.Service) => Accounts.make(() => Effect.succeed(hyperproof.provider))
      const here = yield* accountsOf(real)
      const there = yield* accountsOf(other)
      const started = yield* real.provider.startLogin({})
      assert.strictEqual(started._tag, "Authenticated")
      if (started._tag !== "Authenticated") return
      yield* here.save(key, started.token)

      const sent = () => sandbox.current.count({})
      const before = sent()
      const refused = failure(yield* Effect.exit(there.accessToken(key)))
      assert.strictEqual(refused.code, "not_logged_in")
      assert.include(refused.message, "other hyperproof settings")
      assert.strictEqual(failure(yield* Effect.exit(there.refresh(key))).code, "not_logged_in")
      assert.strictEqual(failure(yield* Effect.exit(there.get(key))).code, "not_logged_in")
      const api = yield* AuthorizedClient.make(other.provider, key.account).pipe(
        Effect.provideService(Accounts.Accounts, there),
      )
      assert.strictEqual(
        failure(yield* Effect.exit(api.exchange(HttpClientRequest.get("/v1/controls/ctl_access_review")))).code,
        "not_logged_in",
      )
      assert.deepStrictEqual(yield* there.logout(key), { revoked: false, removed: false })
      assert.strictEqual(sent() - before, 0, "the sandbox got no request")

      // The login is still the production one's, and works there.
      const kept = yield* here.accessToken(key)
      assert.strictEqual(Redacted.value(kept.accessToken), Redacted.value(started.token.accessToken))
    }).pipe(Effect.provide(Layer.merge(TokenStore.layerMemory, NodeHttpTransport.layer))),
  )
})

describe("the source of a provider's settings", () => {
  it("is the same for every spelling of the same origins: case, a default port, a trailing slash or dot segment", () => {
    const spellings = [
      "https://api.hyperline.co",
      "https://API.Hyperline.co",
      "HTTPS://api.hyperline.co:443",
      "https://api.hyperline.co/",
      "https://api.hyperline.co/.",
    ]
    const sources = new Set(spellings.map((origin) => sourceOf("hyperline", "client", [origin])))
    assert.strictEqual(sources.size, 1)
    assert.notStrictEqual(
      sourceOf("hyperline", "client", ["https://sandbox.api.hyperline.co"]),
      sourceOf("hyperline", "client", ["https://api.hyperline.co"]),
    )
    assert.notStrictEqual(
      sourceOf("hyperid", "client", ["https://id.example/auth/realms/A"]),
      sourceOf("hyperid", "client", ["https://id.example/auth/realms/B"]),
    )
  })
})
