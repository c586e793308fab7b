/** hyperline against the emulator over real loopback HTTP. */
import { FetchHttpClient, type HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperlineClient } from "@hyperauth/emulator"
import { DateTime, Effect, Exit, Layer, Redacted, Schema, TestClock } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as AuthorizedClient from "../src/AuthorizedClient.js"
import * as Hyperline from "../src/Hyperline.js"
import * as TokenStore from "../src/TokenStore.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()
const redirectUri = "http://127.0.0.1:8976/callback/hyperline"

const service = (overrides: Partial<Hyperline.Options> = {}) =>
  Hyperline.make({
    origin: emulator.current.origins.hyperline,
    clientId: defaultHyperlineClient.clientId,
    clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
    redirectUri,
    ...overrides,
  })

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const failure = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

const login = (hyperline: Hyperline.Service) =>
  Effect.gen(function* () {
    const request = yield* hyperline.authorizationUrl()
    return yield* hyperline.completeLogin(request, emulator.current.hyperline.authorize(request.url))
  })

const Customers = Schema.Struct({ company_id: Schema.String, data: Schema.Array(Schema.Struct({ id: Schema.String })) })
const customersOf = (exchange: { readonly body: string }) =>
  Schema.decodeUnknownSync(Schema.parseJson(Customers))(exchange.body)

