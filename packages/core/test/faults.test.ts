/**
 * The fault suite: each provider's requests under each fault the emulator's
 * switchboard injects, over real loopback HTTP. The TestClock drives the time
 * limit, the backoff and `Retry-After`: every service runs on the default
 * retry schedule with a tap that records each delay it is about to wait, and
 * the test moves the clock by exactly that.
 * Whatever goes wrong, the stored login is still there afterwards.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  defaultHyperClient,
  defaultHyperIdClient,
  defaultHyperlineClient,
  defaultHyperproofClient,
  type Fault,
  type OriginName,
  sampleControl,
} from "@hyperauth/emulator"
import {
  Cause,
  Duration,
  Effect,
  Exit,
  Fiber,
  type Layer,
  Option,
  Redacted,
  Schedule,
  TestClock,
  TestServices,
} from "effect"
import * as Accounts from "../src/Accounts.js"
import * as ApiClient from "../src/ApiClient.js"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Hyperproof from "../src/Hyperproof.js"
import * as Pipeline from "../src/internal/pipeline.js"
import type { Provider, ProviderId } from "../src/Provider.js"
import type { TokenSet } from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import { eventually, useEmulator } from "./support/emulator.js"
import { transports } from "./support/transports.js"

const emulator = useEmulator({ hyper: { interval: 0.05 } })

/** The documented per-request limit, which the services keep by default. */
const limitMillis = 30_000
/** The default policy: three retries after 250 ms, 500 ms, 1 s, each with jitter in [0.5, 1]. */
const retries = 3
const baseDelayMillis = 250

/** The delays the retry schedule chose since `drive` last started, in ms. */
const delays: Array<number> = []

/** The default schedule, recording each delay it is about to wait (not the output of its last, stopping decision). */
const retryPolicy = Pipeline.retrySchedule(Pipeline.defaultRetryPolicy).pipe(
  Schedule.onDecision((delay, decision) =>
    decision._tag === "Continue" ? Effect.sync(() => delays.push(Duration.toMillis(delay))) : Effect.void,
  ),
)

interface Services {
  readonly hyper: Hyper.Service
  readonly hyperid: HyperId.Service
  readonly hyperline: Hyperline.Service
  readonly hyperproof: Hyperproof.Service
  readonly client: HttpClient.HttpClient
}

const services = (transport: Layer.Layer<HttpClient.HttpClient>) =>
  Effect.gen(function* () {
    const { origins } = emulator.current
    const callback = (id: ProviderId) => `http://127.0.0.1:8976/callback/${id}`
    return {
      hyper: yield* Hyper.make({ baseUrl: origins.hyper, clientId: defaultHyperClient.clientId, retryPolicy }),
      hyperid: yield* HyperId.make({
        origin: origins.hyperid,
        clientId: defaultHyperIdClient.clientId,
        clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
        redirectUri: callback("hyperid"),
        retryPolicy,
      }),
      hyperline: yield* Hyperline.make({
        origin: origins.hyperline,
        clientId: defaultHyperlineClient.clientId,
        clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
        redirectUri: callback("hyperline"),
        retryPolicy,
      }),
      hyperproof: yield* Hyperproof.make({
        clientId: defaultHyperproofClient.clientId,
        clientSecret: Redacted.make(defaultHyperproofClient.clientSecret),
        authUrl: origins.hyperproofAccounts,
        apiUrl: origins.hyperproofApi,
        retryPolicy,
      }),
      client: yield* HttpClient.HttpClient,
    } satisfies Services
  }).pipe(Effect.provide(transport))

const key = (id: ProviderId) => ({ provider: id, account: "faults" })

/** One provider request that the suite breaks. */
interface Operation {
  readonly name: string
  readonly target: { readonly origin: OriginName; readonly method: "GET" | "POST"; readonly path: string }
  /** Safe to send again after a failure the server may have handled. */
  readonly idempotent: boolean
  /** Decodes a JSON answer (a raw API call returns any body as it is). */
  readonly decodes: boolean
  /** Replaces the stored login when it succeeds. */
  readonly refreshes: boolean
  readonly run: (
    services: Services,
    accounts: Accounts.Service,
    token: TokenSet,
  ) => Effect.Effect<unknown, { readonly code: string }>
}

const refresh =
  (id: ProviderId): Operation["run"] =>
  (_, accounts) =>
    accounts.refresh(key(id))

const rawGet =
  (id: ProviderId, path: string): Operation["run"] =>
  (all, _, token) =>
    ApiClient.make(all.client, { provider: id, retryPolicy }).send(
      HttpClientRequest.get(`${all[id].provider.apiBaseUrl}${path}`),
      {
        accessToken: token.accessToken,
      },
    )

