import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Redacted, Schedule, Schema, TestClock } from "effect"
import * as ApiClient from "../src/ApiClient.js"
import * as Pipeline from "../src/internal/pipeline.js"
import { TokenResponse } from "../src/internal/wire.js"
import type * as Limits from "../src/Limits.js"
import * as Requests from "../src/Requests.js"
import { type Answer, jsonAnswer, scripted } from "./support/scriptedClient.js"
import { recordingTracer } from "./support/tracing.js"

const url = "https://auth.example/oauth/token"
const request = HttpClientRequest.post(url)
const safe = { idempotent: true } as const
const once = { idempotent: false } as const
const tokenBody = { access_token: "at-123", token_type: "bearer", expires_in: 3600 }

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) assert.fail("expected a failure")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) assert.fail(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

describe("pipeline: decoding and error mapping", () => {
  const decodeOnce = (answer: Answer) => {
    const { client } = scripted(answer)
    return Pipeline.make(client, { provider: "test" }).json(request, TokenResponse, once).pipe(Effect.exit)
  }

  it.effect("decodes a 2xx token answer", () =>
    Effect.gen(function* () {
      const exit = yield* decodeOnce(jsonAnswer(200, { ...tokenBody, expires_in: "3600" }))
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.expires_in, 3600)
    }),
  )

  it.effect("401 with a Bearer invalid_token challenge is InvalidToken", () =>
    Effect.gen(function* () {
      const error = failureOf(
        yield* decodeOnce({
          status: 401,
          body: "",
          headers: { "www-authenticate": 'Bearer realm="x", error="invalid_token", error_description="expired"' },
        }),
      )
      assert.strictEqual(error._tag, "InvalidToken")
      assert.strictEqual(error.code, "invalid_token")
      if (error._tag === "InvalidToken") assert.strictEqual(error.description, "expired")
    }),
  )

  it.effect("an RFC 6749 §5.2 error body is an OAuthProtocolError with its fields", () =>
    Effect.gen(function* () {
      const error = failureOf(
        yield* decodeOnce(
          jsonAnswer(400, { error: "invalid_grant", error_description: "code used", error_uri: "https://x/e" }),
        ),
      )
      assert.strictEqual(error._tag, "OAuthProtocolError")
      if (error._tag !== "OAuthProtocolError") return
      assert.strictEqual(error.code, "invalid_grant")
      assert.strictEqual(error.errorDescription, "code used")
      assert.strictEqual(error.errorUri, "https://x/e")
      assert.strictEqual(error.status, 400)
    }),
  )

  it.effect("an error body sent with 200 is still the protocol error", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce(jsonAnswer(200, { error: "authorization_pending" })))
      assert.strictEqual(error._tag, "OAuthProtocolError")
      if (error._tag === "OAuthProtocolError") assert.strictEqual(error.error, "authorization_pending")
    }),
  )

  it.effect("unknown protocol errors fold into a stable code, keeping the provider's word", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce(jsonAnswer(400, { error: "unsupported_grant_type" })))
      assert.strictEqual(error.code, "invalid_request")
      if (error._tag === "OAuthProtocolError") assert.strictEqual(error.error, "unsupported_grant_type")
    }),
  )

  it.effect("an HTML error page with 200 is InvalidResponse", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce({ status: 200, body: "<html><body>Oops</body></html>" }))
      assert.strictEqual(error._tag, "InvalidResponse")
      if (error._tag !== "InvalidResponse") return
      assert.strictEqual(error.reason, "an HTML page, not JSON")
      assert.include(error.excerpt, "Oops")
    }),
  )

  it.effect("an error page where JSON was promised is InvalidResponse with its status, whatever the status", () =>
    Effect.gen(function* () {
      for (const status of [400, 401, 404, 500, 502]) {
        const error = failureOf(yield* decodeOnce({ status, body: "<!doctype html><h1>Bad Gateway</h1>" }))
        assert.strictEqual(error._tag, "InvalidResponse")
        if (error._tag !== "InvalidResponse") return
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.reason, "an HTML page, not JSON")
      }
      const text = failureOf(yield* decodeOnce({ status: 504, body: "upstream connect error" }))
      assert.strictEqual(text.code, "invalid_response")
    }),
  )

  it.effect("an empty non-2xx answer is HttpError: nothing in it was unreadable", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce({ status: 500, body: "" }))
      assert.strictEqual(error._tag, "HttpError")
    }),
  )

  it.effect("truncated JSON is InvalidResponse", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce({ status: 200, body: '{"access_token": "at-1' }))
      assert.strictEqual(error.code, "invalid_response")
    }),
  )

  it.effect("a field of the wrong type is InvalidResponse naming the field, not its value", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce(jsonAnswer(200, { access_token: 12345678, expires_in: 1 })))
      assert.strictEqual(error._tag, "InvalidResponse")
      if (error._tag !== "InvalidResponse") return
      assert.include(error.reason, "access_token")
      assert.notInclude(error.reason, "12345678")
    }),
  )

  it.effect("other non-2xx answers are HttpError with the status", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce({ status: 404, body: '{"message":"no such thing"}' }))
      assert.strictEqual(error._tag, "HttpError")
      if (error._tag === "HttpError") assert.strictEqual(error.status, 404)
    }),
  )

  it.effect("a 404 whose body says {error: 'Not found'} is not mistaken for an OAuth error", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce(jsonAnswer(404, { error: "Not found" })))
      assert.strictEqual(error._tag, "HttpError")
    }),
  )

  it.effect("a refused connection is ConnectionError", () =>
    Effect.gen(function* () {
      const error = failureOf(yield* decodeOnce("refused"))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.strictEqual(error.code, "connection_error")
    }),
  )

  it.effect("asks for JSON and names itself, unless the caller set Accept or User-Agent", () =>
    Effect.gen(function* () {
      const fake = scripted(jsonAnswer(200, tokenBody))
      const pipeline = Pipeline.make(fake.client, { provider: "test" })
      yield* pipeline.json(request, TokenResponse, once)
      assert.strictEqual(fake.requests[0]?.headers.accept, "application/json")
      assert.match(fake.requests[0]?.headers["user-agent"] ?? "", /^hyperauth\//)
      yield* Effect.exit(pipeline.json(HttpClientRequest.setHeader(request, "accept", "text/csv"), TokenResponse, once))
      assert.strictEqual(fake.requests[1]?.headers.accept, "text/csv")
    }),
  )

  it.effect(
    "an API call adds the Bearer token to the same defaults, and the caller's Accept or User-Agent still win",
    () =>
      Effect.gen(function* () {
        const fake = scripted(jsonAnswer(200, tokenBody), jsonAnswer(200, tokenBody))
        const api = ApiClient.make(fake.client, { provider: "test" })
        const accessToken = Redacted.make("at-api-1")
        yield* api.send(request, { accessToken })
        assert.strictEqual(fake.requests[0]?.headers.authorization, "Bearer at-api-1")
        assert.strictEqual(fake.requests[0]?.headers.accept, "application/json")
        assert.match(fake.requests[0]?.headers["user-agent"] ?? "", /^hyperauth\//)
        const own = request.pipe(HttpClientRequest.setHeaders({ accept: "text/csv", "user-agent": "mine/1" }))
        yield* api.send(own, { accessToken })
        assert.strictEqual(fake.requests[1]?.headers.authorization, "Bearer at-api-1")
        assert.strictEqual(fake.requests[1]?.headers.accept, "text/csv")
        assert.strictEqual(fake.requests[1]?.headers["user-agent"], "mine/1")
      }),
  )

  it.effect(
    "resolves a path against the base URL, leaves an absolute URL alone, and names the absolute URL in errors",
    () =>
      Effect.gen(function* () {
        const fake = scripted({ status: 500, body: "" }, jsonAnswer(200, tokenBody))
        const pipeline = Pipeline.make(
          fake.client,
          { provider: "test", baseUrl: "https://auth.example" },
          { retryPolicy: { ...Pipeline.defaultRetryPolicy, retries: 0 } },
        )
        const error = failureOf(
          yield* Effect.exit(pipeline.json(HttpClientRequest.post("/oauth/token?x=1"), TokenResponse, safe)),
        )
        assert.strictEqual(fake.requests[0]?.url, "https://auth.example/oauth/token?x=1")
        assert.strictEqual(error._tag, "HttpError")
        if (error._tag === "HttpError") assert.strictEqual(error.url, "https://auth.example/oauth/token")
        yield* pipeline.json(HttpClientRequest.post("https://other.example/token"), TokenResponse, safe)
        assert.strictEqual(fake.requests[1]?.url, "https://other.example/token")
      }),
  )

  it.effect("a timeout names the absolute URL too", () =>
    Effect.gen(function* () {
      const fake = scripted("hang")
      const pipeline = Pipeline.make(
        fake.client,
        { provider: "test", baseUrl: "https://auth.example" },
        { timeout: "1 second" },
      )
      const fiber = yield* Effect.fork(pipeline.json(HttpClientRequest.post("/oauth/token"), TokenResponse, safe))
      yield* TestClock.adjust("1 second")
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "Timeout")
      if (error._tag === "Timeout") assert.strictEqual(error.url, "https://auth.example/oauth/token")
    }),
  )

  it.effect("ok() accepts an empty 200 (RFC 7009 revocation)", () =>
    Effect.gen(function* () {
      const { client } = scripted({ status: 200, body: "" })
      yield* Pipeline.make(client, { provider: "test" }).ok(request, safe)
    }),
  )
})

