/**
 * The provider definitions: ids, flows and settings read off each
 * provider's `Config` (never a hand-kept list), and the loopback callback a
 * started authorization-code login carries.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Hyperproof from "../src/Hyperproof.js"
import type { NotConfigured } from "../src/OAuthError.js"
import * as Provider from "../src/Provider.js"
import * as Settings from "../src/Settings.js"

const withSettings = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Provider.definitions", () => {
  it("lists every provider module's definition once, and the ids derive from it", () => {
    assert.deepStrictEqual(Provider.definitions, [
      Hyper.definition,
      HyperId.definition,
      Hyperline.definition,
      Hyperproof.definition,
    ])
    assert.deepStrictEqual(Provider.providerIds, ["hyper", "hyperid", "hyperline", "hyperproof"])
    assert.deepStrictEqual(
      Provider.definitions.map((d) => d.flow),
      ["device_code", "authorization_code", "authorization_code", "client_credentials"],
    )
  })

  it.effect("the provider each definition makes has the definition's id and flow", () =>
    Effect.gen(function* () {
      const everything = {
        HYPER_CLIENT_ID: "c",
        HYPERID_CLIENT_ID: "c",
        HYPERID_CLIENT_SECRET: "s",
        HYPERLINE_CLIENT_ID: "c",
        HYPERLINE_CLIENT_SECRET: "s",
        HYPERPROOF_CLIENT_ID: "c",
        HYPERPROOF_CLIENT_SECRET: "s",
      }
      for (const definition of Provider.definitions) {
        const made = yield* definition.provider.pipe(withSettings(everything), Effect.provide(FetchHttpClient.layer))
        assert.strictEqual(made.id, definition.id)
        assert.strictEqual(made.flow, definition.flow)
        assert.strictEqual(made.apiBaseUrl, yield* definition.apiBaseUrl.pipe(withSettings(everything)))
      }
    }),
  )

  it("says which providers introspect (RFC 7662): hyper and hyperid, by their seeds", () => {
    assert.deepStrictEqual(
      Provider.definitions.filter((definition) => definition.introspection).map((definition) => definition.id),
      ["hyper", "hyperid"],
    )
  })

  it("the required settings are exactly what loadConfig reports missing with nothing set", () => {
    for (const definition of Provider.definitions) {
      const load: Effect.Effect<unknown, NotConfigured> = definition.loadConfig
      const exit = Effect.runSyncExit(load.pipe(withSettings({})))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.deepStrictEqual(error?.missing, [...definition.requiredSettings], definition.id)
    }
    assert.deepStrictEqual(Hyper.definition.requiredSettings, ["HYPER_CLIENT_ID"])
    assert.deepStrictEqual(Hyperline.definition.requiredSettings, ["HYPERLINE_CLIENT_ID", "HYPERLINE_CLIENT_SECRET"])
  })

  it("a required setting that is empty or only blanks fails loadConfig as missing, by its name, while every other is set", () => {
    for (const definition of Provider.definitions) {
      const valid = Object.fromEntries(definition.requiredSettings.map((name) => [name, "value"]))
      for (const name of definition.requiredSettings) {
        // A blank line in a .env file is not a client id.
        for (const blank of ["", "  \t "]) {
          const load: Effect.Effect<unknown, NotConfigured> = definition.loadConfig
          const exit = Effect.runSyncExit(load.pipe(withSettings({ ...valid, [name]: blank })))
          const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.deepStrictEqual(error?.missing, [name], `${definition.id}: ${name} = ${JSON.stringify(blank)}`)
        }
      }
    }
  })

  it("a required value is kept as it was given, blanks around it included", () =>
    Effect.gen(function* () {
      const options = yield* Hyperproof.definition.loadConfig.pipe(
        withSettings({ HYPERPROOF_CLIENT_ID: "id", HYPERPROOF_CLIENT_SECRET: " s3cret " }),
      )
      assert.strictEqual(Redacted.value(options.clientSecret), " s3cret ")
    }).pipe(Effect.runSync))

  it("the settings are every name the Config reads, defaults and fallbacks included", () => {
    const names = (definition: Provider.AnyDefinition) => definition.settings.map((s) => s.name)
    assert.deepStrictEqual(names(Hyper.definition), ["HYPER_BASE_URL", "HYPER_CLIENT_ID", "HYPERAUTH_HTTP_TIMEOUT"])
    assert.deepStrictEqual(names(HyperId.definition), [
      "HYPERID_ENVIRONMENT",
      "HYPERID_BASE_URL",
      "HYPERID_CLIENT_ID",
      "HYPERID_CLIENT_SECRET",
      "HYPERID_REDIRECT_URI",
      "HYPERAUTH_CALLBACK_PORT",
      "HYPERAUTH_HTTP_TIMEOUT",
    ])
    // The Apps API's key is HyperlineApps', not a setting of the provider.
    assert.notInclude(names(Hyperline.definition), "HYPERLINE_API_KEY")
    assert.include(names(Hyperproof.definition), "HYPERPROOF_SCOPE")
  })

  it("a setting added to a Config is found, required or not, with no list to update", () => {
    const definition = Provider.define("acme", "client_credentials", Hyperproof.Hyperproof, {
      config: Config.all({
        clientId: Config.nonEmptyString("ACME_CLIENT_ID"),
        region: Config.string("ACME_REGION").pipe(Config.withDefault("eu")),
        nested: Config.nested(Config.redacted("KEY"), "ACME"),
      }),
      apiBaseUrl: Config.succeed("https://api.acme.example"),
      introspection: false,
      make: () => Effect.die("not made"),
    })
    assert.deepStrictEqual(definition.settings, [
      { name: "ACME_CLIENT_ID", required: true },
      { name: "ACME_REGION", required: false },
      { name: "ACME_KEY", required: true },
    ])
  })

  it("the redirect URI the user set is the definition's configuredRedirectUri; the loopback default is none", () => {
    const read = (definition: Provider.AnyDefinition, env: Record<string, string>) =>
      Effect.runSync(definition.configuredRedirectUri.pipe(withSettings(env)))
    const set = { HYPERID_REDIRECT_URI: "https://app.example/cb", HYPERLINE_REDIRECT_URI: "https://app.example/hl" }
    assert.deepStrictEqual(read(HyperId.definition, set), Option.some("https://app.example/cb"))
    assert.deepStrictEqual(read(Hyperline.definition, set), Option.some("https://app.example/hl"))
    assert.deepStrictEqual(read(HyperId.definition, {}), Option.none())
    assert.deepStrictEqual(read(Hyper.definition, set), Option.none())
  })

  it("the defaults are the Settings constants", () => {
    const options = Effect.runSync(
      HyperId.definition.loadConfig.pipe(withSettings({ HYPERID_CLIENT_ID: "c", HYPERID_CLIENT_SECRET: "s" })),
    )
    assert.strictEqual(options.redirectUri, Settings.loopbackRedirectUri("hyperid", Settings.defaultCallbackPort))
    assert.strictEqual(options.redirectUri, "http://127.0.0.1:8976/callback/hyperid")
    assert.deepStrictEqual(options.timeout, Settings.defaultHttpTimeout)
  })
})

describe("RedirectPending.callback", () => {
  const start = (provider: Effect.Effect<Provider.Provider, never, never>, redirectUri?: string) =>
    Effect.flatMap(provider, (p) => p.startLogin({ redirectUri }))

  const hyperid = Effect.map(
    HyperId.make({
      origin: "https://login.example",
      clientId: "c",
      clientSecret: Redacted.make("s"),
      redirectUri: Settings.loopbackRedirectUri("hyperid", 8976),
    }),
    (s) => s.provider,
  ).pipe(Effect.provide(FetchHttpClient.layer))
  const hyperline = Effect.map(
    Hyperline.make({
      origin: "https://api.example",
      clientId: "c",
      clientSecret: Redacted.make("s"),
      redirectUri: "https://app.example/callback",
    }),
    (s) => s.provider,
  ).pipe(Effect.provide(FetchHttpClient.layer))

  it.effect("is the port and path of a loopback redirect URI, and absent for any other", () =>
    Effect.gen(function* () {
      const loopback = yield* start(hyperid)
      assert.strictEqual(loopback._tag, "RedirectPending")
      assert.deepStrictEqual(loopback._tag === "RedirectPending" ? loopback.callback : undefined, {
        port: 8976,
        path: Settings.callbackPath("hyperid"),
      })
      const asked = yield* start(hyperid, "http://localhost:53682/callback/hyperid")
      assert.deepStrictEqual(asked._tag === "RedirectPending" ? asked.callback : undefined, {
        port: 53682,
        path: "/callback/hyperid",
      })
      const remote = yield* start(hyperline)
      assert.strictEqual(remote._tag === "RedirectPending" ? remote.callback : "not pending", undefined)
    }),
  )

  it("loopbackCallback refuses what no loopback listener receives", () => {
    assert.isUndefined(Provider.loopbackCallback("https://127.0.0.1:8976/callback/hyperid"))
    assert.isUndefined(Provider.loopbackCallback("http://127.0.0.1/callback/hyperid"))
    assert.isUndefined(Provider.loopbackCallback("http://example.com:8976/callback/hyperid"))
    assert.isUndefined(Provider.loopbackCallback("not a url"))
  })
})

// The layers come from the definition: one made from settings is the service.
describe("layerConfig", () => {
  it.effect("is the definition's, and fails not_configured naming what is missing", () =>
    Effect.gen(function* () {
      assert.strictEqual(Hyper.layerConfig, Hyper.definition.layerConfig)
      const exit = yield* Effect.exit(
        Effect.provide(Hyper.Hyper, Hyper.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))),
      ).pipe(withSettings({}))
      assert.isTrue(Exit.isFailure(exit))
    }),
  )
})
