/**
 * hyper against the emulator over real loopback HTTP. The emulator asks
 * for a 50 ms polling interval; hyperauth polls once a second, its floor.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperClient } from "@hyperauth/emulator"
import { ConfigProvider, Context, Duration, Effect, Exit, Fiber, Layer, Redacted, Schema } from "effect"
import * as Hyper from "../src/Hyper.js"
import { TokenSet } from "../src/Token.js"
import { useEmulator } from "./support/emulator.js"

/** A service of the caller's that an onSuccess uses. */
class Vault extends Context.Tag("test/Vault")<Vault, { readonly name: string }>() {}

const emulator = useEmulator({ hyper: { interval: 0.05 } })

const hyper = Hyper.Hyper
const configFrom = (env: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(env)))
const provide = <A, E>(effect: Effect.Effect<A, E, Hyper.Hyper | HttpClient.HttpClient>) =>
  Effect.suspend(() =>
    effect.pipe(
      Effect.provide(
        Hyper.layer({ baseUrl: emulator.current.origins.hyper, clientId: defaultHyperClient.clientId }).pipe(
          Layer.provideMerge(FetchHttpClient.layer),
        ),
      ),
    ),
  )

const failureCode = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error.code
  return assert.fail("expected a typed failure")
}

/** Approves the login as the user would, once the client has polled at least once. */
const approveAfterFirstPoll = (userCode: string, decision: "approve" | "deny" = "approve") =>
  Effect.gen(function* () {
    const polls = () => emulator.current.count({ origin: "hyper", path: "/oauth/token" })
    const before = polls()
    while (polls() === before) yield* Effect.sleep("10 millis")
    assert.isTrue(emulator.current.hyper[decision](userCode))
  })