describe("pipeline: secrets", () => {
  it.effect("an error decoded later from an exchange leaves out what its request carried, even short values", () =>
    Effect.gen(function* () {
      const token = Redacted.make("tok-1")
      const { client } = scripted(
        jsonAnswer(200, { note: "tok-1" }),
        jsonAnswer(400, { error: "invalid_request", error_description: "bad tok-1" }),
      )
      const pipeline = Pipeline.make(client, { provider: "test" })
      const first = yield* pipeline.execute(request, { ...once, secrets: [token] })
      const second = yield* pipeline.execute(request, { ...once, secrets: [token] })
      for (const error of [
        failureOf(yield* Effect.exit(pipeline.decode(first, TokenResponse))),
        pipeline.failure(second),
      ]) {
        assert.notInclude(error.message, "tok-1")
        assert.include(error.message, "[redacted]")
      }
    }),
  )
  it.effect("an answer that echoes Basic client credentials, raw or base64, has neither in its error", () =>
    Effect.gen(function* () {
      const built = Requests.token(url).pipe(
        Requests.grant("client_credentials"),
        Requests.clientAuth(Requests.ClientSecretBasic("c", Redacted.make("pw"))),
        Requests.build,
      )
      const encoded = (built.request.headers.authorization ?? "").slice("Basic ".length)
      const { client } = scripted(
        jsonAnswer(400, { error: "invalid_client", error_description: `got Basic ${encoded}` }),
        { status: 502, body: `<html>pw ${encoded}</html>` },
      )
      const pipeline = Pipeline.make(
        client,
        { provider: "test" },
        { retryPolicy: { ...Pipeline.defaultRetryPolicy, retries: 0 } },
      )
      for (let i = 0; i < 2; i++) {
        const error = failureOf(yield* Effect.exit(pipeline.json(built.request, TokenResponse, built)))
        for (const text of [error.message, JSON.stringify(error)]) {
          assert.notInclude(text, encoded)
          assert.notInclude(text, " pw ")
        }
      }
    }),
  )
})

