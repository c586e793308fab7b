/** hyperid against the emulator over real loopback HTTP. */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient } from "@hyperauth/emulator"
import { ConfigProvider, DateTime, Duration, Effect, Exit, Layer, Redacted } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()
const redirectUri = "http://127.0.0.1:8976/callback/hyperid"

const service = (secret: string = defaultHyperIdClient.clientSecret) =>
  HyperId.make({
    origin: emulator.current.origins.hyperid,
    clientId: defaultHyperIdClient.clientId,
    clientSecret: Redacted.make(secret),
    redirectUri,
  })

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const failure = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

const tokenRequests = () => emulator.current.count({ origin: "hyperid", path: `${HyperId.realmPath}/token` })

/** Starts a login and approves it as the user: the request and the URL the browser lands on. */
const approvedLogin = (hyperid: HyperId.Service, scope = "openid email") =>
  Effect.map(hyperid.authorizationUrl({ scope }), (request) => ({
    request,
    landed: emulator.current.hyperid.authorize(request.url),
  }))

describe("HyperId over loopback", () => {
  it.live(
    "a refresh of a login without a refresh token is invalid_input, and nothing is sent (hyperid, hyperline)",
    () =>
      live(
        Effect.gen(function* () {
          const token = new Token.TokenSet({
            accessToken: Redacted.make("at"),
            tokenType: "Bearer",
            receivedAt: DateTime.unsafeNow(),
          })
          const hyperline = yield* Hyperline.make({
            origin: emulator.current.origins.hyperline,
            clientId: "client",
            clientSecret: Redacted.make("secret"),
            redirectUri: "http://127.0.0.1:8976/callback/hyperline",
          })
          const before = emulator.current.count({})
          for (const refresh of [(yield* service()).refresh, hyperline.refresh]) {
            const refused = failure(yield* Effect.exit(refresh(token)))
            assert.strictEqual(refused.code, "invalid_input")
            assert.include(refused.message, "no refresh token; log in again")
          }
          assert.strictEqual(emulator.current.count({}), before)
        }),
      ),
  )

  it.live("an option given as an empty string is left out of the authorization URL, as RFC 6749 §3.1 reads it", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const request = yield* hyperid.authorizationUrl({ scope: "openid", ui_locales: "", login_hint: "" })
        const url = new URL(request.url)
        assert.isFalse(url.searchParams.has("ui_locales"))
        assert.isFalse(url.searchParams.has("login_hint"))
      }),
    ),
  )

  it.live("authorization URL → redirect → code exchange → introspect → refresh → logout", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const request = yield* hyperid.authorizationUrl({
          scope: "openid telegram-check",
          flow_mode: 0,
          ui_locales: "de",
          login_hint: "ada@example.com",
          verification_level: 2,
        })
        const url = new URL(request.url)
        assert.strictEqual(
          `${url.origin}${url.pathname}`,
          `${emulator.current.origins.hyperid}${HyperId.realmPath}/auth`,
        )
        const q = Object.fromEntries(url.searchParams)
        assert.include(q, {
          response_type: "code",
          client_id: defaultHyperIdClient.clientId,
          redirect_uri: redirectUri,
          scope: "openid telegram-check",
          flow_mode: "0",
          ui_locales: "de",
          login_hint: "ada@example.com",
          verification_level: "2",
          code_challenge_method: "S256",
          state: request.state,
        })
        assert.isAtLeast(q.code_challenge?.length ?? 0, 43)

        const landed = new URL(emulator.current.hyperid.authorize(request.url))
        assert.strictEqual(landed.searchParams.get("locale"), "de")
        const { token, locale } = yield* hyperid.completeLogin(request, landed.toString())
        assert.strictEqual(locale, "de")
        const now = yield* DateTime.now
        assert.isTrue(token.refreshToken !== undefined)
        assert.isTrue(token.expiresAt !== undefined && DateTime.greaterThan(token.expiresAt, now))
        assert.isTrue(
          token.refreshExpiresAt !== undefined && DateTime.greaterThan(token.refreshExpiresAt, token.expiresAt ?? now),
        )

        const info = yield* hyperid.introspect(token.accessToken)
        assert.isTrue(info.active)
        assert.include(info, {
          sub: "user_ada",
          email: "ada@example.com",
          azp: defaultHyperIdClient.clientId,
          typ: "Bearer",
        })

        const refreshed = yield* hyperid.refresh(token)
        assert.notStrictEqual(Redacted.value(refreshed.accessToken), Redacted.value(token.accessToken))

        yield* hyperid.logout(refreshed.refreshToken ?? Redacted.make(""))
        assert.isFalse((yield* hyperid.introspect(refreshed.accessToken)).active)
        assert.isFalse((yield* hyperid.introspect(token.accessToken)).active)
        assert.strictEqual(failure(yield* Effect.exit(hyperid.refresh(refreshed))).code, "invalid_grant")
      }),
    ),
  )

  it.live("a redirect naming another issuer (RFC 9207 mix-up) or repeating a parameter sends no code", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const { request, landed } = yield* approvedLogin(hyperid)
        const before = tokenRequests()
        const foreign = new URL(landed)
        foreign.searchParams.set("iss", "http://127.0.0.1:1/auth/realms/HyperID")
        assert.strictEqual(
          failure(yield* Effect.exit(hyperid.completeLogin(request, foreign.toString())))._tag,
          "InvalidInput",
        )
        const repeated = `${landed}&code=attacker_code`
        assert.strictEqual(failure(yield* Effect.exit(hyperid.completeLogin(request, repeated)))._tag, "InvalidInput")
        assert.strictEqual(tokenRequests(), before)
        // The genuine redirect, which names this realm, still finishes the login.
        assert.strictEqual(
          new URL(landed).searchParams.get("iss"),
          `${emulator.current.origins.hyperid}/auth/realms/HyperID`,
        )
        yield* hyperid.completeLogin(request, landed)
      }),
    ),
  )

  it.live(
    "an origin written in another case is the realm's issuer all the same (RFC 9207 compares the canonical URL)",
    () =>
      live(
        Effect.gen(function* () {
          // As HYPERID_BASE_URL=HTTPS://Login.HyperSecureID.com would be written: the realm names itself in lower case.
          const hyperid = yield* HyperId.make({
            origin: emulator.current.origins.hyperid.replace("http://", "HTTP://"),
            clientId: defaultHyperIdClient.clientId,
            clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
            redirectUri,
          })
          const { request, landed } = yield* approvedLogin(hyperid)
          const finished = yield* Effect.exit(hyperid.completeLogin(request, landed))
          assert.isTrue(Exit.isSuccess(finished), Exit.isFailure(finished) ? String(finished.cause) : "")
        }),
      ),
  )

  it.live(
    "verification_level outside 2-4, level 2 without a social scope, an unknown option or one too long: invalid_input, no request",
    () =>
      live(
        Effect.gen(function* () {
          const hyperid = yield* service()
          const before = emulator.current.count({})
          const bad: ReadonlyArray<Effect.Effect<unknown, { readonly code: string; readonly message: string }>> = [
            hyperid.authorizationUrl({ scope: "openid", verification_level: 5 as 2 }),
            hyperid.authorizationUrl({ scope: "openid email", verification_level: 2 }),
            hyperid.provider.startLogin({ scope: "openid", options: { verification_lvl: 3 } }),
            hyperid.provider.startLogin({ scope: "openid", options: { flow_mode: "fast" } }),
            // Bounded: a login's parameters travel in its URL and its stored record.
            hyperid.provider.startLogin({ scope: "openid", options: { login_hint: "x".repeat(1025) } }),
            hyperid.provider.startLogin({ scope: "openid", options: { ui_locales: "en ".repeat(100) } }),
          ]
          for (const attempt of bad) {
            const error = failure(yield* Effect.exit(attempt))
            assert.strictEqual(error.code, "invalid_input")
            assert.isAbove(error.message.length, 20)
          }
          assert.strictEqual(emulator.current.count({}), before)
          const social = yield* hyperid.authorizationUrl({ scope: "openid twitter-check", verification_level: 2 })
          assert.include(social.url, "verification_level=2")
        }),
      ),
  )

  it.live("login options cannot replace the redirect URI, scope or any protocol parameter", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const before = emulator.current.count({})
        const overrides: ReadonlyArray<Record<string, unknown>> = [
          { redirectUri: "https://evil.example/cb" },
          { scope: "admin" },
          { redirectUri: "https://evil.example/cb", scope: "admin" },
          { redirect_uri: "https://evil.example/cb" },
          { response_type: "token" },
          { client_id: "other" },
          { state: "fixed" },
          { code_challenge_method: "plain" },
        ]
        for (const options of overrides) {
          const error = failure(yield* Effect.exit(hyperid.provider.startLogin({ scope: "openid", options })))
          assert.strictEqual(error.code, "invalid_input", JSON.stringify(options))
          assert.include(error.message, Object.keys(options)[0] ?? "")
        }
        assert.strictEqual(emulator.current.count({}), before)
        const started = yield* hyperid.provider.startLogin({ scope: "openid", options: { ui_locales: "en" } })
        assert.strictEqual(started._tag, "RedirectPending")
        if (started._tag === "RedirectPending") {
          const url = new URL(started.authorizationUrl)
          assert.strictEqual(url.searchParams.get("scope"), "openid")
          assert.strictEqual(url.searchParams.get("redirect_uri"), started.redirectUri)
          assert.notInclude(started.redirectUri, "evil")
          assert.strictEqual(url.searchParams.get("ui_locales"), "en")
        }
      }),
    ),
  )

  it.live("another instance finishes a login from its record alone (state, PKCE verifier, redirect URI)", () =>
    live(
      Effect.gen(function* () {
        const started = yield* (yield* service()).provider.startLogin({ scope: "openid" })
        if (started._tag !== "RedirectPending") return assert.fail("expected a redirect login")
        const landed = emulator.current.hyperid.authorize(started.authorizationUrl)
        // As a restarted process would: a new service, and only what the record keeps.
        const record = { state: started.state, codeVerifier: started.codeVerifier, redirectUri: started.redirectUri }
        const other = (yield* service()).provider
        const forged = new URL(landed)
        forged.searchParams.set("state", "not-the-state")
        assert.strictEqual(
          failure(yield* Effect.exit(other.resumeRedirect(record, forged.toString())))._tag,
          "StateMismatch",
        )
        const withoutVerifier = { state: record.state, redirectUri: record.redirectUri }
        assert.strictEqual(
          failure(yield* Effect.exit(other.resumeRedirect(withoutVerifier, landed))).code,
          "invalid_input",
        )
        const token = yield* other.resumeRedirect(record, landed)
        assert.isTrue(Redacted.value(token.accessToken).length > 0)
        assert.strictEqual(
          failure(
            yield* Effect.exit(
              other.resumeDevice({
                deviceCode: Redacted.make("x"),
                interval: Duration.seconds(1),
                expiresAt: yield* DateTime.now,
              }),
            ),
          ).code,
          "not_supported",
        )
      }),
    ),
  )

  it.live("a wrong client secret is invalid_client", () =>
    live(
      Effect.gen(function* () {
        const { request, landed } = yield* approvedLogin(yield* service())
        const wrong = yield* service("not-the-secret")
        const error = failure(yield* Effect.exit(wrong.completeLogin(request, landed)))
        assert.strictEqual(error.code, "invalid_client")
      }),
    ),
  )

  it.live("a reused code is invalid_grant", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const { request, landed } = yield* approvedLogin(hyperid)
        yield* hyperid.completeLogin(request, landed)
        assert.strictEqual(failure(yield* Effect.exit(hyperid.completeLogin(request, landed))).code, "invalid_grant")
      }),
    ),
  )

  it.live("a different redirect_uri or PKCE verifier is invalid_grant", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const first = yield* approvedLogin(hyperid)
        // The same answer on another redirect URI: the code was issued for the first one.
        const otherRedirect = { ...first.request, redirectUri: "http://127.0.0.1:9999/elsewhere" }
        const landedElsewhere = `${otherRedirect.redirectUri}${new URL(first.landed).search}`
        assert.strictEqual(
          failure(yield* Effect.exit(hyperid.completeLogin(otherRedirect, landedElsewhere))).code,
          "invalid_grant",
        )
        const second = yield* approvedLogin(hyperid)
        const otherVerifier = { ...second.request, codeVerifier: Redacted.make("x".repeat(43)) }
        assert.strictEqual(
          failure(yield* Effect.exit(hyperid.completeLogin(otherVerifier, second.landed))).code,
          "invalid_grant",
        )
      }),
    ),
  )

  it.live("a redirect with another state is state_mismatch and the code is never sent", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const { request, landed } = yield* approvedLogin(hyperid)
        const forged = new URL(landed)
        forged.searchParams.set("state", "attacker")
        const before = tokenRequests()
        assert.strictEqual(
          failure(yield* Effect.exit(hyperid.completeLogin(request, forged.toString()))).code,
          "state_mismatch",
        )
        assert.strictEqual(tokenRequests(), before)
      }),
    ),
  )

  it.live("a denied login is access_denied", () =>
    live(
      Effect.gen(function* () {
        const hyperid = yield* service()
        const request = yield* hyperid.authorizationUrl({ scope: "openid" })
        const landed = emulator.current.hyperid.authorize(request.url, "deny")
        assert.strictEqual(failure(yield* Effect.exit(hyperid.completeLogin(request, landed))).code, "access_denied")
      }),
    ),
  )

  it.live("Accounts: a connection error on refresh keeps the refresh token usable; invalid_grant does not", () =>
    Effect.gen(function* () {
      const hyperid = yield* service()
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperid.provider))
      const key = { provider: "hyperid", account: "default" }
      const { request, landed } = yield* approvedLogin(hyperid)
      yield* accounts.save(key, (yield* hyperid.completeLogin(request, landed)).token)

      emulator.current.faults.inject({ origin: "hyperid", path: `${HyperId.realmPath}/token`, drop: true, times: 1 })
      assert.strictEqual(failure(yield* Effect.exit(accounts.refresh(key))).code, "connection_error")
      const kept = yield* accounts.get(key)
      const refreshed = yield* accounts.refresh(key)
      assert.notStrictEqual(Redacted.value(refreshed.accessToken), Redacted.value(kept.accessToken))

      yield* hyperid.logout(refreshed.refreshToken ?? Redacted.make(""))
      const ended = failure(yield* Effect.exit(accounts.refresh(key)))
      assert.strictEqual(ended.code, "not_logged_in")
      assert.strictEqual(failure(yield* Effect.exit(accounts.get(key))).code, "not_logged_in")
    }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))),
  )
})