describe("Hyper over loopback", () => {
  it.live("initiate → approve → poll → introspect → API call", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const device = yield* service.initiateDeviceFlow({ scope: "read write" })
        assert.match(device.userCode, /^[A-Z]{4}-[A-Z]{4}$/)
        assert.strictEqual(device.verificationUri, `${emulator.current.origins.hyper}/device`)
        assert.include(device.verificationUriComplete ?? "", device.userCode)
        // The emulator says 50 ms; hyperauth never polls faster than once a second.
        assert.strictEqual(Duration.toMillis(device.interval), 1000)

        let successes = 0
        const poller = yield* Effect.fork(service.pollForToken(device, () => successes++))
        yield* approveAfterFirstPoll(device.userCode)
        const token = yield* Fiber.join(poller)
        assert.strictEqual(successes, 1)
        assert.strictEqual(token.tokenType, "Bearer")
        assert.strictEqual(token.scope, "read write")

        const info = yield* service.introspectToken(token.accessToken)
        assert.isTrue(info.active)
        assert.strictEqual(info.scope, "read write")
        assert.isNumber(info.exp)
        assert.isNumber(info.iat)
        assert.strictEqual(info.client_id, defaultHyperClient.clientId)

        const client = yield* HttpClient.HttpClient
        const me = yield* client.execute(
          HttpClientRequest.get(`${emulator.current.origins.hyper}/v1/me`).pipe(
            HttpClientRequest.bearerToken(Redacted.value(token.accessToken)),
          ),
        )
        assert.strictEqual(me.status, 200)
        const body = yield* Effect.flatMap(me.json, Schema.decodeUnknown(Schema.Struct({ sub: Schema.String })))
        assert.strictEqual(body.sub, "user_ada")
      }),
    ),
  )

  it.live(
    "keeps polling through authorization_pending and never trips slow_down",
    () =>
      provide(
        Effect.gen(function* () {
          const service = yield* hyper
          const device = yield* service.initiateDeviceFlow()
          const poller = yield* Effect.fork(service.pollForToken(device))
          const polls = () => emulator.current.count({ origin: "hyper", path: "/oauth/token" })
          const start = polls()
          while (polls() - start < 2) yield* Effect.sleep("10 millis")
          emulator.current.hyper.approve(device.userCode)
          const token = yield* Fiber.join(poller)
          assert.isAbove(Redacted.value(token.accessToken).length, 20)
        }),
      ),
    15_000,
  )

  it.live("a denied login stops with access_denied", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const device = yield* service.initiateDeviceFlow()
        const poller = yield* Effect.fork(service.pollForToken(device))
        yield* approveAfterFirstPoll(device.userCode, "deny")
        assert.strictEqual(failureCode(yield* Fiber.await(poller)), "access_denied")
      }),
    ),
  )

  it.live("a device code the server expired stops with expired_token", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const device = yield* service.initiateDeviceFlow()
        const poller = yield* Effect.fork(service.pollForToken(device))
        const polls = () => emulator.current.count({ origin: "hyper", path: "/oauth/token" })
        const start = polls()
        while (polls() === start) yield* Effect.sleep("10 millis")
        emulator.current.clock.advance(601)
        assert.strictEqual(failureCode(yield* Fiber.await(poller)), "expired_token")
      }),
    ),
  )

  it.live("an onSuccess that throws or rejects fails the poll with a typed invalid_input that carries the token", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const thrown = new Error("the session store is down")
        for (const [onSuccess, said] of [
          [
            (): never => {
              throw thrown
            },
            /^hyper: onSuccess threw after the token was issued \(what it threw is this error's cause\)/,
          ],
          [
            (): Promise<never> => Promise.reject(thrown),
            /^hyper: onSuccess's promise rejected after the token was issued \(its reason is this error's cause\)/,
          ],
        ] as const) {
          const device = yield* service.initiateDeviceFlow()
          const poller = yield* Effect.fork(service.pollForToken(device, onSuccess))
          yield* approveAfterFirstPoll(device.userCode)
          const exit = yield* Fiber.await(poller)
          // A typed failure, not a defect: the error channel is where an Effect caller looks.
          assert.strictEqual(failureCode(exit), "invalid_input")
          const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.match(error?.message ?? "", said)
          assert.strictEqual(Reflect.get(error ?? {}, "cause"), thrown)
          // The device code is spent: the token is the one copy, carried by the failure and never printed.
          const token: unknown = Reflect.get(error ?? {}, "token")
          assert.instanceOf(token, TokenSet)
          const secret = token instanceof TokenSet ? Redacted.value(token.accessToken) : ""
          for (const shown of [error?.message, JSON.stringify(error), String(error)]) assert.notInclude(shown, secret)
          assert.isTrue((yield* service.introspectToken(secret)).active)
        }
      }),
    ),
  )

  it.live("an onSuccess that returns an Effect has it run, and its failure fails the poll as invalid_input", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const saved: Array<TokenSet> = []
        const device = yield* service.initiateDeviceFlow()
        const poller = yield* Effect.fork(service.pollForToken(device, (token) => Effect.sync(() => saved.push(token))))
        yield* approveAfterFirstPoll(device.userCode)
        const token = yield* Fiber.join(poller)
        assert.deepStrictEqual(saved, [token])

        const failing = yield* service.initiateDeviceFlow()
        const refused = yield* Effect.fork(service.pollForToken(failing, () => Effect.fail("the store is down")))
        yield* approveAfterFirstPoll(failing.userCode)
        const exit = yield* Fiber.await(refused)
        assert.strictEqual(failureCode(exit), "invalid_input")
        const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.strictEqual(Reflect.get(error ?? {}, "cause"), "the store is down")
        // It failed; it did not throw: the message says what happened.
        assert.match(
          error?.message ?? "",
          /^hyper: onSuccess's Effect failed after the token was issued \(its failure is this error's cause\)/,
        )
      }),
    ),
  )

  it.live("an onSuccess Effect that needs a service makes the poll need it, and runs with the caller's", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        const device = yield* service.initiateDeviceFlow()
        const saved: Array<string> = []
        const save = (token: TokenSet) =>
          Effect.flatMap(Vault, (vault) => Effect.sync(() => saved.push(`${vault.name}:${token.tokenType}`)))
        const poll = service.pollForToken(device, save)
        const needsNothing = (_: Effect.Effect<TokenSet, unknown, never>) => undefined
        // @ts-expect-error: the poll needs the Vault its onSuccess needs.
        needsNothing(poll)
        const poller = yield* Effect.fork(Effect.provideService(poll, Vault, { name: "vault" }))
        yield* approveAfterFirstPoll(device.userCode)
        yield* Fiber.join(poller)
        assert.deepStrictEqual(saved, ["vault:Bearer"])
      }),
    ),
  )

  it.live("introspecting an unknown token answers active: false", () =>
    provide(
      Effect.gen(function* () {
        const info = yield* (yield* hyper).introspectToken("not-a-token")
        assert.deepStrictEqual(info, { active: false })
      }),
    ),
  )

  it.live(
    "the sample API answers invalid_token to a Bearer token it did not issue, and challenges a request without one",
    () =>
      provide(
        Effect.gen(function* () {
          const client = yield* HttpClient.HttpClient
          const me = HttpClientRequest.get(`${emulator.current.origins.hyper}/v1/me`)
          const response = yield* client.execute(HttpClientRequest.bearerToken(me, "hyper_at_unknown"))
          assert.strictEqual(response.status, 401)
          assert.include(response.headers["www-authenticate"] ?? "", 'error="invalid_token"')
          // RFC 6750 §3.1: a request with no credentials gets no error code.
          const bare = yield* client.execute(me)
          assert.strictEqual(bare.status, 401)
          assert.strictEqual(bare.headers["www-authenticate"], 'Bearer realm="emulator"')
        }),
      ),
  )

  it.live("a 503 from the device endpoint is retried; malformed answers are invalid_response", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        emulator.current.faults.inject({ path: "/oauth/device", status: 503, times: 1 })
        const device = yield* service.initiateDeviceFlow()
        assert.isString(device.userCode)
        emulator.current.faults.inject({ path: "/oauth/introspect", malformed: true, times: 1 })
        assert.strictEqual(failureCode(yield* Effect.exit(service.introspectToken("x"))), "invalid_response")
      }),
    ),
  )
})