describe("pipeline: timeout", () => {
  it.effect("a request that takes longer than 30 s fails with Timeout at 30 s", () =>
    Effect.gen(function* () {
      const { client } = scripted("hang")
      const fiber = yield* Effect.fork(Pipeline.make(client, { provider: "test" }).json(request, TokenResponse, safe))
      yield* TestClock.adjust("29999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "Timeout")
      assert.strictEqual(error.code, "timeout")
    }),
  )

  it.effect("the limit is configurable", () =>
    Effect.gen(function* () {
      const { client } = scripted("hang")
      const pipeline = Pipeline.make(client, { provider: "test" }, { timeout: "2 seconds" })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(failureOf(yield* Fiber.await(fiber))._tag, "Timeout")
    }),
  )

  it.effect("a timeout is not retried (it would multiply the documented limit)", () =>
    Effect.gen(function* () {
      const fake = scripted("hang")
      const fiber = yield* Effect.fork(
        Pipeline.make(fake.client, { provider: "test" }).json(request, TokenResponse, safe),
      )
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.await(fiber)
      assert.strictEqual(fake.requests.length, 1)
    }),
  )
})

describe("pipeline: retries", () => {
  const policy: Pipeline.RetryPolicy = {
    retries: 3,
    baseDelay: Duration.seconds(1),
    maxDelay: Duration.seconds(3),
    maxRetryAfter: Duration.seconds(60),
  }

  it.effect("retries 503 with exponential backoff and jitter, then succeeds", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 503 }, { status: 503 }, jsonAnswer(200, tokenBody))
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      // Delay n is base * 2^n scaled by a jitter in [0.5, 1]: the first in
      // [0.5 s, 1 s], the second in [1 s, 2 s].
      yield* TestClock.adjust("499 millis")
      assert.strictEqual(fake.requests.length, 1)
      yield* TestClock.adjust("501 millis") // t = 1 s
      assert.strictEqual(fake.requests.length, 2)
      yield* TestClock.adjust("499 millis") // t = 1.499 s < 0.5 s + 1 s
      assert.strictEqual(fake.requests.length, 2)
      yield* TestClock.adjust("1501 millis") // t = 3 s = 1 s + 2 s
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(fake.requests.length, 3)
    }),
  )

  it.effect("gives up after the policy's retries with the last answer's error", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 502, body: '{"message":"bad gateway"}' })
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("1 minute")
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "HttpError")
      if (error._tag === "HttpError") assert.strictEqual(error.status, 502)
      assert.strictEqual(fake.requests.length, 4)
    }),
  )

  it.effect("never waits longer than maxDelay between attempts", () =>
    Effect.gen(function* () {
      const fake = scripted("refused")
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: { ...policy, retries: 6 } })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      // Capped at 3 s the six delays add up to at most 1 + 2 + 3 + 3 + 3 + 3 = 15 s;
      // uncapped they would take at least 0.5 + 1 + 2 + 4 + 8 + 16 = 31.5 s.
      yield* TestClock.adjust("15 seconds")
      assert.isNotNull(fiber.unsafePoll())
      assert.strictEqual(failureOf(yield* Fiber.await(fiber))._tag, "ConnectionError")
      assert.strictEqual(fake.requests.length, 7)
    }),
  )

  it.effect("retries 408 and 429, honouring Retry-After in seconds", () =>
    Effect.gen(function* () {
      const fake = scripted(
        { status: 429, headers: { "retry-after": "7" } },
        { status: 408 },
        jsonAnswer(200, tokenBody),
      )
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(fake.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(fake.requests.length, 2)
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
    }),
  )

  it.effect("honours Retry-After as an HTTP date", () =>
    Effect.gen(function* () {
      // TestClock starts at the epoch.
      const fake = scripted(
        { status: 503, headers: { "retry-after": new Date(4000).toUTCString() } },
        jsonAnswer(200, tokenBody),
      )
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("3999 millis")
      assert.strictEqual(fake.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
    }),
  )

  it.effect("a Retry-After beyond the cap fails at once instead of waiting", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 503, headers: { "retry-after": "3600" } })
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      const error = failureOf(yield* Effect.exit(pipeline.json(request, TokenResponse, safe)))
      assert.strictEqual(error._tag, "HttpError")
      assert.strictEqual(fake.requests.length, 1)
    }),
  )

  it.effect("waits at most maxTotalDelay in all: a retry that would end past it is not made", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 503, headers: { "retry-after": "6" } })
      const pipeline = Pipeline.make(
        fake.client,
        { provider: "test" },
        { retryPolicy: { ...policy, maxTotalDelay: Duration.seconds(10) } },
      )
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("6 seconds")
      assert.strictEqual(fake.requests.length, 2)
      // A second wait of 6 s would end at 12 s, past the 10 s.
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "HttpError")
      assert.strictEqual(fake.requests.length, 2)
    }),
  )

  it.effect("by default the retries wait 30 s in all at most, within an MCP client's 60 s", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 429, headers: { "retry-after": "20" } })
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, {})
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("20 seconds")
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "HttpError")
      assert.strictEqual(fake.requests.length, 2)
    }),
  )

  it.effect("counts the 30 s from the first attempt's start: slow failures still end within an MCP client's 60 s", () =>
    Effect.gen(function* () {
      // Each attempt fails after 29 s, within its 30 s limit (a 503, or a body cut off just before the limit).
      let sent = 0
      const slow = HttpClient.make((request) =>
        Effect.sync(() => sent++).pipe(
          Effect.zipRight(Effect.sleep("29 seconds")),
          Effect.as(HttpClientResponse.fromWeb(request, new Response("", { status: 503 }))),
        ),
      )
      const pipeline = Pipeline.make(slow, { provider: "test" }, {})
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("60 seconds")
      // The retry began 29.25 s in, within 30 s of the start; a third would begin at 58.5 s.
      const exit = yield* Fiber.poll(fiber)
      assert.isTrue(Option.isSome(exit), "answered within 60 s")
      assert.strictEqual(sent, 2)
    }),
  )

  it.effect("does not retry 4xx answers", () =>
    Effect.gen(function* () {
      const fake = scripted(jsonAnswer(400, { error: "invalid_request" }))
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
      yield* Effect.exit(pipeline.json(request, TokenResponse, safe))
      assert.strictEqual(fake.requests.length, 1)
    }),
  )

  const codeExchange = Requests.token(url).pipe(
    Requests.grant("authorization_code", { code: Redacted.make("code-1"), redirect_uri: "http://127.0.0.1/cb" }),
    Requests.clientAuth(Requests.ClientSecretPost("c", Redacted.make("s"))),
    Requests.build,
  )

  it.effect(
    "never sends a request that redeems a one-time code again, whatever the answer: even a 503 or 429 may come from a proxy after the provider redeemed it",
    () =>
      Effect.gen(function* () {
        assert.isFalse(codeExchange.idempotent)
        const answers: ReadonlyArray<Answer> = [
          { status: 502 },
          { status: 500 },
          "refused",
          { status: 503, headers: { "retry-after": "2" } },
          { status: 429, headers: { "retry-after": "2" } },
        ]
        for (const first of answers) {
          const fake = scripted(first, jsonAnswer(200, tokenBody))
          const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
          const fiber = yield* Effect.fork(pipeline.json(codeExchange.request, TokenResponse, codeExchange))
          yield* TestClock.adjust("1 minute")
          assert.isTrue(Exit.isFailure(yield* Fiber.await(fiber)))
          assert.strictEqual(fake.requests.length, 1)
        }
      }),
  )

  it.effect(
    "sends an API call that may not run twice again after 503 and 429, which say the server did not handle it, honouring Retry-After",
    () =>
      Effect.gen(function* () {
        const fake = scripted(
          { status: 503, headers: { "retry-after": "2" } },
          { status: 429, headers: { "retry-after": "3" } },
          jsonAnswer(200, tokenBody),
        )
        const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy: policy })
        const post = HttpClientRequest.post(url)
        const fiber = yield* Effect.fork(pipeline.execute(post, { idempotent: false, retryUnhandled: true }))
        yield* TestClock.adjust("1999 millis")
        assert.strictEqual(fake.requests.length, 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(fake.requests.length, 2)
        yield* TestClock.adjust("3 seconds")
        assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
        assert.strictEqual(fake.requests.length, 3)
      }),
  )

  it.effect("marks refresh as not repeatable and client credentials as repeatable", () =>
    Effect.sync(() => {
      const refresh = Requests.token(url).pipe(
        Requests.grant("refresh_token", { refresh_token: Redacted.make("r") }),
        Requests.clientAuth(Requests.None("c")),
        Requests.json,
        Requests.build,
      )
      assert.isFalse(refresh.idempotent)
      const grant = (type: Requests.GrantType) => Requests.build(Requests.token(url).pipe(Requests.grant(type)))
      assert.isTrue(grant("client_credentials").idempotent)
      assert.isTrue(grant("urn:ietf:params:oauth:grant-type:device_code").idempotent)
      assert.isFalse(grant("authorization_code").idempotent)
    }),
  )
})

