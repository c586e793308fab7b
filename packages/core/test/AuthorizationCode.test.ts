import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc, Redacted } from "effect"
import * as AuthorizationCode from "../src/AuthorizationCode.js"
import { failure } from "./support/exits.js"

describe("AuthorizationCode", () => {
  it.effect("state carries at least 128 random bits and is fresh each time", () =>
    Effect.gen(function* () {
      const states = yield* Effect.all(Array.from({ length: 100 }, () => AuthorizationCode.makeState))
      assert.strictEqual(new Set(states).size, 100)
      for (const state of states) {
        assert.match(state, /^[A-Za-z0-9_-]+$/)
        assert.isAtLeast(state.length * 6, 128)
      }
    }),
  )

  it("computes the RFC 7636 Appendix B S256 challenge", () => {
    assert.strictEqual(
      AuthorizationCode.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    )
  })

  it.effect("makes a 43+ character verifier whose challenge is its S256", () =>
    Effect.gen(function* () {
      const pkce = yield* AuthorizationCode.makePkce
      const verifier = Redacted.value(pkce.verifier)
      assert.isAtLeast(verifier.length, 43)
      assert.strictEqual(pkce.challenge, AuthorizationCode.s256(verifier))
      assert.strictEqual(pkce.method, "S256")
    }),
  )

  it.effect("reads code and other parameters from a matching redirect", () =>
    Effect.gen(function* () {
      const redirect = yield* AuthorizationCode.parseRedirect("http://127.0.0.1:8976/cb?code=abc&state=s1&locale=en", {
        expectedState: "s1",
      })
      assert.strictEqual(Redacted.value(redirect.code), "abc")
      assert.deepStrictEqual(redirect.params, { locale: "en" })
    }),
  )

  it.effect("a different state is StateMismatch, even when the URL carries an error", () =>
    Effect.gen(function* () {
      const wrong = yield* Effect.exit(
        AuthorizationCode.parseRedirect("http://x/cb?code=abc&state=evil", { expectedState: "s1" }),
      )
      assert.strictEqual(failure(wrong)._tag, "StateMismatch")
      // Nothing was redeemed: the login can still be finished with its own URL.
      assert.include(failure(wrong).message, "The login still waits")
      const forgedError = yield* Effect.exit(
        AuthorizationCode.parseRedirect("http://x/cb?error=access_denied&state=evil", { expectedState: "s1" }),
      )
      assert.strictEqual(failure(forgedError).code, "state_mismatch")
    }),
  )

  it.effect("a missing state is StateMismatch, and a URL off the login's redirect URI is InvalidInput", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        failure(
          yield* Effect.exit(
            AuthorizationCode.parseRedirect("http://x/cb?code=abc&locale=en", { expectedState: "s1" }),
          ),
        )._tag,
        "StateMismatch",
      )
      const redirectUri = "http://127.0.0.1:8976/callback/hyperid"
      const on = yield* AuthorizationCode.parseRedirect(`${redirectUri}?code=abc&state=s1`, {
        expectedState: "s1",
        redirectUri,
      })
      assert.strictEqual(Redacted.value(on.code), "abc")
      for (const elsewhere of [
        "https://evil.example/callback/hyperid",
        "http://127.0.0.1:8977/callback/hyperid",
        "http://127.0.0.1:8976/callback/hyperline",
        "http://localhost:8976/callback/hyperid",
      ]) {
        const off = failure(
          yield* Effect.exit(
            AuthorizationCode.parseRedirect(`${elsewhere}?code=abc&state=s1`, { expectedState: "s1", redirectUri }),
          ),
        )
        assert.strictEqual(off._tag, "InvalidInput")
        assert.include(off.message, redirectUri)
      }
    }),
  )

  it.effect("an error code outside RFC 6749's characters is InvalidInput; a description loses its line breaks", () =>
    Effect.gen(function* () {
      const malformed = failure(
        yield* Effect.exit(
          AuthorizationCode.parseRedirect("http://x/cb?error=access_denied%0AForged%3A+line&state=s1", {
            expectedState: "s1",
          }),
        ),
      )
      assert.strictEqual(malformed._tag, "InvalidInput")
      assert.notInclude(malformed.message, "Forged")
      const described = failure(
        yield* Effect.exit(
          AuthorizationCode.parseRedirect(
            "http://x/cb?error=access_denied&error_description=no%0D%0AForged%3A+line%00&state=s1",
            { expectedState: "s1" },
          ),
        ),
      )
      assert.strictEqual(described.code, "access_denied")
      for (const control of ["\r", "\n", "\u0000"]) assert.notInclude(described.message, control)
    }),
  )

  it.effect("error=access_denied is the protocol error with its description", () =>
    Effect.gen(function* () {
      const error = failure(
        yield* Effect.exit(
          AuthorizationCode.parseRedirect("http://x/cb?error=access_denied&error_description=no+thanks&state=s1", {
            expectedState: "s1",
          }),
        ),
      )
      assert.strictEqual(error._tag, "OAuthProtocolError")
      if (error._tag !== "OAuthProtocolError") return
      assert.strictEqual(error.code, "access_denied")
      assert.strictEqual(error.errorDescription, "no thanks")
    }),
  )

  it.effect("a URL without code, or not a URL, is InvalidInput", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        failure(yield* Effect.exit(AuthorizationCode.parseRedirect("http://x/cb?state=s1", { expectedState: "s1" })))
          .code,
        "invalid_input",
      )
      assert.strictEqual(
        failure(yield* Effect.exit(AuthorizationCode.parseRedirect("not a url", { expectedState: "s1" }))).code,
        "invalid_input",
      )
    }),
  )

  it.effect("a repeated parameter is refused, whichever it is, before the state is even read", () =>
    Effect.gen(function* () {
      for (const url of [
        "http://x/cb?code=c1&code=c2&state=s1",
        "http://x/cb?code=c1&state=s1&state=s1",
        "http://x/cb?error=access_denied&error=server_error&state=s1",
        "http://x/cb?code=c1&state=s1&iss=a&iss=a",
      ]) {
        const error = failure(yield* Effect.exit(AuthorizationCode.parseRedirect(url, { expectedState: "s1" })))
        assert.strictEqual(error._tag, "InvalidInput", url)
        assert.include(error.message, "more than once")
      }
    }),
  )

  it.effect("an iss (RFC 9207) must be the expected issuer; absent is accepted; never a param", () =>
    Effect.gen(function* () {
      const expectedIssuer = "https://id.example/auth/realms/HyperID"
      const other = yield* Effect.exit(
        AuthorizationCode.parseRedirect("http://x/cb?code=c1&state=s1&iss=https%3A%2F%2Fevil.example", {
          expectedState: "s1",
          expectedIssuer,
        }),
      )
      assert.strictEqual(failure(other)._tag, "InvalidInput")
      // A mix-up is caught before the error the other server claims.
      const otherError = yield* Effect.exit(
        AuthorizationCode.parseRedirect("http://x/cb?error=access_denied&state=s1&iss=https%3A%2F%2Fevil.example", {
          expectedState: "s1",
          expectedIssuer,
        }),
      )
      assert.strictEqual(failure(otherError)._tag, "InvalidInput")
      const same = yield* AuthorizationCode.parseRedirect(
        `http://x/cb?code=c1&state=s1&iss=${encodeURIComponent(expectedIssuer)}&locale=en`,
        { expectedState: "s1", expectedIssuer },
      )
      assert.deepStrictEqual(same.params, { locale: "en" })
      const absent = yield* AuthorizationCode.parseRedirect("http://x/cb?code=c1&state=s1", {
        expectedState: "s1",
        expectedIssuer,
      })
      assert.strictEqual(Redacted.value(absent.code), "c1")
    }),
  )

  it("sameState compares whole values", () => {
    assert.isTrue(AuthorizationCode.sameState("abc", "abc"))
    assert.isFalse(AuthorizationCode.sameState("abc", "abd"))
    assert.isFalse(AuthorizationCode.sameState("abc", "abcd"))
    assert.isFalse(AuthorizationCode.sameState("", "a"))
  })

  const names = fc.constantFrom("code", "state", "error", "error_description", "iss", "locale", "x")
  const params = fc.array(fc.tuple(names, fc.oneof(fc.string(), fc.constant("s1"))), { maxLength: 8 })

  it.effect.prop(
    "any redirect: a repeated parameter is InvalidInput; else a code only with the right state and issuer",
    { params },
    ({ params }) =>
      Effect.gen(function* () {
        const url = `http://127.0.0.1:1/cb?${new URLSearchParams(params)}`
        const exit = yield* Effect.exit(
          AuthorizationCode.parseRedirect(url, { expectedState: "s1", expectedIssuer: "s1" }),
        )
        const keys = params.map(([k]) => k)
        const repeated = new Set(keys).size !== keys.length
        const value = (k: string) => params.find(([name]) => name === k)?.[1]
        if (repeated) {
          assert.strictEqual(failure(exit)._tag, "InvalidInput")
          return
        }
        if (Exit.isSuccess(exit)) {
          assert.strictEqual(value("state"), "s1")
          assert.include(["s1", undefined], value("iss"))
          assert.isUndefined(value("error"))
          assert.strictEqual(Redacted.value(exit.value.code), value("code"))
        } else if (value("state") !== "s1") {
          assert.strictEqual(failure(exit)._tag, "StateMismatch")
        }
      }),
  )
})
