/**
 * The pipeable request builders: what each client authentication puts on
 * the wire (RFC 6749 §2.3.1 for Basic), which secrets a built request lists
 * for scrubbing, and which grants may be repeated. Basic is also checked
 * against the emulator's token endpoint over loopback.
 */
import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperproofClient } from "@hyperauth/emulator"
import { Effect, Exit, FastCheck as fc, Redacted } from "effect"
import * as Pipeline from "../src/internal/pipeline.js"
import { BearerTokenResponse } from "../src/internal/wire.js"
import * as NodeHttpTransport from "../src/NodeHttpTransport.js"
import * as Requests from "../src/Requests.js"
import { useEmulator } from "./support/emulator.js"

const url = "https://auth.example/oauth/token"

const bodyOf = (built: Requests.Built): string =>
  built.request.body._tag === "Uint8Array" ? new TextDecoder().decode(built.request.body.body) : ""

const basicCredentials = (built: Requests.Built): string => {
  const header = built.request.headers.authorization ?? ""
  assert.match(header, /^Basic [A-Za-z0-9+/]+=*$/)
  return Buffer.from(header.slice("Basic ".length), "base64").toString("utf8")
}

describe("Requests", () => {
  it("ClientSecretBasic form-urlencodes id and secret before base64 (RFC 6749 §2.3.1), and keeps them out of the body", () => {
    const built = Requests.token(url).pipe(
      Requests.grant("client_credentials"),
      Requests.clientAuth(Requests.ClientSecretBasic("my client:1", Redacted.make("s3cr+t/é%!"))),
      Requests.build,
    )
    assert.strictEqual(basicCredentials(built), "my+client%3A1:s3cr%2Bt%2F%C3%A9%25%21")
    assert.strictEqual(bodyOf(built), "grant_type=client_credentials")
    // The secret and its base64 form are both scrubbed from what the answer may echo.
    const encoded = (built.request.headers.authorization ?? "").slice("Basic ".length)
    assert.deepStrictEqual(built.secrets.map(Redacted.value), ["s3cr+t/é%!", encoded])
  })

  it("form-urlencoding is undone by any form decoder, for any text", () =>
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (id, secret) => {
        const built = Requests.build(
          Requests.token(url).pipe(Requests.clientAuth(Requests.ClientSecretBasic(id, Redacted.make(secret)))),
        )
        const credentials = basicCredentials(built)
        const colon = credentials.indexOf(":")
        const decode = (part: string) => new URLSearchParams(`x=${part}`).get("x")
        // The id's own colons are escaped: the first colon is the separator.
        // A lone surrogate has no UTF-8 form: it goes as U+FFFD, as `Buffer` writes it.
        const wellFormed = (text: string) => Buffer.from(text, "utf8").toString("utf8")
        assert.strictEqual(decode(credentials.slice(0, colon)), wellFormed(id))
        assert.strictEqual(decode(credentials.slice(colon + 1)), wellFormed(secret))
      }),
    ))

  it("ClientSecretPost sends both in the body; None sends the id alone", () => {
    const post = Requests.build(
      Requests.token(url).pipe(
        Requests.grant("refresh_token", { refresh_token: Redacted.make("rt"), scope: undefined }),
        Requests.clientAuth(Requests.ClientSecretPost("cid", Redacted.make("shh"))),
      ),
    )
    assert.strictEqual(bodyOf(post), "grant_type=refresh_token&refresh_token=rt&client_id=cid&client_secret=shh")
    assert.isUndefined(post.request.headers.authorization)
    assert.deepStrictEqual(post.secrets.map(Redacted.value), ["rt", "shh"])

    const none = Requests.build(
      Requests.deviceAuthorization(url).pipe(
        Requests.params({ scope: "openid" }),
        Requests.clientAuth(Requests.None("c")),
      ),
    )
    assert.strictEqual(bodyOf(none), "scope=openid&client_id=c")
    assert.deepStrictEqual(none.secrets, [])
    assert.strictEqual(
      Requests.secretPostOrNone("c", undefined)._tag,
      "None",
      "a public client is None, not a post with an empty secret",
    )
  })

  it("json encodes the same fields as JSON, and builders do not change the request they start from", () => {
    const base = Requests.token(url).pipe(Requests.grant("authorization_code", { code: Redacted.make("c0de") }))
    const asJson = Requests.build(Requests.json(base))
    assert.strictEqual(asJson.request.body.contentType, "application/json")
    assert.deepStrictEqual(JSON.parse(bodyOf(asJson)), { grant_type: "authorization_code", code: "c0de" })
    assert.strictEqual(base.encoding, "form")
    assert.strictEqual(Requests.build(base).request.body.contentType, "application/x-www-form-urlencoded")
  })

  it("a grant that redeems something once is not repeatable; the others are", () => {
    const repeatable = (type: Requests.GrantType) =>
      Requests.build(Requests.token(url).pipe(Requests.grant(type))).idempotent
    assert.isFalse(repeatable("authorization_code"))
    assert.isFalse(repeatable("refresh_token"))
    assert.isTrue(repeatable("client_credentials"))
    assert.isTrue(repeatable("urn:ietf:params:oauth:grant-type:device_code"))
    assert.isTrue(Requests.build(Requests.revocation(url)).idempotent)
  })
})

describe("Requests over loopback", () => {
  const emulator = useEmulator()
  const grant = (auth: Requests.ClientAuth) =>
    Effect.gen(function* () {
      const built = Requests.token(`${emulator.current.origins.hyperproofAccounts}/oauth/token`).pipe(
        Requests.grant("client_credentials"),
        Requests.clientAuth(auth),
        Requests.build,
      )
      const pipeline = Pipeline.make(yield* HttpClient.HttpClient, { provider: "hyperproof" })
      return yield* pipeline.json(built.request, BearerTokenResponse, built)
    }).pipe(Effect.provide(NodeHttpTransport.layer))

  it.live("the emulator's token endpoint accepts ClientSecretBasic, and refuses a wrong secret in it", () =>
    Effect.gen(function* () {
      const { clientId, clientSecret } = defaultHyperproofClient
      const token = yield* grant(Requests.ClientSecretBasic(clientId, Redacted.make(clientSecret)))
      assert.isNotEmpty(token.access_token)
      const refused = yield* Effect.exit(grant(Requests.ClientSecretBasic(clientId, Redacted.make("wrong"))))
      assert.isTrue(Exit.isFailure(refused))
      if (Exit.isFailure(refused) && refused.cause._tag === "Fail")
        assert.strictEqual(refused.cause.error.code, "invalid_client")
    }),
  )
})