describe("pipeline: an injected retry schedule", () => {
  const codeExchange = Requests.token(url).pipe(
    Requests.grant("authorization_code", { code: Redacted.make("code-1") }),
    Requests.build,
  )

  it.effect("decides when and how often what may be retried is tried again", () =>
    Effect.gen(function* () {
      const fake = scripted({ status: 503 }, { status: 503 }, jsonAnswer(200, tokenBody))
      const retryPolicy = Schedule.spaced("5 seconds").pipe(Schedule.intersect(Schedule.recurs(1)))
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(fake.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(fake.requests.length, 2)
      yield* TestClock.adjust("1 minute")
      // One retry only: the second 503 stands.
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "HttpError")
      assert.strictEqual(fake.requests.length, 2)
    }),
  )

  it.effect("cannot make the pipeline repeat what must not be repeated, nor a timed-out attempt", () =>
    Effect.gen(function* () {
      const retryPolicy = Schedule.forever
      for (const first of [{ status: 502 }, "refused"] as const) {
        const fake = scripted(first, jsonAnswer(200, tokenBody))
        const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy })
        yield* Effect.exit(pipeline.json(codeExchange.request, TokenResponse, codeExchange))
        assert.strictEqual(fake.requests.length, 1)
      }
      const hangs = scripted("hang", jsonAnswer(200, tokenBody))
      const pipeline = Pipeline.make(hangs.client, { provider: "test" }, { retryPolicy, timeout: "1 second" })
      const fiber = yield* Effect.fork(pipeline.json(request, TokenResponse, safe))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(failureOf(yield* Fiber.await(fiber))._tag, "Timeout")
      assert.strictEqual(hangs.requests.length, 1)
    }),
  )

  it.effect("is fed each failure with the wait the server asked for", () =>
    Effect.gen(function* () {
      const seen: Array<Option.Option<Duration.Duration>> = []
      const fake = scripted({ status: 429, headers: { "retry-after": "7" } }, "refused", jsonAnswer(200, tokenBody))
      const retryPolicy = Schedule.recurs(5).pipe(
        Schedule.tapInput((failed: Pipeline.Failed) => Effect.sync(() => seen.push(failed.retryAfter))),
      )
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy })
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(pipeline.json(request, TokenResponse, safe))))
      assert.deepStrictEqual(seen, [Option.some(Duration.seconds(7)), Option.none()])
    }),
  )
})

