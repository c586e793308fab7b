/**
 * Configuration errors: each names the setting and what it accepts, and
 * none quotes a value (a setting may be a secret, and these messages reach
 * logs and tool results), whatever the value.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Exit, FastCheck as fc } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Hyperproof from "../src/Hyperproof.js"
import type { NotConfigured } from "../src/OAuthError.js"
import * as Settings from "../src/Settings.js"

const configured = {
  HYPER_CLIENT_ID: "hyper-client",
  HYPERID_CLIENT_ID: "hyperid-client",
  HYPERID_CLIENT_SECRET: "hyperid-secret",
  HYPERLINE_CLIENT_ID: "hyperline-client",
  HYPERLINE_CLIENT_SECRET: "hyperline-secret",
  HYPERPROOF_CLIENT_ID: "hyperproof-client",
  HYPERPROOF_CLIENT_SECRET: "hyperproof-secret",
}

const loaders: ReadonlyArray<Effect.Effect<unknown, NotConfigured>> = [
  Hyper.definition.loadConfig,
  HyperId.definition.loadConfig,
  Hyperline.definition.loadConfig,
  Hyperproof.definition.loadConfig,
]

/** Why each provider refuses `env` (undefined for those it configures). */
const reasons = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.forEach(loaders, (load) =>
      Effect.map(Effect.exit(load), (exit) =>
        Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.message : undefined,
      ),
    ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ ...configured, ...env }))))),
  )

describe("configuration errors", () => {
  it("HYPERAUTH_HTTP_TIMEOUT=abc names the variable and what it accepts, for every provider", () => {
    for (const reason of reasons({ HYPERAUTH_HTTP_TIMEOUT: "abc" })) {
      assert.include(reason, "HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds")
      assert.notInclude(reason, "abc")
    }
  })

  it("HYPERAUTH_HTTP_TIMEOUT is written in decimal seconds: hex, exponents, signs and units are refused", () => {
    // Blanks around a value are let go, as for every parsed setting.
    for (const value of ["0x10", "1e1", "+5", "5s", "0b101", "Infinity", "5 5"]) {
      for (const reason of reasons({ HYPERAUTH_HTTP_TIMEOUT: value })) {
        assert.include(reason, "HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds", JSON.stringify(value))
      }
    }
  })

  it("HYPERAUTH_HTTP_TIMEOUT above an hour names the variable and its range; an hour is accepted", () => {
    // 3,000,000 s is past what a Node timer holds (2^31 - 1 ms, about 24.8 days).
    for (const value of ["3601", "3000000", "1e300"]) {
      for (const reason of reasons({ HYPERAUTH_HTTP_TIMEOUT: value })) {
        assert.include(reason, "HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds up to 3600")
        assert.notInclude(reason, value)
      }
    }
    assert.deepStrictEqual(reasons({ HYPERAUTH_HTTP_TIMEOUT: "3600" }), [undefined, undefined, undefined, undefined])
    const read = (value: string) =>
      Effect.runSync(
        Effect.either(
          Effect.map(Settings.httpTimeout, Duration.toSeconds).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_HTTP_TIMEOUT", value]]))),
          ),
        ),
      )
    assert.deepStrictEqual(read("3600"), Either.right(3600))
    assert.deepStrictEqual(read("0.5"), Either.right(0.5))
    assert.isTrue(Either.isLeft(read("3600.5")))
  })

  it("HYPERAUTH_CALLBACK_PORT=abc names the variable and the accepted ports", () => {
    const [, hyperid, hyperline] = reasons({ HYPERAUTH_CALLBACK_PORT: "abc" })
    for (const reason of [hyperid, hyperline]) {
      assert.include(reason, "HYPERAUTH_CALLBACK_PORT must be a port number from 1 to 65535")
      assert.notInclude(reason, "abc")
    }
  })

  it("HYPERID_ENVIRONMENT=staging names the variable and its two environments", () => {
    const [, hyperid] = reasons({ HYPERID_ENVIRONMENT: "staging" })
    assert.include(hyperid, "HYPERID_ENVIRONMENT must be production or sandbox")
    assert.notInclude(hyperid, "staging")
  })

  it("an origin with user:password@ is refused without repeating it", () => {
    const [hyper, , , hyperproof] = reasons({
      HYPER_BASE_URL: "https://ada:pa55word@hyper.example",
      HYPERPROOF_API_URL: "https://token@api.example",
    })
    assert.include(hyper, "HYPER_BASE_URL must be an http(s) origin")
    assert.include(hyperproof, "HYPERPROOF_API_URL must be an http(s) origin")
    for (const reason of [hyper, hyperproof]) {
      assert.notInclude(reason, "pa55word")
      assert.notInclude(reason, "token@")
    }
  })

  it("no value of any setting, valid or not, is ever quoted", () => {
    const names = [
      "HYPERAUTH_HTTP_TIMEOUT",
      "HYPERAUTH_CALLBACK_PORT",
      "HYPERID_ENVIRONMENT",
      "HYPERLINE_ENVIRONMENT",
      "HYPER_BASE_URL",
      "HYPERID_BASE_URL",
      "HYPERLINE_BASE_URL",
      "HYPERPROOF_AUTH_URL",
      "HYPERPROOF_API_URL",
      "HYPERID_REDIRECT_URI",
      "HYPERLINE_REDIRECT_URI",
      "HYPERLINE_COMPANY_ID",
      "HYPERID_CLIENT_SECRET",
      "HYPERLINE_API_KEY",
    ]
    // A marker around any text, so that a quoted value is found and no template word is mistaken for one.
    const value = fc.string().map((s) => `Qz7${s}Vx9`)
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), value, { minKeys: 1 }), (env) => {
        for (const reason of reasons(env)) {
          if (reason === undefined) continue
          assert.notMatch(reason, /Qz7|Vx9/, JSON.stringify(env))
          assert.match(reason, /[A-Z_]{6,} (must be|has a value)/, reason)
        }
      }),
    )
  })
})