describe("HyperId configuration", () => {
  const load = (env: Record<string, string>) =>
    HyperId.definition.loadConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  const required = { HYPERID_CLIENT_ID: "c", HYPERID_CLIENT_SECRET: "s" }

  it.effect("picks the documented origin per environment; HYPERID_BASE_URL replaces it", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* load(required)).origin, "https://login.hypersecureid.com")
      assert.strictEqual(
        (yield* load({ ...required, HYPERID_ENVIRONMENT: "sandbox" })).origin,
        "https://login-sandbox.hypersecureid.com",
      )
      assert.strictEqual(
        (yield* load({ ...required, HYPERID_ENVIRONMENT: "sandbox", HYPERID_BASE_URL: "http://127.0.0.1:4001/" }))
          .origin,
        "http://127.0.0.1:4001",
      )
    }),
  )

  it.effect("defaults the redirect URI to the loopback callback", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* load(required)).redirectUri, "http://127.0.0.1:8976/callback/hyperid")
      assert.strictEqual(
        (yield* load({ ...required, HYPERAUTH_CALLBACK_PORT: "9000" })).redirectUri,
        "http://127.0.0.1:9000/callback/hyperid",
      )
    }),
  )

  it.effect("names every missing setting", () =>
    Effect.gen(function* () {
      const error = failure(yield* Effect.exit(load({})))
      assert.strictEqual(error.code, "not_configured")
      if (error._tag === "NotConfigured")
        assert.deepStrictEqual(error.missing, ["HYPERID_CLIENT_ID", "HYPERID_CLIENT_SECRET"])
    }),
  )
})