describe("pipeline: a user's retry schedule", () => {
  it.effect("is fed the attempt's status, headers and timing, never the request's secrets nor the body", () =>
    Effect.gen(function* () {
      const seen: Array<Limits.Failed> = []
      const fake = scripted(
        { status: 503, headers: { "retry-after": "1" }, body: "echo: shh" },
        "refused",
        jsonAnswer(200, tokenBody),
      )
      const retryPolicy: Limits.RetryPolicy = Schedule.recurs(5).pipe(
        Schedule.tapInput((failed: Limits.Failed) => Effect.sync(() => seen.push(failed))),
      )
      const pipeline = Pipeline.make(fake.client, { provider: "test" }, { retryPolicy })
      const secrets = [Redacted.make("shh")]
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(pipeline.json(request, TokenResponse, { ...safe, secrets }))))
      assert.strictEqual(seen.length, 2)
      const [answer, refused] = seen
      if (answer === undefined || refused === undefined) return assert.fail("expected two failures")
      assert.deepStrictEqual(Object.keys(answer.failure).sort(), ["headers", "status", "url"])
      assert.isTrue("status" in answer.failure && answer.failure.status === 503)
      assert.deepStrictEqual(answer.retryAfter, Option.some(Duration.seconds(1)))
      assert.isDefined(answer.elapsed)
      assert.isTrue("_tag" in refused.failure && refused.failure._tag === "ConnectionError")
    }),
  )
})

