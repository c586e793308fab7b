/**
 * Sloppy servers write `""` for an optional member they have no value for.
 * An empty `refresh_token`, `id_token` or `scope` of a token answer is read
 * as absent; an empty `access_token` is no token at all: `invalid_response`,
 * saying the provider sent none. Answered over real loopback HTTP by the
 * emulator's fault switchboard, which replaces the token endpoint's body.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient, defaultHyperlineClient } from "@hyperauth/emulator"
import { Cause, Effect, Exit, Redacted } from "effect"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import { held } from "./support/clients.js"
import { useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const succeeded = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  return assert.fail(Cause.pretty(exit.cause))
}

const previous = held({ access_token: "at-old-0123456789", refresh_token: "rt-old-0123", scope: "openid" })

const providers = {
  hyperline: {
    path: "/v1/oauth/tokens",
    make: () =>
      Hyperline.make({
        origin: emulator.current.origins.hyperline,
        clientId: defaultHyperlineClient.clientId,
        clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
        redirectUri: "http://127.0.0.1:8976/callback/hyperline",
      }),
  },
  hyperid: {
    path: `${HyperId.realmPath}/token`,
    make: () =>
      HyperId.make({
        origin: emulator.current.origins.hyperid,
        clientId: defaultHyperIdClient.clientId,
        clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
        redirectUri: "http://127.0.0.1:8976/callback/hyperid",
      }),
  },
} as const

/** A refresh of `previous` by `provider`, its token endpoint answering `fields` as JSON. */
const refreshAnswered = (provider: keyof typeof providers, fields: Record<string, unknown>) =>
  Effect.gen(function* () {
    const { path, make } = providers[provider]
    const body = JSON.stringify({ token_type: "Bearer", expires_in: 300, ...fields })
    emulator.current.faults.inject({ path, status: 200, body, times: 1 })
    const client = yield* make()
    return yield* Effect.exit(Effect.flatMap(previous, (token) => client.refresh(token)))
  })

describe("an empty string for an absent optional member of a token answer", () => {
  for (const provider of ["hyperline", "hyperid"] as const) {
    it.live(`${provider}: an empty refresh_token is none, so the refresh token held is kept`, () =>
      live(
        Effect.gen(function* () {
          const token = succeeded(
            yield* refreshAnswered(provider, { access_token: "at-new-0123456789", refresh_token: "" }),
          )
          assert.strictEqual(Redacted.value(token.accessToken), "at-new-0123456789")
          assert.strictEqual(token.refreshToken && Redacted.value(token.refreshToken), "rt-old-0123")
        }),
      ),
    )

    it.live(`${provider}: an empty id_token is none`, () =>
      live(
        Effect.gen(function* () {
          const token = succeeded(
            yield* refreshAnswered(provider, {
              access_token: "at-new-0123456789",
              refresh_token: "rt-new-0123",
              id_token: "",
            }),
          )
          assert.strictEqual(token.refreshToken && Redacted.value(token.refreshToken), "rt-new-0123")
        }),
      ),
    )

    it.live(`${provider}: an empty scope is none, so the scope held is kept`, () =>
      live(
        Effect.gen(function* () {
          const token = succeeded(yield* refreshAnswered(provider, { access_token: "at-new-0123456789", scope: "" }))
          assert.strictEqual(token.scope, "openid")
        }),
      ),
    )

    it.live(`${provider}: all three empty at once are all none`, () =>
      live(
        Effect.gen(function* () {
          const token = succeeded(
            yield* refreshAnswered(provider, {
              access_token: "at-new-0123456789",
              refresh_token: "",
              id_token: "",
              scope: "",
            }),
          )
          assert.strictEqual(token.refreshToken && Redacted.value(token.refreshToken), "rt-old-0123")
          assert.strictEqual(token.scope, "openid")
        }),
      ),
    )

    for (const [what, fields] of [
      ["an empty access_token", { access_token: "", refresh_token: "rt-new-0123" }],
      ["no access_token", { refresh_token: "rt-new-0123" }],
    ] as const) {
      it.live(`${provider}: ${what} is invalid_response saying the provider sent no access token`, () =>
        live(
          Effect.gen(function* () {
            const error = failure(yield* refreshAnswered(provider, fields))
            assert.strictEqual(error.code, "invalid_response")
            assert.include(error.message, "sent no access token")
            assert.notInclude(error.message, "rt-new-0123")
          }),
        ),
      )
    }
  }
})