describe("Hyper configuration", () => {
  it.effect("layerConfig without HYPER_CLIENT_ID fails with not_configured naming it", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Hyper.definition.loadConfig)
      assert.strictEqual(failureCode(exit), "not_configured")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.deepStrictEqual(exit.cause.error.missing, ["HYPER_CLIENT_ID"])
      }
    }).pipe(Effect.withConfigProvider(configFrom({}))),
  )

  it.effect("the service says its base URL as baseUrl, as hyperid's does (baseURL stays, deprecated)", () =>
    provide(
      Effect.gen(function* () {
        const service = yield* hyper
        assert.strictEqual(service.baseUrl, emulator.current.origins.hyper)
        assert.strictEqual(service.baseURL, service.baseUrl)
      }),
    ),
  )

  it.effect("reads HYPER_BASE_URL (trailing slash removed) with the default otherwise", () =>
    Effect.gen(function* () {
      const custom = yield* Hyper.definition.loadConfig.pipe(
        Effect.withConfigProvider(configFrom({ HYPER_CLIENT_ID: "c", HYPER_BASE_URL: "https://custom.hyper.io/" })),
      )
      assert.strictEqual(custom.baseUrl, "https://custom.hyper.io")
      const fallback = yield* Hyper.definition.loadConfig.pipe(
        Effect.withConfigProvider(configFrom({ HYPER_CLIENT_ID: "c" })),
      )
      assert.strictEqual(fallback.baseUrl, "https://api.hyper.io")
      assert.strictEqual(Duration.toSeconds(Duration.decode(fallback.timeout ?? 0)), 30)
    }),
  )

  it.effect("a base URL that is not http(s) is not_configured", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Hyper.definition.loadConfig.pipe(
          Effect.withConfigProvider(configFrom({ HYPER_CLIENT_ID: "c", HYPER_BASE_URL: "ftp://nope" })),
        ),
      )
      assert.strictEqual(failureCode(exit), "not_configured")
    }),
  )
})