describe("pipeline: tracing", () => {
  /** A client that answers 200 and records the span it was called in, if any. */
  const spanRecording = (spans: Array<string>): HttpClient.HttpClient =>
    HttpClient.makeWith<never, never, never, never>(
      (prepared) =>
        Effect.flatMap(prepared, (request) =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => {
            spans.push(Option.match(span, { onNone: () => "(none)", onSome: (s) => s.name }))
            return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(tokenBody), { status: 200 }))
          }),
        ),
      Effect.succeed,
    )

  it.effect("makes no span under the native tracer, which keeps none", () =>
    Effect.gen(function* () {
      const spans: Array<string> = []
      yield* Pipeline.make(spanRecording(spans), { provider: "test" }).json(request, TokenResponse, safe)
      assert.deepStrictEqual(spans, ["(none)"])
    }),
  )

  it.effect("makes a hyperauth.http span under an installed tracer", () =>
    Effect.gen(function* () {
      const started: Array<string> = []
      const recording = yield* recordingTracer(started)
      const spans: Array<string> = []
      yield* Pipeline.make(spanRecording(spans), { provider: "test" })
        .json(request, TokenResponse, safe)
        .pipe(Effect.withTracer(recording))
      assert.deepStrictEqual(started, ["hyperauth.http"])
      assert.deepStrictEqual(spans, ["hyperauth.http"])
    }),
  )
})