describe("Hyperline over loopback", () => {
  it.live("authorize with state → JSON code exchange → companies → API calls per company", () =>
    live(
      Effect.gen(function* () {
        const hyperline = yield* service()
        const request = yield* hyperline.authorizationUrl()
        const url = new URL(request.url)
        assert.strictEqual(url.pathname, "/v1/oauth/authorize")
        assert.deepStrictEqual(Object.fromEntries(url.searchParams), {
          client_id: defaultHyperlineClient.clientId,
          redirect_uri: redirectUri,
          response_type: "code",
          state: request.state,
        })
        const token = yield* hyperline.completeLogin(request, emulator.current.hyperline.authorize(request.url))
        assert.strictEqual(token.tokenType, "Bearer")
        const now = yield* DateTime.now
        assert.strictEqual(Math.round(DateTime.distance(now, token.expiresAt ?? now) / 3_600_000), 24)
        assert.isDefined(token.refreshToken)

        const companies = yield* hyperline.listCompanies(token.accessToken)
        assert.deepStrictEqual(
          companies.map((c) => c.id),
          ["cmp_acme", "cmp_globex"],
        )
        const oldest = yield* hyperline.request(token.accessToken, HttpClientRequest.get("/v1/customers"))
        assert.strictEqual(customersOf(oldest).company_id, "cmp_acme")
        const chosen = yield* hyperline.request(token.accessToken, HttpClientRequest.get("/v1/customers"), {
          companyId: "cmp_globex",
        })
        assert.strictEqual(customersOf(chosen).company_id, "cmp_globex")
        assert.strictEqual(chosen.headers["hyperline-companyid"], "cmp_globex")
      }),
    ),
  )

  it.live("HYPERLINE_COMPANY_ID is the default company header; a call's own company wins", () =>
    live(
      Effect.gen(function* () {
        const hyperline = yield* service({ companyId: "cmp_globex" })
        const token = yield* login(hyperline)
        const byDefault = yield* hyperline.request(token.accessToken, HttpClientRequest.get("/v1/customers"))
        assert.strictEqual(customersOf(byDefault).company_id, "cmp_globex")
        const explicit = yield* hyperline.request(token.accessToken, HttpClientRequest.get("/v1/customers"), {
          companyId: "cmp_acme",
        })
        assert.strictEqual(customersOf(explicit).company_id, "cmp_acme")
      }),
    ),
  )

  it.live("a state mismatch fails and the code is never sent", () =>
    live(
      Effect.gen(function* () {
        const hyperline = yield* service()
        const request = yield* hyperline.authorizationUrl()
        const landed = new URL(emulator.current.hyperline.authorize(request.url))
        landed.searchParams.set("state", "forged")
        const before = emulator.current.count({ origin: "hyperline", path: "/v1/oauth/tokens" })
        const error = failure(yield* Effect.exit(hyperline.completeLogin(request, landed.toString())))
        assert.strictEqual(error.code, "state_mismatch")
        assert.strictEqual(emulator.current.count({ origin: "hyperline", path: "/v1/oauth/tokens" }), before)
        const stateless = new URL(landed)
        stateless.searchParams.delete("state")
        assert.strictEqual(
          failure(yield* Effect.exit(hyperline.completeLogin(request, stateless.toString()))).code,
          "state_mismatch",
        )
      }),
    ),
  )

  it.live("revoking the refresh token makes refresh fail with invalid_grant", () =>
    live(
      Effect.gen(function* () {
        const hyperline = yield* service()
        const token = yield* login(hyperline)
        const refreshed = yield* hyperline.refresh(token)
        assert.notStrictEqual(Redacted.value(refreshed.accessToken), Redacted.value(token.accessToken))
        yield* hyperline.revoke(refreshed.refreshToken ?? Redacted.make(""))
        assert.strictEqual(failure(yield* Effect.exit(hyperline.refresh(refreshed))).code, "invalid_grant")
      }),
    ),
  )

  it.live("a token answer without expires_in lives the 24 h the documentation gives access tokens", () =>
    live(
      Effect.gen(function* () {
        // RFC 6749 §5.1: a server may leave expires_in out when it documents the default; the seed does ("Access token: 24h").
        const body = JSON.stringify({
          access_token: "hl-at-0123456789abcdef",
          refresh_token: "hl-rt-0123",
          token_type: "bearer",
        })
        const answered = () =>
          emulator.current.faults.inject({ origin: "hyperline", path: "/v1/oauth/tokens", status: 200, body, times: 1 })
        const hoursLeft = (token: { readonly expiresAt?: DateTime.Utc | undefined }, now: DateTime.Utc) =>
          token.expiresAt === undefined ? undefined : Math.round(DateTime.distance(now, token.expiresAt) / 3_600_000)
        const hyperline = yield* service()
        const request = yield* hyperline.authorizationUrl()
        answered()
        const token = yield* hyperline.completeLogin(request, `${redirectUri}?code=c0de&state=${request.state}`)
        assert.strictEqual(hoursLeft(token, yield* DateTime.now), 24)
        answered()
        const refreshed = yield* hyperline.refresh(token)
        assert.strictEqual(hoursLeft(refreshed, yield* DateTime.now), 24)
      }),
    ),
  )

  it.live("a 401 without a challenge after the renewal is invalid_token, as with hyperproof", () =>
    Effect.gen(function* () {
      const hyperline = yield* service()
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperline.provider))
      yield* accounts.save({ provider: "hyperline", account: "default" }, yield* login(hyperline))
      const api = yield* AuthorizedClient.make(hyperline.provider, "default").pipe(
        Effect.provideService(Accounts.Accounts, accounts),
      )
      const refreshes = () => emulator.current.count({ origin: "hyperline", path: "/v1/oauth/tokens" })
      const before = refreshes()
      emulator.current.faults.inject({ origin: "hyperline", path: "/v1/customers", status: 401, times: 2 })
      const exit = yield* Effect.exit(hyperline.request(api, HttpClientRequest.get("/v1/customers")))
      assert.strictEqual(failure(exit).code, "invalid_token")
      // The refresh was the one tried: a new login is what is left.
      assert.include(failure(exit).message, "Log in again.")
      assert.notInclude(failure(exit).message, "Refresh the token")
      assert.strictEqual(refreshes() - before, 1)
      emulator.current.faults.inject({ origin: "hyperline", path: "/v1/companies", status: 401, times: 2 })
      assert.strictEqual(failure(yield* Effect.exit(hyperline.listCompanies(api))).code, "invalid_token")
      assert.strictEqual(refreshes() - before, 2)
    }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))),
  )

  it.effect("an expired access token is refreshed by Accounts before the call", () =>
    Effect.gen(function* () {
      const hyperline = yield* service()
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperline.provider))
      const key = { provider: "hyperline", account: "default" }
      yield* accounts.save(key, yield* login(hyperline))
      const first = yield* accounts.accessToken(key)
      // A day later the emulator refuses the old token, and Accounts knows to refresh.
      yield* TestClock.adjust("24 hours")
      emulator.current.tokens.expire({ provider: "hyperline" })
      const stale = yield* Effect.exit(hyperline.request(first.accessToken, HttpClientRequest.get("/v1/customers")))
      assert.strictEqual(failure(stale).code, "invalid_token")
      const fresh = yield* accounts.accessToken(key)
      assert.notStrictEqual(Redacted.value(fresh.accessToken), Redacted.value(first.accessToken))
      const ok = yield* hyperline.request(fresh.accessToken, HttpClientRequest.get("/v1/customers"))
      assert.strictEqual(ok.status, 200)
    }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))),
  )
})
