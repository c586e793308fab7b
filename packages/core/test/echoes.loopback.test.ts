/**
 * A provider that echoes what it was sent, over real loopback HTTP: the
 * secrets a request carried (the token introspected, the client secret)
 * come back in an introspection's members, and a token answer's own tokens
 * in its `scope`. Neither reaches what the core hands on, which an MCP
 * tool shows to an agent that must not see them.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient, defaultHyperproofClient, type Emulator } from "@hyperauth/emulator"
import { Effect, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { hyperidOn } from "./support/clients.js"
import { hyperproofOptions, useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

type Fault = Parameters<Emulator["faults"]["inject"]>[0]

/** A test of what the core hands on when the emulator answers with `fault` (status 200 unless it says). */
const answering = (name: string, fault: Fault, check: Effect.Effect<void, unknown, HttpClient.HttpClient>) =>
  it.live(name, () =>
    Effect.provide(
      Effect.zipRight(
        Effect.sync(() => emulator.current.faults.inject({ status: 200, ...fault })),
        check,
      ),
      FetchHttpClient.layer,
    ),
  )

const accessToken = "at-echoed-0123456789abcdef"

describe("an introspection answer that echoes the request's secrets", () => {
  answering(
    "hyper: the token introspected is [redacted] in every member, raw, form-encoded or JSON-escaped",
    {
      origin: "hyper",
      path: "/oauth/introspect",
      headers: { "content-type": "application/json" },
      // As text: its first letter JSON-escaped (`\u0061`), which parsing turns into the token itself.
      body: JSON.stringify({
        active: true,
        scope: "read",
        token: accessToken,
        debug: { echoed: `token=${accessToken}&client_id=x`, [accessToken]: true },
        escaped: "ESCAPED",
      }).replace('"ESCAPED"', `"\\u0061${accessToken.slice(1)}"`),
    },
    Effect.gen(function* () {
      const hyper = yield* Hyper.make({ baseUrl: emulator.current.origins.hyper, clientId: "hyper-echo" })
      const answer = yield* hyper.introspectToken(Redacted.make(accessToken))
      assert.strictEqual(answer.active, true)
      assert.strictEqual(answer.scope, "read")
      assert.notInclude(JSON.stringify(answer), accessToken.slice(1))
      assert.strictEqual(Reflect.get(answer, "token"), "[redacted]")
    }),
  )

  answering(
    "hyperid: the client secret echoed in a member is [redacted]",
    {
      origin: "hyperid",
      path: "/auth/realms/HyperID/protocol/openid-connect/token/introspect",
      body: { active: true, sub: defaultHyperIdClient.clientSecret, client_id: defaultHyperIdClient.clientId },
    },
    Effect.gen(function* () {
      const hyperid = yield* hyperidOn(emulator)
      const answer = yield* hyperid.introspect(Redacted.make(accessToken))
      assert.strictEqual(Reflect.get(answer, "sub"), "[redacted]")
      assert.strictEqual(Reflect.get(answer, "client_id"), defaultHyperIdClient.clientId)
    }),
  )
})

describe("a token answer whose scope holds secrets", () => {
  answering(
    "hyperproof: the access token and the client secret in scope are [redacted]; the scopes stay",
    {
      origin: "hyperproofAccounts",
      path: "/oauth/token",
      body: {
        access_token: accessToken,
        token_type: "bearer",
        expires_in: 3600,
        scope: `read ${accessToken} ${defaultHyperproofClient.clientSecret}`,
      },
    },
    Effect.gen(function* () {
      const hyperproof = yield* Hyperproof.make(hyperproofOptions(emulator.current))
      const token = yield* hyperproof.fetchToken
      assert.strictEqual(Redacted.value(token.accessToken), accessToken)
      assert.strictEqual(token.scope, "read [redacted] [redacted]")
    }),
  )
})
