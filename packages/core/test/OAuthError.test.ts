import * as Schema from "effect/Schema"
import { assert, describe, it } from "vitest"
import * as OAuthError from "../src/OAuthError.js"
import * as TokenStore from "../src/TokenStore.js"

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
    [new TokenStore.TokenStoreError({ path: "/tmp/tokens.json", reason: "wrong_key" }), "not_configured"],
    // A store that stayed locked, or a Redis that did not answer, is not a setting to change: try again.
    [new TokenStore.TokenStoreError({ path: "/tmp/tokens.json", reason: "locked" }), "timeout"],
    [new TokenStore.TokenStoreError({ path: "redis://127.0.0.1:6379/0", reason: "unreachable" }), "connection_error"],
  ]

  it("an HTTP 429 says to wait and try again, not to check the request", () => {
    const message = new OAuthError.HttpError({ provider: "hyperline", url: "u", status: 429, excerpt: "" }).message
    assert.include(message, "too many requests")
    assert.notInclude(message, "Check the request")
  })

  for (const [error, code] of errors) {
    it(`${error._tag} has code ${code}, a message and a stable tag`, () => {
      assert.strictEqual(error.code, code)
      assert.isTrue(OAuthError.isOAuthError(error))
      assert.isAbove(error.message.length, 10)
      assert.include(String(error), error._tag === "InvalidInput" ? "verification_level" : error.message.slice(0, 10))
      assert.strictEqual(JSON.parse(JSON.stringify(error))._tag, error._tag)
    })
  }

  it("has an example of every member of the union", () => {
    const tested = new Set(errors.map(([error]) => error._tag))
    assert.deepStrictEqual(
      OAuthError.OAuthError.members.map((member) => member._tag).filter((tag) => !tested.has(tag)),
      [],
    )
  })

  it("each error's code is one its class lists", () => {
    for (const [error] of errors) {
      const member = OAuthError.OAuthError.members.find((m) => m._tag === error._tag)
      assert.include(member?.codes ?? [], error.code, error._tag)
    }
  })

  it("codes are the members' codes, each once", () => {
    const listed = new Set(OAuthError.OAuthError.members.flatMap((member): ReadonlyArray<string> => member.codes))
    assert.deepStrictEqual([...OAuthError.codes].sort(), [...listed].sort())
    assert.strictEqual(new Set(OAuthError.codes).size, OAuthError.codes.length)
    for (const [, code] of errors) assert.include(OAuthError.codes, code)
  })

  it("round-trips through the union's encoded form as the same class, code and message", () => {
    const encode = Schema.encodeSync(OAuthError.OAuthError)
    const decode = Schema.decodeUnknownSync(OAuthError.OAuthError)
    for (const [error] of errors) {
      const back = decode(JSON.parse(JSON.stringify(encode(error))))
      assert.strictEqual(back.constructor, error.constructor, error._tag)
      assert.strictEqual(back.code, error.code)
      assert.strictEqual(back.message, error.message)
    }
  })

  it("TokenStoreError lives with the store and is still one of the OAuthErrors", () => {
    assert.strictEqual(OAuthError.TokenStoreError, TokenStore.TokenStoreError)
    assert.include(OAuthError.OAuthError.members, TokenStore.TokenStoreError)
  })

  it("messages say what to do next", () => {
    assert.include(
      new OAuthError.NotConfigured({ provider: "hyper", missing: ["HYPER_CLIENT_ID"] }).message,
      "set HYPER_CLIENT_ID",
    )
    assert.include(new OAuthError.NotLoggedIn({ provider: "hyperid", account: "work" }).message, "Log in")
    assert.include(new OAuthError.Timeout({ url: "u", timeoutMillis: 30000 }).message, "30 s")
  })

  it("a not_configured reason ends its sentence, so that advice appended to the message reads as one", () => {
    const reason = "HYPERAUTH_CALLBACK_PORT must be a port number from 1 to 65535, such as 8976 (the default)"
    assert.strictEqual(
      new OAuthError.NotConfigured({ provider: "hyperid", missing: [], reason }).message,
      `hyperid is not configured: ${reason}.`,
    )
    // One that ends its sentence already is kept as it is.
    assert.strictEqual(
      new OAuthError.NotConfigured({ provider: "hyper", missing: [], reason: "the store key is wrong." }).message,
      "hyper is not configured: the store key is wrong.",
    )
  })

  it("isOAuthError refuses other values", () => {
    assert.isFalse(OAuthError.isOAuthError(new Error("x")))
    assert.isFalse(OAuthError.isOAuthError({ _tag: "Other" }))
    // A look-alike is not an error: it has no code and no message.
    assert.isFalse(OAuthError.isOAuthError({ _tag: "InvalidToken" }))
    assert.isFalse(
      OAuthError.isOAuthError(new TokenStore.StoreConflict({ provider: "p", account: "a", reason: "lease" })),
    )
    assert.isFalse(OAuthError.isOAuthError(null))
  })
})