describe("request builders", () => {
  it.effect("form bodies use client_secret_post and omit absent parameters", () =>
    Effect.sync(() => {
      const built = Requests.token(url).pipe(
        Requests.grant("client_credentials", { scope: undefined }),
        Requests.clientAuth(Requests.ClientSecretPost("cid", Redacted.make("shh"))),
        Requests.build,
      )
      assert.strictEqual(built.request.body._tag, "Uint8Array")
      const body = built.request.body._tag === "Uint8Array" ? new TextDecoder().decode(built.request.body.body) : ""
      assert.strictEqual(body, "grant_type=client_credentials&client_id=cid&client_secret=shh")
      assert.strictEqual(built.request.body.contentType, "application/x-www-form-urlencoded")
      assert.deepStrictEqual(built.secrets.map(Redacted.value), ["shh"])
    }),
  )

  it.effect("JSON bodies carry the same fields as JSON", () =>
    Effect.gen(function* () {
      const built = Requests.token(url).pipe(
        Requests.grant("refresh_token", { refresh_token: Redacted.make("rt") }),
        Requests.clientAuth(Requests.ClientSecretPost("cid", Redacted.make("shh"))),
        Requests.json,
        Requests.build,
      )
      assert.strictEqual(built.request.body.contentType, "application/json")
      const body = built.request.body._tag === "Uint8Array" ? new TextDecoder().decode(built.request.body.body) : ""
      const decoded = yield* Schema.decodeUnknown(
        Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.String })),
      )(body)
      assert.deepStrictEqual(decoded, {
        grant_type: "refresh_token",
        refresh_token: "rt",
        client_id: "cid",
        client_secret: "shh",
      })
    }),
  )
})
