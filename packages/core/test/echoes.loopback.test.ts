/**
 * A provider that echoes what it was sent, over real loopback HTTP: the
 * secrets a request carried (the token introspected, the client secret)
 * come back in an introspection's members, and a token answer's own tokens
 * in its `scope`. Neither reaches what the core hands on, which an MCP
 * tool shows to an agent that must not see them.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient, defaultHyperproofClient } from "@hyperauth/emulator"
import { Effect, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { hyperidOn } from "./support/clients.js"
import { hyperproofOptions, useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const accessToken = "at-echoed-0123456789abcdef"

describe("an introspection answer that echoes the request's secrets", () => {
  it.live("hyper: the token introspected is [redacted] in every member, raw, form-encoded or JSON-escaped", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyper",
          path: "/oauth/introspect",
          status: 200,
          headers: { "content-type": "application/json" },
          // As text: its first letter JSON-escaped (`\u0061`), which parsing turns into the token itself.
          body: JSON.stringify({
            active: true,
            scope: "read",
            token: accessToken,
            debug: { echoed: `token=${accessToken}&client_id=x`, [accessToken]: true },
            escaped: "ESCAPED",
          }).replace('"ESCAPED"', `"\\u0061${accessToken.slice(1)}"`),
        })
        const hyper = yield* Hyper.make({ baseUrl: emulator.current.origins.hyper, clientId: "hyper-echo" })
        const answer = yield* hyper.introspectToken(Redacted.make(accessToken))
        assert.strictEqual(answer.active, true)
        assert.strictEqual(answer.scope, "read")
        assert.notInclude(JSON.stringify(answer), accessToken.slice(1))
        assert.strictEqual(Reflect.get(answer, "token"), "[redacted]")
      }),
    ),
  )

  it.live("hyperid: the client secret echoed in a member is [redacted]", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyperid",
          path: "/auth/realms/HyperID/protocol/openid-connect/token/introspect",
          status: 200,
          body: { active: true, sub: defaultHyperIdClient.clientSecret, client_id: defaultHyperIdClient.clientId },
        })
        const hyperid = yield* hyperidOn(emulator)
        const answer = yield* hyperid.introspect(Redacted.make(accessToken))
        assert.strictEqual(Reflect.get(answer, "sub"), "[redacted]")
        assert.strictEqual(Reflect.get(answer, "client_id"), defaultHyperIdClient.clientId)
      }),
    ),
  )
})

describe("a token answer whose scope holds secrets", () => {
  it.live("hyperproof: the access token and the client secret in scope are [redacted]; the scopes stay", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyperproofAccounts",
          path: "/oauth/token",
          status: 200,
          body: {
            access_token: accessToken,
            token_type: "bearer",
            expires_in: 3600,
            scope: `read ${accessToken} ${defaultHyperproofClient.clientSecret}`,
          },
        })
        const hyperproof = yield* Hyperproof.make(hyperproofOptions(emulator.current))
        const token = yield* hyperproof.fetchToken
        assert.strictEqual(Redacted.value(token.accessToken), accessToken)
        assert.strictEqual(token.scope, "read [redacted] [redacted]")
      }),
    ),
  )
})
