/**
 * Arbitrary answers to every request each provider service decodes: never
 * a defect, never a hang, always a usable result or a typed error with a
 * stable code, and never a secret of the request in that error, in any
 * encoding. Answers include bodies past the size limit, JSON nested too
 * deep and numbers out of range.
 */
import { HttpClient, type HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  DateTime,
  Duration,
  Effect,
  Exit,
  Fiber,
  FastCheck as fc,
  Predicate,
  Redacted,
  Schema,
  TestClock,
} from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as HyperlineApps from "../src/HyperlineApps.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { TokenResponse } from "../src/internal/wire.js"
import { isOAuthError } from "../src/OAuthError.js"
import * as Token from "../src/Token.js"
import { type Answer, scripted } from "./support/scriptedClient.js"

const clientSecret = "fz-client-secret-7Qp2"
const accessToken = "fz-access-token-9Wm4"
const refreshToken = "fz-refresh-token-3Kd8"
const apiKey = "fz-api-key-5Tn6"
const allSecrets = [clientSecret, accessToken, refreshToken, apiKey]

/** The forms a server was seen echoing a secret in: raw, form-encoded, base64, base64url, Basic credentials. */
const spellings = (secret: string): ReadonlyArray<string> => [
  secret,
  new URLSearchParams({ s: secret }).toString().slice(2),
  Buffer.from(secret).toString("base64"),
  Buffer.from(secret).toString("base64url"),
  Buffer.from(`fz:${secret}`).toString("base64"),
]

/** Text that sometimes carries a secret, in any of its spellings, as a careless server might echo one. */
const text = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string() },
      { weight: 1, arbitrary: fc.constantFrom(...allSecrets.flatMap(spellings)) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""))

/** Numbers no lifetime or interval can be: non-finite (as strings), absurd, negative, fractional. */
const outOfRange = fc.constantFrom("Infinity", "-Infinity", "NaN", "1e400", 1e300, Number.MAX_VALUE, -1, 0, 0.001)

const anyJson = fc.oneof(fc.jsonValue(), text, fc.constant(accessToken))

/** Bodies shaped like token, error, device and introspection answers, with any value in any field. */
const tokenish = fc
  .record(
    {
      access_token: anyJson,
      token_type: fc.oneof(fc.constantFrom("Bearer", "bearer"), anyJson),
      expires_in: fc.oneof(
        fc.integer({ min: -10, max: 10 ** 9 }),
        fc.constantFrom("3600", "soon"),
        outOfRange,
        anyJson,
      ),
      refresh_expires_in: fc.oneof(fc.nat(), outOfRange),
      exp: fc.oneof(fc.nat(), outOfRange),
      refresh_token: anyJson,
      scope: anyJson,
      error: fc.oneof(fc.constantFrom("invalid_grant", "authorization_pending", "slow_down", "server_error"), anyJson),
      error_description: anyJson,
      device_code: anyJson,
      user_code: anyJson,
      verification_uri: anyJson,
      interval: fc.oneof(fc.nat({ max: 10 }), outOfRange, anyJson),
      active: fc.oneof(fc.boolean(), anyJson),
      data: fc.oneof(fc.array(fc.record({ id: anyJson, name: anyJson }), { maxLength: 3 }), anyJson),
      id: anyJson,
    },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body))

const validToken = JSON.stringify({
  access_token: accessToken,
  token_type: "Bearer",
  expires_in: 3600,
  refresh_token: refreshToken,
})

const body = fc.oneof(
  text,
  fc.json(),
  tokenish,
  fc.nat({ max: validToken.length }).map((n) => validToken.slice(0, n)),
  text.map((inside) => `<!doctype html><html><body><h1>Error</h1>${inside}</body></html>`),
  // Past the 256 KiB read limit, and nested past what can be walked safely.
  fc.nat({ max: 4096 }).map((extra) => `{"access_token":"${"a".repeat(256 * 1024 + extra)}","token_type":"Bearer"}`),
  fc.integer({ min: 65, max: 20_000 }).map((depth) => `{"active":true,"x":${"[".repeat(depth)}${"]".repeat(depth)}}`),
)

const answer: fc.Arbitrary<Answer> = fc.record({
  // 204, 205 and 304 cannot carry a body at all.
  status: fc.oneof(
    fc.constantFrom(200, 400, 401, 429, 500, 503),
    fc.integer({ min: 200, max: 599 }).filter((s) => ![204, 205, 304].includes(s)),
  ),
  body,
  headers: fc.record(
    {
      "content-type": fc.constantFrom("application/json", "application/json; charset=utf-8", "text/html", "text/plain"),
      "retry-after": fc.oneof(fc.nat({ max: 120 }).map(String), fc.constant("Wed, 21 Oct 2015 07:28:00 GMT"), text),
      "www-authenticate": fc.oneof(
        fc.constant('Bearer error="invalid_token"'),
        text.map((t) => `Bearer error="${t.replace(/["\r\n]/g, "")}"`),
      ),
    },
    { requiredKeys: ["content-type"] },
  ),
})

const tokenSet = Effect.flatMap(
  Effect.orDie(
    Schema.decodeUnknown(TokenResponse)({ access_token: accessToken, refresh_token: refreshToken, expires_in: 60 }),
  ),
  (response) => Token.fromResponse(response),
)

const callback = (provider: string) => `http://127.0.0.1:8976/callback/${provider}`
const finish = (request: { readonly redirectUri: string; readonly state: string }) =>
  `${request.redirectUri}?code=fz-code&state=${request.state}`

