/**
 * Logging out of a session that has already ended. hyperid's logout is
 * Keycloak's: a refresh token whose session ended (logged out elsewhere,
 * expired, revoked by an admin) is answered `400 invalid_grant`. The purpose
 * of logging out, a session that no longer lets the token in, is achieved,
 * so it is no error (as RFC 7009 §2.2 has it for revocation: an invalid
 * token "is already achieved"). Answered over real loopback HTTP, by the
 * emulator and by a fault that replaces its answer.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient, defaultHyperlineApiKey, defaultHyperlineClient } from "@hyperauth/emulator"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as HyperlineApps from "../src/HyperlineApps.js"
import * as TokenStore from "../src/TokenStore.js"
import { useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | TokenStore.TokenStore>) =>
  Effect.provide(effect, Layer.merge(FetchHttpClient.layer, TokenStore.layerMemory))

const hyperid = (secret: string = defaultHyperIdClient.clientSecret) =>
  HyperId.make({
    origin: emulator.current.origins.hyperid,
    clientId: defaultHyperIdClient.clientId,
    clientSecret: Redacted.make(secret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperid",
  })

const key = { provider: "hyperid", account: "default" }

/** A logged-in hyperid account. */
const loggedIn = (service: HyperId.Service) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts.make(() => Effect.succeed(service.provider))
    const request = yield* service.authorizationUrl({ scope: "openid" })
    const { token } = yield* service.completeLogin(request, emulator.current.hyperid.authorize(request.url))
    yield* accounts.save(key, token)
    return { accounts, token }
  })

const logoutPath = `${HyperId.realmPath}/logout`

describe("hyperid logout of a session that already ended", () => {
  it.live("a second logout of the same refresh token succeeds", () =>
    live(
      Effect.gen(function* () {
        const service = yield* hyperid()
        const { token } = yield* loggedIn(service)
        const refreshToken = token.refreshToken ?? Redacted.make("")
        yield* service.logout(refreshToken)
        const again = yield* Effect.exit(service.logout(refreshToken))
        assert.isTrue(Exit.isSuccess(again), Exit.isFailure(again) ? Cause.pretty(again.cause) : "")
      }),
    ),
  )

  it.live("an account whose session the provider ended logs out revoked, without a revoke error", () =>
    live(
      Effect.gen(function* () {
        const service = yield* hyperid()
        const { accounts } = yield* loggedIn(service)
        emulator.current.tokens.revokeAll("hyperid")
        const result = yield* accounts.logout(key)
        assert.deepStrictEqual(
          { revoked: result.revoked, removed: result.removed, error: result.revokeError?.code },
          { revoked: true, removed: true, error: undefined },
        )
      }),
    ),
  )

  it.live("Keycloak's answer for an ended session (invalid_grant, Session not active) is a logout", () =>
    live(
      Effect.gen(function* () {
        const service = yield* hyperid()
        const { accounts } = yield* loggedIn(service)
        emulator.current.faults.inject({
          origin: "hyperid",
          path: logoutPath,
          status: 400,
          body: { error: "invalid_grant", error_description: "Session not active" },
          times: 1,
        })
        const result = yield* accounts.logout(key)
        assert.strictEqual(result.revokeError, undefined)
        assert.isTrue(result.revoked)
        assert.isTrue(result.removed)
      }),
    ),
  )

  it.live("any other refusal is still an error: a wrong client secret, a server error", () =>
    live(
      Effect.gen(function* () {
        const service = yield* hyperid()
        const { token } = yield* loggedIn(service)
        const wrong = yield* hyperid("not-the-secret")
        const refreshToken = token.refreshToken ?? Redacted.make("")
        assert.strictEqual(failure(yield* Effect.exit(wrong.logout(refreshToken))).code, "invalid_client")
        emulator.current.faults.inject({ origin: "hyperid", path: logoutPath, status: 500, body: "" })
        assert.strictEqual(failure(yield* Effect.exit(service.logout(refreshToken))).code, "http_error")
        emulator.current.faults.inject({
          origin: "hyperid",
          path: logoutPath,
          status: 400,
          body: { error: "invalid_request", error_description: null },
          times: 1,
        })
        assert.strictEqual(failure(yield* Effect.exit(service.logout(refreshToken))).code, "invalid_request")
      }),
    ),
  )
})

describe("hyperline revocation of a token issued to another client", () => {
  const hyperline = (clientId: string, clientSecret: Redacted.Redacted<string>) =>
    Hyperline.make({
      origin: emulator.current.origins.hyperline,
      clientId,
      clientSecret,
      redirectUri: "http://127.0.0.1:8976/callback/hyperline",
    })

  it.live(
    "is refused (RFC 7009 §2.1): a typed error without secrets; Accounts, told the login is another client's, sends nothing",
    () =>
      live(
        Effect.gen(function* () {
          const own = yield* hyperline(
            defaultHyperlineClient.clientId,
            Redacted.make(defaultHyperlineClient.clientSecret),
          )
          const request = yield* own.authorizationUrl()
          const token = yield* own.completeLogin(request, emulator.current.hyperline.authorize(request.url))
          // The client was reconfigured since the login: another app's credentials.
          const apps = yield* HyperlineApps.make({
            origin: emulator.current.origins.hyperline,
            apiKey: Redacted.make(defaultHyperlineApiKey),
          })
          const app = yield* apps.create({ name: "Other", callbacks: ["https://other.example/cb"] })
          const other = yield* hyperline(app.clientId ?? "", app.clientSecret ?? Redacted.make(""))

          const error = failure(yield* Effect.exit(other.provider.revoke(token)))
          assert.strictEqual(error.code, "invalid_client")
          for (const secret of [token.refreshToken, token.accessToken, app.clientSecret]) {
            assert.notInclude(error.message, Redacted.value(secret ?? Redacted.make("-")))
          }

          // Reconfigured since the login: the login is the other client's, and not this one's to revoke or remove.
          const accounts = yield* Accounts.make(() => Effect.succeed(other.provider))
          const hyperlineKey = { provider: "hyperline", account: "default" }
          yield* accounts.save(hyperlineKey, token)
          const revocations = () => emulator.current.count({ origin: "hyperline", path: "/v1/oauth/revoke" })
          const before = revocations()
          assert.deepStrictEqual(yield* accounts.logout(hyperlineKey), { revoked: false, removed: false })
          assert.strictEqual(revocations() - before, 0)
          // Not revoked: the login's own client still refreshes it.
          assert.isTrue(Exit.isSuccess(yield* Effect.exit(own.refresh(token))))
        }),
      ),
  )
})