const operations: Record<ProviderId, ReadonlyArray<Operation>> = {
  hyper: [
    {
      name: "introspection",
      target: { origin: "hyper", method: "POST", path: "/oauth/introspect" },
      idempotent: true,
      decodes: true,
      refreshes: false,
      run: (all, _, token) => all.hyper.provider.introspect(token),
    },
    {
      name: "API call",
      target: { origin: "hyper", method: "GET", path: "/v1/me" },
      idempotent: true,
      decodes: false,
      refreshes: false,
      run: rawGet("hyper", "/v1/me"),
    },
  ],
  hyperid: [
    {
      name: "refresh",
      target: { origin: "hyperid", method: "POST", path: `${HyperId.realmPath}/token` },
      idempotent: false,
      decodes: true,
      refreshes: true,
      run: refresh("hyperid"),
    },
    {
      name: "introspection",
      target: { origin: "hyperid", method: "POST", path: `${HyperId.realmPath}/token/introspect` },
      idempotent: true,
      decodes: true,
      refreshes: false,
      run: (all, _, token) => all.hyperid.provider.introspect(token),
    },
  ],
  hyperline: [
    {
      name: "refresh",
      target: { origin: "hyperline", method: "POST", path: "/v1/oauth/tokens" },
      idempotent: false,
      decodes: true,
      refreshes: true,
      run: refresh("hyperline"),
    },
    {
      name: "company list",
      target: { origin: "hyperline", method: "GET", path: "/v1/companies" },
      idempotent: true,
      decodes: true,
      refreshes: false,
      run: (all, _, token) => all.hyperline.listCompanies(token.accessToken),
    },
  ],
  hyperproof: [
    {
      name: "client-credentials token",
      target: { origin: "hyperproofAccounts", method: "POST", path: "/oauth/token" },
      idempotent: true,
      decodes: true,
      refreshes: true,
      run: refresh("hyperproof"),
    },
    {
      name: "API call",
      target: { origin: "hyperproofApi", method: "GET", path: `/v1/controls/${sampleControl.id}` },
      idempotent: true,
      decodes: false,
      refreshes: false,
      run: rawGet("hyperproof", `/v1/controls/${sampleControl.id}`),
    },
  ],
}

/** A real login through the provider's own flow, in real time. */
const login = (provider: Provider): Effect.Effect<TokenSet, unknown> =>
  Effect.gen(function* () {
    const started = yield* provider.startLogin({})
    switch (started._tag) {
      case "Authenticated":
        return started.token
      case "DevicePending":
        emulator.current.hyper.approve(started.userCode)
        return yield* started.complete
      case "RedirectPending": {
        const control = provider.id === "hyperid" ? emulator.current.hyperid : emulator.current.hyperline
        return yield* started.complete(control.authorize(started.authorizationUrl))
      }
    }
  }).pipe(TestServices.provideLive)

/** Services, a memory store holding a fresh login, and that login. */
const setUp = (id: ProviderId, transport: Layer.Layer<HttpClient.HttpClient>) =>
  Effect.gen(function* () {
    const all = yield* services(transport)
    const accounts = yield* Accounts.make(() => Effect.succeed(all[id].provider))
    const token = yield* login(all[id].provider)
    yield* accounts.save(key(id), token)
    return { all, accounts, token }
  }).pipe(Effect.provide(TokenStore.layerMemory))

const secretsOf = (token: TokenSet) => [token.accessToken, token.refreshToken].map((t) => t && Redacted.value(t))

const assertLoginIntact = (id: ProviderId, accounts: Accounts.Service, saved: TokenSet) =>
  Effect.map(accounts.get(key(id)), (stored) => assert.deepStrictEqual(secretsOf(stored), secretsOf(saved)))

/** Runs `effect` in a fiber, moving the TestClock by each retry delay the schedule chose, until it ends. */
const drive = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    delays.length = 0
    const fiber = yield* Effect.fork(effect)
    for (let waited = 0; ; waited++) {
      yield* eventually(Effect.map(Fiber.poll(fiber), (exit) => Option.isSome(exit) || delays.length > waited))
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return { exit: exit.value, delays: [...delays] }
      yield* TestClock.adjust(delays[waited] ?? 0)
    }
  })