const origin = "http://127.0.0.1:1"
const hyper = Hyper.make({ baseUrl: origin, clientId: "fz" })
const hyperid = HyperId.make({
  origin,
  clientId: "fz",
  clientSecret: Redacted.make(clientSecret),
  redirectUri: callback("hyperid"),
})
const hyperline = Hyperline.make({
  origin,
  clientId: "fz",
  clientSecret: Redacted.make(clientSecret),
  redirectUri: callback("hyperline"),
})
const hyperlineApps = HyperlineApps.make({ origin, apiKey: Redacted.make(apiKey) })
const hyperproof = Hyperproof.make({
  clientId: "fz",
  clientSecret: Redacted.make(clientSecret),
  authUrl: origin,
  apiUrl: origin,
})

/** Every provider operation that reads an answer. */
const operations: Record<string, Effect.Effect<unknown, unknown, HttpClient.HttpClient>> = {
  "hyper device authorization": Effect.flatMap(hyper, (s) => s.initiateDeviceFlow()),
  "hyper device polling": Effect.gen(function* () {
    const now = yield* DateTime.now
    return yield* (yield* hyper).pollForToken({
      deviceCode: Redacted.make(refreshToken),
      userCode: "BCDF-GHJK",
      verificationUri: `${origin}/device`,
      expiresIn: 600,
      expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
      interval: Duration.seconds(5),
    })
  }),
  "hyper introspection": Effect.flatMap(hyper, (s) => s.introspectToken(Redacted.make(accessToken))),
  "hyperid code exchange": Effect.gen(function* () {
    const s = yield* hyperid
    const request = yield* s.authorizationUrl()
    return yield* s.completeLogin(request, finish(request))
  }),
  "hyperid refresh": Effect.flatMap(hyperid, (s) => Effect.flatMap(tokenSet, s.refresh)),
  "hyperid introspection": Effect.flatMap(hyperid, (s) => s.introspect(Redacted.make(accessToken))),
  "hyperid logout": Effect.flatMap(hyperid, (s) => s.logout(Redacted.make(refreshToken))),
  "hyperline code exchange": Effect.gen(function* () {
    const s = yield* hyperline
    const request = yield* s.authorizationUrl()
    return yield* s.completeLogin(request, finish(request))
  }),
  "hyperline refresh": Effect.flatMap(hyperline, (s) => Effect.flatMap(tokenSet, s.refresh)),
  "hyperline revoke": Effect.flatMap(hyperline, (s) => s.revoke(Redacted.make(refreshToken))),
  "hyperline companies": Effect.flatMap(hyperline, (s) => s.listCompanies(Redacted.make(accessToken))),
  "hyperline apps: create": Effect.flatMap(hyperlineApps, (s) => s.create({ name: "fz", callbacks: [] })),
  "hyperline apps: list": Effect.flatMap(hyperlineApps, (s) => s.list),
  "hyperline apps: update": Effect.flatMap(hyperlineApps, (s) => s.update("app_fz", { name: "fz2" })),
  "hyperline apps: delete": Effect.flatMap(hyperlineApps, (s) => s.delete("app_fz")),
  "hyperproof token": Effect.flatMap(hyperproof, (s) => s.fetchToken),
  "hyperproof control": Effect.flatMap(hyperproof, (s) => s.getControl("ctl_fz")),
}

/** The secrets the operation's requests carried (a token is one once an answer issued it). */
const sentSecrets = (requests: ReadonlyArray<HttpClientRequest.HttpClientRequest>): ReadonlyArray<string> => {
  const wire = requests
    .map((request) => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      return `${request.url} ${JSON.stringify(request.headers)} ${body}`
    })
    .join("\n")
  return allSecrets.filter((secret) => wire.includes(secret))
}

/** What an operation yields can be stored, read back and shown: no lifetime past what dates hold, no busy polling. */
const usable = (value: unknown) => {
  if (value instanceof Token.TokenSet) {
    const decoded = Schema.decodeSync(Token.TokenSet)(Schema.encodeSync(Token.TokenSet)(value))
    for (const at of [decoded.expiresAt, decoded.refreshExpiresAt]) if (at !== undefined) DateTime.formatIso(at)
  }
  if (Predicate.hasProperty(value, "interval") && Duration.isDuration(value.interval)) {
    assert.isAtLeast(Duration.toMillis(value.interval), 1000)
  }
  if (Predicate.hasProperty(value, "expiresAt") && DateTime.isDateTime(value.expiresAt))
    DateTime.formatIso(value.expiresAt)
}

const renderings = (error: unknown): ReadonlyArray<string> =>
  error instanceof Error ? [error.message, String(error), JSON.stringify(error), error.stack ?? ""] : [String(error)]

describe("fuzz: arbitrary answers to every decoder", () => {
  for (const [name, operation] of Object.entries(operations)) {
    it.effect.prop(
      name,
      { answer },
      ({ answer }) =>
        Effect.gen(function* () {
          const fake = scripted(answer)
          const fiber = yield* Effect.fork(Effect.provideService(operation, HttpClient.HttpClient, fake.client))
          // Past every backoff, Retry-After, polling interval and device-code expiry.
          yield* TestClock.adjust("2 hours")
          const exit = yield* Fiber.await(fiber)
          if (Exit.isSuccess(exit)) return usable(exit.value)
          assert.strictEqual(exit.cause._tag, "Fail", "a typed failure, not a defect or an interruption")
          if (exit.cause._tag !== "Fail") return
          const error = exit.cause.error
          assert.isTrue(isOAuthError(error), `an OAuthError, got ${String(error)}`)
          const sent = sentSecrets(fake.requests)
          for (const rendering of renderings(error)) {
            for (const secret of sent) for (const spelling of spellings(secret)) assert.notInclude(rendering, spelling)
          }
        }),
      // Long runs (`pnpm fuzz`) take longer than a test usually may.
      { timeout: 600_000 },
    )
  }
})
