/** The authorized client against the emulator over real loopback HTTP, on the core's transport. */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperlineClient, sampleControl } from "@hyperauth/emulator"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as AuthorizedClient from "../src/AuthorizedClient.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Hyperproof from "../src/Hyperproof.js"
import * as NodeHttpTransport from "../src/NodeHttpTransport.js"
import { NotLoggedIn } from "../src/OAuthError.js"
import * as TokenStore from "../src/TokenStore.js"
import { hyperproofOptions, useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const failure = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

const env = Layer.merge(NodeHttpTransport.layer, TokenStore.layerMemory)

/** A hyperproof login kept by `Accounts`, and a client for it. */
const hyperproofLogin = (account = "default") =>
  Effect.gen(function* () {
    const hyperproof = yield* Hyperproof.make(hyperproofOptions(emulator.current))
    const accounts = yield* Accounts.make(() => Effect.succeed(hyperproof.provider))
    const key = { provider: "hyperproof", account }
    yield* accounts.save(key, yield* hyperproof.fetchToken)
    const api = yield* AuthorizedClient.make(hyperproof.provider, account).pipe(
      Effect.provideService(Accounts.Accounts, accounts),
    )
    return { hyperproof, accounts, key, api }
  })

const tokenRequests = () => emulator.current.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
const Control = Schema.Struct({ id: Schema.String })

describe("AuthorizedClient", () => {
  it.live("is an HttpClient: a path goes to the API base with the login's Bearer token", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin()
      const control = yield* api
        .get(`/v1/controls/${sampleControl.id}`)
        .pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Control)))
      assert.strictEqual(control.id, sampleControl.id)
      const exchange = yield* api.exchange(HttpClientRequest.get(`/v1/controls/${sampleControl.id}`))
      assert.strictEqual(exchange.status, 200)
      assert.strictEqual(exchange.url, `${emulator.current.origins.hyperproofApi}/v1/controls/${sampleControl.id}`)
    }).pipe(Effect.provide(env)),
  )

  it.live("adds the provider's headers: the client's company, or the call's", () =>
    Effect.gen(function* () {
      const hyperline = yield* Hyperline.make({
        origin: emulator.current.origins.hyperline,
        clientId: defaultHyperlineClient.clientId,
        clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
        redirectUri: "http://127.0.0.1:8976/callback/hyperline",
      })
      const started = yield* hyperline.authorizationUrl()
      const token = yield* hyperline.completeLogin(started, emulator.current.hyperline.authorize(started.url))
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperline.provider))
      yield* accounts.save({ provider: "hyperline", account: "default" }, token)
      const api = yield* AuthorizedClient.make(hyperline.provider, "default", { companyId: "cmp_globex" }).pipe(
        Effect.provideService(Accounts.Accounts, accounts),
      )
      const Customers = Schema.parseJson(Schema.Struct({ company_id: Schema.String }))
      const ofClient = yield* api.exchange(HttpClientRequest.get("/v1/customers"))
      assert.strictEqual(Schema.decodeUnknownSync(Customers)(ofClient.body).company_id, "cmp_globex")
      const ofCall = yield* api.exchange(HttpClientRequest.get("/v1/customers"), { companyId: "cmp_acme" })
      assert.strictEqual(Schema.decodeUnknownSync(Customers)(ofCall.body).company_id, "cmp_acme")
      // Hyperline's own company API runs on it too, and renews the login's token.
      assert.deepStrictEqual(
        (yield* hyperline.listCompanies(api)).map((c) => c.id),
        ["cmp_acme", "cmp_globex"],
      )
    }).pipe(Effect.provide(env)),
  )

  it.live("200 callers refused with 401 at once share one renewal, and each is sent again once", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin("crowd")
      emulator.current.tokens.revokeAll("hyperproof")
      const before = { tokens: tokenRequests(), api: emulator.current.count({ origin: "hyperproofApi" }) }
      const answers = yield* Effect.all(
        Array.from({ length: 200 }, () => api.exchange(HttpClientRequest.get(`/v1/controls/${sampleControl.id}`))),
        { concurrency: "unbounded" },
      )
      assert.isTrue(answers.every((a) => a.status === 200))
      assert.strictEqual(tokenRequests() - before.tokens, 1)
      assert.strictEqual(emulator.current.count({ origin: "hyperproofApi" }) - before.api, 400)
    }).pipe(Effect.provide(env)),
  )

  it.live("a 401 after the renewal is the answer: renewed once, not again", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin("twice")
      const before = tokenRequests()
      emulator.current.faults.inject({ origin: "hyperproofApi", status: 401, times: 2 })
      const exchange = yield* api.exchange(HttpClientRequest.get(`/v1/controls/${sampleControl.id}`))
      assert.strictEqual(exchange.status, 401)
      assert.strictEqual(tokenRequests() - before, 1)
    }).pipe(Effect.provide(env)),
  )

  it.live("a token that cannot be renewed is invalid_token, and the token is in no message", () =>
    Effect.gen(function* () {
      const { hyperproof, accounts, key } = yield* hyperproofLogin("held")
      const held = yield* accounts.get(key)
      const client = yield* HttpClient.HttpClient
      const api = AuthorizedClient.makeWith(client, hyperproof.provider, AuthorizedClient.fromToken("hyperproof", held))
      emulator.current.tokens.revokeAll("hyperproof")
      const error = failure(yield* Effect.exit(api.exchange(HttpClientRequest.get(`/v1/controls/${sampleControl.id}`))))
      assert.strictEqual(error.code, "invalid_token")
      assert.notInclude(`${JSON.stringify(error)} ${error.message}`, Redacted.value(held.accessToken))
      // A login gone from the store cannot be renewed either.
      const stored = yield* AuthorizedClient.make(hyperproof.provider, "held").pipe(
        Effect.provideService(Accounts.Accounts, {
          ...accounts,
          replaceRejected: (k) => Effect.fail(new NotLoggedIn({ provider: k.provider, account: k.account })),
        }),
      )
      const gone = failure(
        yield* Effect.exit(stored.exchange(HttpClientRequest.get(`/v1/controls/${sampleControl.id}`))),
      )
      assert.strictEqual(gone.code, "invalid_token")
    }).pipe(Effect.provide(env)),
  )

  it.live("a URL off the API base is invalid_input, and nothing is sent", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin("elsewhere")
      const before = emulator.current.count({})
      for (const url of [
        `${emulator.current.origins.hyperproofAccounts}/oauth/token`,
        `${emulator.current.origins.hyperproofApi}.evil.test/v1/controls`,
        `${emulator.current.origins.hyperproofApi}@evil.test/v1/controls`,
      ]) {
        const exit = yield* Effect.exit(api.exchange(HttpClientRequest.get(url)))
        assert.strictEqual(failure(exit).code, "invalid_input")
        const viaClient = yield* Effect.flip(api.get(url))
        assert.strictEqual(viaClient._tag, "InvalidInput")
      }
      assert.strictEqual(emulator.current.count({}), before)
    }).pipe(Effect.provide(env)),
  )
  it.live("a relative URL that would leave the API base is invalid_input: the token reaches no other host", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin("escaping")
      // A listener standing in for the attacker's host, on loopback.
      const heard: Array<string> = []
      const listener = createServer((req, res) => {
        heard.push(req.headers.authorization ?? "")
        res.end("{}")
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          listener.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.sync(() => listener.close()),
      )
      const port = (listener.address() as AddressInfo).port
      const before = emulator.current.count({})
      for (const url of [`@127.0.0.1:${port}/stolen`, `//127.0.0.1:${port}/stolen`, ".evil.test/x", "v1/controls"]) {
        const exit = yield* Effect.exit(api.exchange(HttpClientRequest.get(url)))
        assert.strictEqual(failure(exit).code, "invalid_input", url)
        const viaClient = yield* Effect.flip(api.get(url))
        assert.strictEqual(viaClient._tag, "InvalidInput", url)
      }
      assert.deepStrictEqual(heard, [])
      assert.strictEqual(emulator.current.count({}), before)
    }).pipe(Effect.scoped, Effect.provide(env)),
  )

  it.live("as an HttpClient on fetch it follows no redirect: the token goes nowhere else", () =>
    Effect.gen(function* () {
      const { api } = yield* hyperproofLogin("redirected")
      const elsewhere = () => emulator.current.count({ origin: "hyperproofAccounts" })
      const before = elsewhere()
      emulator.current.faults.inject({
        origin: "hyperproofApi",
        status: 302,
        headers: { location: `${emulator.current.origins.hyperproofAccounts}/oauth/token` },
        times: 1,
      })
      const response = yield* api.get(`/v1/controls/${sampleControl.id}`)
      assert.strictEqual(response.status, 302)
      assert.strictEqual(elsewhere(), before)
    }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))),
  )
})
