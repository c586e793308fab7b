/**
 * What an answer stands for, read straight from the exchange: challenges
 * (RFC 7235 §4.1, RFC 6750 §3) and OAuth error bodies (RFC 6749 §5.2).
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Classify from "../src/internal/classify.js"

const exchange = (status: number, headers: Record<string, string>, body = ""): Classify.Exchange => ({
  url: "http://127.0.0.1/v1/things",
  status,
  headers,
  body,
  truncated: false,
  secrets: [],
})

const challenged = (header: string) => Classify.failure("test", exchange(401, { "www-authenticate": header }))

describe("a Bearer challenge in WWW-Authenticate", () => {
  for (const header of [
    'Bearer error="invalid_token"',
    'Bearer realm="api", error="invalid_token", error_description="expired"',
    'Basic realm="api", Bearer error="invalid_token", error_description="expired"',
    'Basic realm="a, Bearer error=\\"no\\"", Bearer error=invalid_token, error_description="expired"',
    'Newauth realm="apps", type=1, title="Login to \\"apps\\"", bearer realm="api", ERROR="invalid_token", error_description="expired"',
    'Negotiate a87421000492aa874209af8bc028==, Bearer error="invalid_token", error_description="expired"',
  ]) {
    it(`is found in ${header}`, () => {
      const error = challenged(header)
      assert.strictEqual(error._tag, "InvalidToken")
      if (error._tag === "InvalidToken" && header.includes("expired")) assert.strictEqual(error.description, "expired")
    })
  }

  for (const header of [
    // The error belongs to the other scheme's challenge.
    'Bearer realm="api", Basic error="invalid_token"',
    'Basic error="invalid_token", Bearer realm="api"',
    // Quoted text, not a challenge.
    'Basic realm="Bearer error=invalid_token"',
    'Basic realm="x, Bearer error=\\"invalid_token\\""',
    // A scheme whose name merely starts with Bearer.
    'BearerX error="invalid_token"',
  ]) {
    it(`is not found in ${header}`, () => {
      assert.strictEqual(challenged(header)._tag, "HttpError")
    })
  }

  it("is the error of its own challenge, not one before it", () => {
    const error = challenged('Basic error="invalid_request", Bearer error="invalid_token"')
    assert.strictEqual(error._tag, "InvalidToken")
  })
})

describe("an OAuth error body", () => {
  const answered = (status: number, body: object) =>
    Classify.failure("test", exchange(status, {}, JSON.stringify(body)))

  it("at 403 keeps its code (RFC 6750 §3.1 insufficient_scope, or a server's access_denied)", () => {
    for (const error of ["access_denied", "insufficient_scope"]) {
      const failure = answered(403, { error, error_description: "no" })
      assert.strictEqual(failure._tag, "OAuthProtocolError")
      if (failure._tag !== "OAuthProtocolError") return
      assert.strictEqual(failure.error, error)
      assert.strictEqual(failure.status, 403)
    }
    assert.strictEqual(answered(403, { error: "access_denied" }).code, "access_denied")
    assert.strictEqual(answered(403, { error: "invalid_token" }).code, "invalid_token")
  })

  it("keeps its code when its description or URI is not text: they are dropped, the code is what decides", () => {
    // A device poll's slow_down with a numeric description is still slow_down, not an http_error that ends the poll.
    for (const extra of [{ error_description: 123 }, { error_uri: ["x"] }, { error_description: { text: "no" } }]) {
      const failure = answered(400, { error: "slow_down", ...extra })
      assert.strictEqual(failure._tag, "OAuthProtocolError", JSON.stringify(extra))
      if (failure._tag !== "OAuthProtocolError") return
      assert.strictEqual(failure.error, "slow_down")
      assert.isUndefined(failure.errorDescription)
      assert.isUndefined(failure.errorUri)
    }
  })

  it("at another status is an API's own error, not an OAuth one", () => {
    for (const status of [404, 409, 422, 429, 500, 503]) {
      assert.strictEqual(answered(status, { error: "invalid_request" })._tag, "HttpError", String(status))
    }
  })
})

describe("the error code of an OAuth error body (RFC 6749 §5.2: 1*NQSCHAR)", () => {
  const answered = (error: string) =>
    Classify.failure("test", exchange(400, {}, JSON.stringify({ error, error_description: "why" })))

  it("may be any printable ASCII but the double quote and the backslash, spaces included", () => {
    for (const error of ["invalid_request", "urn:example:error", "Invalid request!", "a[1]{x}~ <y>", " "]) {
      const failure = answered(error)
      assert.strictEqual(failure._tag, "OAuthProtocolError", error)
      if (failure._tag === "OAuthProtocolError") assert.strictEqual(failure.error, error)
    }
  })

  it("with a double quote, a backslash, a control character or beyond ASCII is no OAuth error", () => {
    for (const error of ["", 'say "no"', "a\\b", "line\nbreak", "tab\there", "\u0000", "\u007f", "ungültig"]) {
      assert.strictEqual(answered(error)._tag, "HttpError", JSON.stringify(error))
    }
  })

  it("never repeats a secret of the request", () => {
    const secret = "cs-Sup3rS3cret-value"
    const failure = Classify.failure("test", {
      ...exchange(400, {}, JSON.stringify({ error: `client ${secret} unknown` })),
      secrets: [Redacted.make(secret)],
    })
    assert.strictEqual(failure._tag, "OAuthProtocolError")
    assert.notInclude(failure.message, secret)
    assert.notInclude(JSON.stringify(failure), secret)
  })
})
