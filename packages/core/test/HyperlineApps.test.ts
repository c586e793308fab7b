/** hyperline's Apps API against the emulator over real loopback HTTP. */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperlineApiKey } from "@hyperauth/emulator"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import * as Hyperline from "../src/Hyperline.js"
import * as HyperlineApps from "../src/HyperlineApps.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const apps = (apiKey = Redacted.make(defaultHyperlineApiKey)) =>
  HyperlineApps.make({ origin: emulator.current.origins.hyperline, apiKey })

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const failure = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe("HyperlineApps", () => {
  it.live("creates, lists, updates and deletes apps, and a new app can log in", () =>
    live(
      Effect.gen(function* () {
        const api = yield* apps()
        const created = yield* api.create({
          name: "Billing bot",
          description: "Syncs invoices",
          logoUri: "https://example.com/logo.png",
          callbacks: ["https://bot.example.com/callback"],
        })
        assert.strictEqual(created.name, "Billing bot")
        assert.strictEqual(created.logoUri, "https://example.com/logo.png")
        assert.isTrue(created.clientSecret !== undefined && Redacted.isRedacted(created.clientSecret))
        assert.notInclude(String(created), Redacted.value(created.clientSecret ?? Redacted.make("-")))
        assert.include(
          (yield* api.list).map((a) => a.id),
          created.id,
        )
        const updated = yield* api.update(created.id, { name: "Billing bot 2" })
        assert.strictEqual(updated.name, "Billing bot 2")

        const asNewApp = yield* Hyperline.make({
          origin: emulator.current.origins.hyperline,
          clientId: created.clientId ?? "",
          clientSecret: created.clientSecret ?? Redacted.make(""),
          redirectUri: "https://bot.example.com/callback",
        })
        const request = yield* asNewApp.authorizationUrl()
        const token = yield* asNewApp.completeLogin(request, emulator.current.hyperline.authorize(request.url))
        assert.isDefined(token.refreshToken)

        yield* api.delete(created.id)
        assert.notInclude(
          (yield* api.list).map((a) => a.id),
          created.id,
        )
      }),
    ),
  )

  it.live("with a wrong key every call is http_error, and the key is never shown", () =>
    live(
      Effect.gen(function* () {
        const wrong = yield* apps(Redacted.make("nope-wrong-key"))
        const error = failure(yield* Effect.exit(wrong.list))
        assert.strictEqual(error.code, "http_error")
        assert.notInclude(JSON.stringify(error), "nope-wrong-key")
        assert.notInclude(String(error), "nope-wrong-key")
      }),
    ),
  )

  it.effect("layerConfig without HYPERLINE_API_KEY is not_configured, naming it and nothing else", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(
          HyperlineApps.HyperlineApps,
          HyperlineApps.layerConfig.pipe(Layer.provide(FetchHttpClient.layer)),
        ),
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromJson({ HYPERLINE_CLIENT_ID: "cli" })))
      const error = failure(exit)
      assert.strictEqual(error.code, "not_configured")
      assert.deepStrictEqual(error._tag === "NotConfigured" ? error.missing : [], ["HYPERLINE_API_KEY"])
    }),
  )

  it.effect("reads the origin as Hyperline does: HYPERLINE_ENVIRONMENT=sandbox", () =>
    Effect.gen(function* () {
      const options = yield* HyperlineApps.config.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromJson({ HYPERLINE_API_KEY: "k", HYPERLINE_ENVIRONMENT: "sandbox" }),
        ),
      )
      assert.strictEqual(options.origin, Hyperline.environments.sandbox)
      assert.strictEqual(Redacted.value(options.apiKey), "k")
    }),
  )
})
