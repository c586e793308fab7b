/**
 * The pipeline against the emulator over real loopback HTTP, with each
 * fault the switchboard can inject.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Redacted, Schedule, Schema } from "effect"
import * as Pipeline from "../src/internal/pipeline.js"
import { TokenResponse } from "../src/internal/wire.js"
import * as NodeHttpTransport from "../src/NodeHttpTransport.js"
import * as Requests from "../src/Requests.js"
import { useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"

const emulator = useEmulator()

const Health = Schema.Struct({ ok: Schema.Boolean, origin: Schema.String })

const fastRetries: Pipeline.RetryPolicy = {
  retries: 2,
  baseDelay: Duration.millis(10),
  maxDelay: Duration.millis(20),
  maxRetryAfter: Duration.seconds(1),
}

const pipeline = (timeout: Duration.DurationInput = "5 seconds") =>
  Effect.map(HttpClient.HttpClient, (client) =>
    Pipeline.make(client, { provider: "hyper" }, { timeout, retryPolicy: fastRetries }),
  )

const health = () => HttpClientRequest.get(`${emulator.current.origins.hyper}/health`)

describe("pipeline over loopback", () => {
  it.live("decodes a real answer", () =>
    Effect.gen(function* () {
      const body = yield* (yield* pipeline()).json(health(), Health, { idempotent: true })
      assert.deepStrictEqual(body, { ok: true, origin: "hyper" })
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("added latency past the limit is a timeout", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", latencyMs: 500 })
      const exit = yield* Effect.exit((yield* pipeline("100 millis")).json(health(), Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "timeout")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a dropped connection is retried, then a connection_error", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", drop: true })
      const before = emulator.current.count({ path: "/health" })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "connection_error")
      assert.strictEqual(emulator.current.count({ path: "/health" }) - before, 3)
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a refused connection is a connection_error", () =>
    Effect.gen(function* () {
      const closed = HttpClientRequest.get("http://127.0.0.1:1/health")
      const exit = yield* Effect.exit((yield* pipeline()).json(closed, Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "connection_error")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a forced 503 once is retried and then succeeds", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", status: 503, times: 1 })
      const body = yield* (yield* pipeline()).json(health(), Health, { idempotent: true })
      assert.isTrue(body.ok)
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live.each([600, 999])("a %i, of no status class RFC 9110 defines, is not retried", (status) =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", status, times: 3 })
      const before = emulator.current.count({ path: "/health" })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      const error = failure(exit)
      assert.strictEqual(error.code, "http_error")
      // Nor is it said to be the provider's problem, as a 5xx is.
      assert.notInclude(error.message, "try again later")
      assert.strictEqual(emulator.current.count({ path: "/health" }) - before, 1)
      emulator.current.faults.clear()
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live.each([
    [
      "a header value HTTP cannot carry",
      (r: HttpClientRequest.HttpClientRequest) => HttpClientRequest.setHeader(r, "x-note", "a\r\nb"),
    ],
    ["a URL that is not http or https", () => HttpClientRequest.get("ftp://127.0.0.1/health")],
  ] as const)("a request that cannot be sent (%s) is invalid_input, tried once, nothing sent", ([, broken]) =>
    Effect.gen(function* () {
      const failures: Array<Pipeline.Failed> = []
      const retryPolicy = Schedule.recurs(3).pipe(
        Schedule.tapInput((failed: Pipeline.Failed) => Effect.sync(() => failures.push(failed))),
      )
      const client = yield* HttpClient.HttpClient
      const pipeline = Pipeline.make(client, { provider: "hyper" }, { retryPolicy })
      const before = emulator.current.count({})
      const exit = yield* Effect.exit(pipeline.json(broken(health()), Health, { idempotent: true }))
      const error = failure(exit)
      assert.strictEqual(error.code, "invalid_input")
      assert.match(error.message, /Nothing was sent/)
      assert.deepStrictEqual(failures, [])
      assert.strictEqual(emulator.current.count({}), before)
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("a malformed body is invalid_response", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", malformed: true })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "invalid_response")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a forced OAuth error body is the protocol error", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({ path: "/health", status: 400, body: { error: "invalid_scope" } })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "invalid_scope")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a forced Bearer challenge is invalid_token", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({
        path: "/health",
        status: 401,
        headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      assert.strictEqual(failure(exit).code, "invalid_token")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("a Bearer challenge after another scheme's is invalid_token", () =>
    Effect.gen(function* () {
      emulator.current.faults.inject({
        path: "/health",
        status: 401,
        headers: { "www-authenticate": 'Basic realm="api", Bearer error="invalid_token", error_description="expired"' },
      })
      const exit = yield* Effect.exit((yield* pipeline()).json(health(), Health, { idempotent: true }))
      const error = failure(exit)
      assert.strictEqual(error.code, "invalid_token")
      if (error._tag === "InvalidToken") assert.strictEqual(error.description, "expired")
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )

  it.live("no error built from a secret-carrying exchange contains the secret", () =>
    Effect.gen(function* () {
      const secret = "cs-Sup3rS3cret-value"
      const token = "at-0123456789abcdef"
      const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
      const echoes = [
        { status: 200, body: `<html>client_secret=${secret} token ${token}</html>` },
        { status: 200, body: `{"access_token": "${token}", "expires_in": "soon"` },
        { status: 500, body: `{"trace": "Bearer ${jwt}", "secret_echo": "${secret}"}` },
        { status: 400, body: { error: "invalid_client", error_description: `bad client ${secret}` } },
        { status: 401, headers: { "www-authenticate": `Bearer error="invalid_token", error_description="${secret}"` } },
      ]
      for (const echo of echoes) {
        emulator.current.faults.inject({ path: "/oauth/token", ...echo, times: 1 })
        const request = Requests.token(`${emulator.current.origins.hyper}/oauth/token`).pipe(
          Requests.grant("client_credentials"),
          Requests.clientAuth(Requests.ClientSecretPost("cid", Redacted.make(secret))),
          Requests.build,
        )
        const exit = yield* Effect.exit(
          (yield* pipeline()).json(request.request, TokenResponse, { ...request, idempotent: false }),
        )
        const error = failure(exit)
        const renderings = [
          error.message,
          String(error),
          JSON.stringify(error),
          error.stack ?? "",
          Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "",
        ]
        for (const text of renderings) {
          assert.notInclude(text, secret)
          assert.notInclude(text, token)
          assert.notInclude(text, jwt)
        }
      }
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )
})
