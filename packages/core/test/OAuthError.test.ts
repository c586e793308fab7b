import { assert, describe, it } from "vitest"
import * as OAuthError from "../src/OAuthError.js"

describe("OAuthError", () => {
  const errors: ReadonlyArray<[OAuthError.OAuthError, string]> = [
    [new OAuthError.InvalidToken({ provider: "hyper" }), "invalid_token"],
    [new OAuthError.ConnectionError({ provider: "hyper", url: "http://x/y", reason: "refused" }), "connection_error"],
    [new OAuthError.Timeout({ provider: "hyper", url: "http://x/y", timeoutMillis: 30000 }), "timeout"],
    [new OAuthError.OAuthProtocolError({ provider: "hyperid", error: "invalid_grant" }), "invalid_grant"],
    [new OAuthError.OAuthProtocolError({ error: "access_denied" }), "access_denied"],
    [new OAuthError.OAuthProtocolError({ error: "temporarily_unavailable" }), "http_error"],
    [new OAuthError.OAuthProtocolError({ error: "unauthorized_client" }), "invalid_client"],
    [
      new OAuthError.InvalidResponse({ provider: "x", url: "u", status: 200, reason: "not JSON", excerpt: "<html>" }),
      "invalid_response",
    ],
    [new OAuthError.HttpError({ url: "u", status: 404, excerpt: "" }), "http_error"],
    [new OAuthError.StateMismatch({ provider: "hyperline" }), "state_mismatch"],
    [new OAuthError.NotLoggedIn({ provider: "hyperid", account: "default" }), "not_logged_in"],
    [new OAuthError.NotConfigured({ provider: "hyper", missing: ["HYPER_CLIENT_ID"] }), "not_configured"],
    [new OAuthError.NotSupported({ provider: "hyperline", operation: "introspection" }), "not_supported"],
    [new OAuthError.InvalidInput({ reason: "verification_level must be 2, 3 or 4." }), "invalid_input"],
  ]

  for (const [error, code] of errors) {
    it(`${error._tag} has code ${code}, a message and a stable tag`, () => {
      assert.strictEqual(error.code, code)
      assert.isTrue(OAuthError.isOAuthError(error))
      assert.isAbove(error.message.length, 10)
      assert.include(String(error), error._tag === "InvalidInput" ? "verification_level" : error.message.slice(0, 10))
      assert.strictEqual(JSON.parse(JSON.stringify(error))._tag, error._tag)
    })
  }

  it("messages say what to do next", () => {
    assert.include(
      new OAuthError.NotConfigured({ provider: "hyper", missing: ["HYPER_CLIENT_ID"] }).message,
      "set HYPER_CLIENT_ID",
    )
    assert.include(new OAuthError.NotLoggedIn({ provider: "hyperid", account: "work" }).message, "Log in")
    assert.include(new OAuthError.Timeout({ url: "u", timeoutMillis: 30000 }).message, "30 s")
  })

  it("isOAuthError refuses other values", () => {
    assert.isFalse(OAuthError.isOAuthError(new Error("x")))
    assert.isFalse(OAuthError.isOAuthError({ _tag: "Other" }))
    assert.isFalse(OAuthError.isOAuthError(null))
  })
})