const codeOf = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error.code
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause)}`)
}

const htmlPage: Fault = {
  status: 502,
  headers: { "content-type": "text/html" },
  body: "<!doctype html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
}

for (const [transportName, transport] of transports)
  for (const [id, list] of Object.entries(operations) as Array<[ProviderId, ReadonlyArray<Operation>]>) {
    describe(`faults: ${id} over ${transportName}`, () => {
      for (const operation of list) {
        const inject = (fault: Fault) => emulator.current.faults.inject({ ...operation.target, ...fault })
        const sent = () => emulator.current.count(operation.target)
        const attempts = operation.idempotent ? 1 + retries : 1

        it.effect(`${operation.name}: latency past the limit is a timeout at exactly the limit, sent once`, () =>
          Effect.gen(function* () {
            const { all, accounts, token } = yield* setUp(id, transport)
            inject({ latencyMs: 600_000 })
            const before = sent()
            const fiber = yield* Effect.fork(operation.run(all, accounts, token))
            yield* eventually(Effect.sync(() => sent() > before))
            yield* TestClock.adjust(limitMillis - 1)
            assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting 1 ms before the limit")
            yield* TestClock.adjust(1)
            assert.strictEqual(codeOf(yield* Fiber.await(fiber)), "timeout")
            assert.strictEqual(sent() - before, 1)
            yield* assertLoginIntact(id, accounts, token)
          }),
        )

        it.effect(
          `${operation.name}: a reset connection is ${operation.idempotent ? "retried with backoff, then" : "at once (it may have been handled)"} connection_error`,
          () =>
            Effect.gen(function* () {
              const { all, accounts, token } = yield* setUp(id, transport)
              inject({ reset: true })
              const before = sent()
              const { exit, delays } = yield* drive(operation.run(all, accounts, token))
              assert.strictEqual(codeOf(exit), "connection_error")
              assert.strictEqual(sent() - before, attempts)
              assert.strictEqual(delays.length, attempts - 1)
              delays.forEach((delay, retry) => {
                const full = baseDelayMillis * 2 ** retry
                assert.isTrue(delay >= full / 2 && delay <= full, `backoff ${delay} ms before retry ${retry + 1}`)
              })
              yield* assertLoginIntact(id, accounts, token)
            }),
        )

        // A refresh token is a one-time grant; a client-credentials token request redeems nothing.
        if (operation.refreshes && id !== "hyperproof") {
          it.effect(
            `${operation.name}: a 503 is not answered by sending the refresh token again, and the login is kept`,
            () =>
              Effect.gen(function* () {
                const { all, accounts, token } = yield* setUp(id, transport)
                inject({ status: 503, headers: { "retry-after": "7" }, body: { message: "maintenance" }, times: 1 })
                const before = sent()
                const { exit, delays } = yield* drive(operation.run(all, accounts, token))
                // A proxy may answer 503 after the provider rotated the token: a second refresh would be invalid_grant.
                assert.strictEqual(codeOf(exit), "http_error")
                assert.deepStrictEqual(delays, [])
                assert.strictEqual(sent() - before, 1)
                yield* assertLoginIntact(id, accounts, token)
              }),
          )
        } else {
          it.effect(`${operation.name}: a 503 with Retry-After is waited out exactly, then it succeeds`, () =>
            Effect.gen(function* () {
              const { all, accounts, token } = yield* setUp(id, transport)
              inject({ status: 503, headers: { "retry-after": "7" }, body: { message: "maintenance" }, times: 1 })
              const before = sent()
              const { exit, delays } = yield* drive(operation.run(all, accounts, token))
              assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
              assert.deepStrictEqual(delays, [7_000])
              assert.strictEqual(sent() - before, 2)
              if (operation.refreshes) {
                // The token request went through on the second try and its answer replaced the login.
                const stored = yield* accounts.get(key(id))
                assert.notStrictEqual(Redacted.value(stored.accessToken), Redacted.value(token.accessToken))
              } else {
                yield* assertLoginIntact(id, accounts, token)
              }
            }),
          )
        }

        if (operation.decodes) {
          it.effect(`${operation.name}: malformed JSON is invalid_response`, () =>
            Effect.gen(function* () {
              const { all, accounts, token } = yield* setUp(id, transport)
              inject({ malformed: true, times: 1 })
              const { exit } = yield* drive(operation.run(all, accounts, token))
              assert.strictEqual(codeOf(exit), "invalid_response")
              yield* assertLoginIntact(id, accounts, token)
            }),
          )

          it.effect(`${operation.name}: an HTML error page is invalid_response`, () =>
            Effect.gen(function* () {
              const { all, accounts, token } = yield* setUp(id, transport)
              inject(htmlPage)
              const before = sent()
              const { exit } = yield* drive(operation.run(all, accounts, token))
              assert.strictEqual(codeOf(exit), "invalid_response")
              assert.strictEqual(sent() - before, attempts)
              emulator.current.faults.clear()
              inject({ ...htmlPage, status: 200, times: 1 })
              assert.strictEqual(codeOf((yield* drive(operation.run(all, accounts, token))).exit), "invalid_response")
              yield* assertLoginIntact(id, accounts, token)
            }),
          )
        }
      }
    })
  }
