/** hyperproof against the emulator over real loopback HTTP. */
import { FetchHttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperproofClient, sampleControl } from "@hyperauth/emulator"
import { Effect, Exit, Layer, Redacted, TestClock } from "effect"
import * as Hyperproof from "../src/Hyperproof.js"
import { useEmulator } from "./support/emulator.js"
import { recordingTracer } from "./support/tracing.js"

const emulator = useEmulator()

const layer = (secret: string = defaultHyperproofClient.clientSecret) =>
  Hyperproof.layer({
    clientId: defaultHyperproofClient.clientId,
    clientSecret: Redacted.make(secret),
    authUrl: emulator.current.origins.hyperproofAccounts,
    apiUrl: emulator.current.origins.hyperproofApi,
  }).pipe(Layer.provide(FetchHttpClient.layer))

const run = <A, E>(effect: Effect.Effect<A, E, Hyperproof.Hyperproof>, secret?: string) =>
  Effect.suspend(() => Effect.provide(effect, layer(secret)))

const tokenRequests = () => emulator.current.count({ origin: "hyperproofAccounts", path: "/oauth/token" })

const failure = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe("Hyperproof over loopback", () => {
  it.live("gets a token and reads a typed control", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        const control = yield* hyperproof.getControl(sampleControl.id)
        assert.instanceOf(control, Hyperproof.Control)
        assert.strictEqual(control.name, sampleControl.name)
        assert.instanceOf(control.owner, Hyperproof.User)
        assert.strictEqual(control.owner?.givenName, "Ada")
        assert.deepStrictEqual(control.createdBy?.roleIds, ["role_admin"])
        assert.strictEqual(control.updatedBy?.email, "ada@example.com")
      }),
    ),
  )

  it.live("reuses the token, and 1,000 concurrent callers cause one token request", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        const before = tokenRequests()
        const tokens = yield* Effect.all(
          Array.from({ length: 1000 }, () => hyperproof.token),
          { concurrency: "unbounded" },
        )
        assert.strictEqual(tokenRequests() - before, 1)
        assert.strictEqual(new Set(tokens.map((t) => Redacted.value(t.accessToken))).size, 1)
        yield* hyperproof.getControl(sampleControl.id)
        yield* hyperproof.getControl(sampleControl.id)
        assert.strictEqual(tokenRequests() - before, 1)
      }),
    ),
  )

  it.effect("fetches a new token 60 s before the cached one expires", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        const first = yield* hyperproof.token
        yield* TestClock.adjust("3539 seconds")
        assert.strictEqual(yield* hyperproof.token, first)
        yield* TestClock.adjust("1 second") // 60 s left
        const second = yield* hyperproof.token
        assert.notStrictEqual(Redacted.value(second.accessToken), Redacted.value(first.accessToken))
      }),
    ),
  )

  it.live("fetchToken replaces the service's own token: `token` then returns it, with no request of its own", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        const first = yield* hyperproof.token
        const before = tokenRequests()
        const fetched = yield* hyperproof.fetchToken
        assert.notStrictEqual(Redacted.value(fetched.accessToken), Redacted.value(first.accessToken))
        assert.strictEqual(Redacted.value((yield* hyperproof.token).accessToken), Redacted.value(fetched.accessToken))
        assert.strictEqual(tokenRequests() - before, 1)
      }),
    ),
  )

  it.effect("fetchToken during a renewal of `token`: both succeed, and the token kept is one of theirs", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        yield* hyperproof.token
        yield* TestClock.adjust("3540 seconds") // 60 s left: the next `token` renews
        const before = tokenRequests()
        const [renewed, fetched] = yield* Effect.all(
          [
            Effect.all(
              Array.from({ length: 50 }, () => hyperproof.token),
              { concurrency: "unbounded" },
            ),
            hyperproof.fetchToken,
          ],
          { concurrency: "unbounded" },
        )
        // The 50 callers shared one renewal, and the fetch was its own.
        assert.strictEqual(tokenRequests() - before, 2)
        const issued = new Set([...renewed, fetched].map((t) => Redacted.value(t.accessToken)))
        assert.isAtMost(issued.size, 2)
        const kept = Redacted.value((yield* hyperproof.token).accessToken)
        assert.isTrue(issued.has(kept))
        assert.strictEqual(tokenRequests() - before, 2)
      }),
    ),
  )

  it.live("its operations open spans under an installed tracer", () =>
    Effect.gen(function* () {
      const started: Array<string> = []
      const recording = yield* recordingTracer(started)
      yield* run(Effect.flatMap(Hyperproof.Hyperproof, (hyperproof) => hyperproof.getControl(sampleControl.id))).pipe(
        Effect.withTracer(recording),
      )
      for (const name of ["Hyperproof.getControl", "Hyperproof.request", "hyperauth.http"]) {
        assert.include(started, name)
      }
    }),
  )

  it.live("a 401 from the API fetches a new token and retries once", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        yield* hyperproof.token
        emulator.current.tokens.revokeAll("hyperproof")
        const before = tokenRequests()
        const control = yield* hyperproof.getControl(sampleControl.id)
        assert.strictEqual(control.id, sampleControl.id)
        assert.strictEqual(tokenRequests() - before, 1)
      }),
    ),
  )

  it.live("a second 401 fails with invalid_token", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        emulator.current.faults.inject({ origin: "hyperproofApi", status: 401, times: 2 })
        const exit = yield* Effect.exit(hyperproof.getControl(sampleControl.id))
        assert.strictEqual(failure(exit).code, "invalid_token")
        assert.strictEqual(emulator.current.count({ origin: "hyperproofApi" }) > 0, true)
      }),
    ),
  )

  it.live("a 403 with an OAuth error body keeps its code: from the token endpoint and from the API", () =>
    run(
      Effect.gen(function* () {
        const hyperproof = yield* Hyperproof.Hyperproof
        emulator.current.faults.inject({
          origin: "hyperproofAccounts",
          path: "/oauth/token",
          status: 403,
          body: { error: "access_denied", error_description: "client disabled" },
          times: 1,
        })
        assert.strictEqual(failure(yield* Effect.exit(hyperproof.fetchToken)).code, "access_denied")
        emulator.current.faults.inject({
          origin: "hyperproofApi",
          status: 403,
          body: { error: "insufficient_scope", error_description: "needs controls:read" },
          times: 1,
        })
        const error = failure(yield* Effect.exit(hyperproof.getControl(sampleControl.id)))
        assert.strictEqual(error._tag, "OAuthProtocolError")
        if (error._tag === "OAuthProtocolError") {
          assert.strictEqual(error.error, "insufficient_scope")
          assert.strictEqual(error.status, 403)
          assert.include(error.message, "needs controls:read")
        }
      }),
    ),
  )

  it.live("a control with a field of the wrong type fails as invalid_response", () =>
    run(
      Effect.gen(function* () {
        emulator.current.hyperproof.putControl({ ...sampleControl, id: "ctl_bad", name: 42 })
        const exit = yield* Effect.exit((yield* Hyperproof.Hyperproof).getControl("ctl_bad"))
        const error = failure(exit)
        assert.strictEqual(error.code, "invalid_response")
        if (error._tag === "InvalidResponse") assert.include(error.reason, "name")
      }),
    ),
  )

  it.live("an unknown control is an http_error 404", () =>
    run(
      Effect.gen(function* () {
        const exit = yield* Effect.exit((yield* Hyperproof.Hyperproof).getControl("nope"))
        const error = failure(exit)
        assert.strictEqual(error.code, "http_error")
        if (error._tag === "HttpError") assert.strictEqual(error.status, 404)
      }),
    ),
  )

  it.live("a wrong client secret is invalid_client, and the secret is in no message", () =>
    run(
      Effect.gen(function* () {
        const exit = yield* Effect.exit((yield* Hyperproof.Hyperproof).token)
        const error = failure(exit)
        assert.strictEqual(error.code, "invalid_client")
        assert.notInclude(JSON.stringify(error) + error.message, "wrong-secret-value")
      }),
      "wrong-secret-value",
    ),
  )

  it.live("the generic request is authenticated against the API origin", () =>
    run(
      Effect.gen(function* () {
        const exchange = yield* (yield* Hyperproof.Hyperproof).request(HttpClientRequest.get("/v1/programs"))
        assert.strictEqual(exchange.status, 404)
      }),
    ),
  )
})
