/**
 * RFC 6749 §5.1: a token response leaves `scope` out when it is "identical
 * to the scope requested by the client". The seeds' own token answers carry
 * none (hyperproof's, hyperid's), so a server that answers as they do is
 * granting what was asked for. Loopback servers on port 0 answer so here;
 * the login must then hold the scope it asked for, and a renewal must ask
 * for that scope again, not for the client's configured one.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { pollsOnTestClock } from "./support/emulator.js"
import { transports } from "./support/transports.js"

interface Answer {
  readonly status: number
  readonly body: unknown
}

/** A loopback server answering every POST form with `handle`; the forms it saw are kept. */
const formServer = (handle: (path: string, form: URLSearchParams) => Answer) =>
  Effect.acquireRelease(
    Effect.async<{ readonly origin: string; readonly forms: Array<URLSearchParams>; readonly close: () => void }>(
      (resume) => {
        const forms: Array<URLSearchParams> = []
        const server = createServer((request, response) => {
          let body = ""
          request.setEncoding("utf8")
          request.on("data", (chunk: string) => {
            body += chunk
          })
          request.on("end", () => {
            const form = new URLSearchParams(body)
            forms.push(form)
            const answer = handle(new URL(request.url ?? "/", "http://127.0.0.1").pathname, form)
            response.writeHead(answer.status, { "content-type": "application/json" })
            response.end(JSON.stringify(answer.body))
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(
            Effect.succeed({
              origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
              forms,
              close: () => server.close(),
            }),
          ),
        )
      },
    ),
    (server) => Effect.sync(() => server.close()),
  )

for (const [transport, layer] of transports) {
  const live = <A, E, R>(effect: Effect.Effect<A, E, R | HttpClient.HttpClient>) => Effect.provide(effect, layer)

  describe(`a token answer without scope grants the scope asked for (${transport})`, () => {
    it.scoped("hyperproof: a login for a scope of its own holds it, and its renewal asks for it again", () =>
      live(
        Effect.gen(function* () {
          // The seed's answer: access_token, token_type, expires_in; no scope.
          const server = yield* formServer(() => ({
            status: 200,
            body: { access_token: "hp-at-0123456789", token_type: "bearer", expires_in: 3600 },
          }))
          const service = yield* Hyperproof.make({
            authUrl: server.origin,
            apiUrl: server.origin,
            clientId: "hp-client",
            clientSecret: Redacted.make("hp-secret"),
            scope: "hyperproof.configured",
          })
          const started = yield* service.provider.startLogin({ scope: "controls.read" })
          assert.strictEqual(started._tag, "Authenticated")
          if (started._tag !== "Authenticated") return
          assert.strictEqual(server.forms[0]?.get("scope"), "controls.read")
          assert.strictEqual(started.token.scope, "controls.read")
          const renewed = yield* service.provider.refresh(started.token)
          // A new token for the login's scope, not for the client's configured one.
          assert.strictEqual(server.forms[1]?.get("scope"), "controls.read")
          assert.strictEqual(renewed.scope, "controls.read")
          // The service's own token is for the configured scope.
          const own = yield* service.fetchToken
          assert.strictEqual(server.forms[2]?.get("scope"), "hyperproof.configured")
          assert.strictEqual(own.scope, "hyperproof.configured")
        }),
      ),
    )

    it.scoped("hyper: a device login for a scope holds it when the token answer names none", () =>
      live(
        Effect.gen(function* () {
          const server = yield* formServer((path) =>
            path === "/oauth/device"
              ? {
                  status: 200,
                  body: {
                    device_code: "dc-0123456789",
                    user_code: "WDJB-MJHT",
                    verification_uri: "https://example.com/device",
                    expires_in: 600,
                    interval: 5,
                  },
                }
              : { status: 200, body: { access_token: "hyper-at-0123456789", token_type: "Bearer", expires_in: 3600 } },
          )
          const service = yield* Hyper.make({ baseUrl: server.origin, clientId: "hyper-cli" })
          const device = yield* service.initiateDeviceFlow({ scope: "read write" })
          const poller = yield* Effect.fork(service.pollForToken(device))
          yield* pollsOnTestClock(poller, device.interval, 1)
          assert.strictEqual((yield* Fiber.join(poller)).scope, "read write")

          const started = yield* service.provider.startLogin({ scope: "read" })
          assert.strictEqual(started._tag, "DevicePending")
          if (started._tag !== "DevicePending") return
          const completing = yield* Effect.fork(started.complete)
          yield* pollsOnTestClock(completing, started.interval, 1)
          assert.strictEqual((yield* Fiber.join(completing)).scope, "read")
        }),
      ),
    )

    it.scoped("hyperid: the seed's token answer (no scope) grants the scope the authorization URL asked for", () =>
      live(
        Effect.gen(function* () {
          // hyperid's seed, word for word: no scope, no token_type.
          const server = yield* formServer(() => ({
            status: 200,
            body: {
              refresh_expires_in: 2589446,
              refresh_token: "AA.BB.CC",
              expires_in: 3599,
              access_token: "DD.EE.FF",
            },
          }))
          const service = yield* HyperId.make({
            origin: server.origin,
            clientId: "client0",
            clientSecret: Redacted.make("secret0"),
            redirectUri: "https://client.example.org/cb",
          })
          const started = yield* service.authorizationUrl({ scope: "openid email" })
          const login = yield* service.completeLogin(
            started,
            `https://client.example.org/cb?locale=en&code=code0&state=${started.state}`,
          )
          assert.strictEqual(login.token.scope, "openid email")
          // RFC 6749 §6: a refresh that asks for no scope keeps the one granted.
          assert.strictEqual((yield* service.refresh(login.token)).scope, "openid email")

          const pending = yield* service.provider.startLogin({ scope: "openid" })
          assert.strictEqual(pending._tag, "RedirectPending")
          if (pending._tag !== "RedirectPending") return
          const token = yield* pending.complete(`https://client.example.org/cb?code=code0&state=${pending.state}`)
          assert.strictEqual(token.scope, "openid")
        }),
      ),
    )
  })
}

/**
 * RFC 6749 §3.3: `scope = scope-token *( SP scope-token )`, a token being at
 * least one character, so `scope=` (or blanks) is no scope but a malformed
 * request, which a strict server refuses (`invalid_scope`). An empty scope
 * (`HYPERPROOF_SCOPE=` in an env file, a login's `scope: ""`) means none:
 * the parameter is left out and the client's default scopes apply.
 */
const strictScope = (form: URLSearchParams): Answer | undefined =>
  form.has("scope") && (form.get("scope") ?? "").trim() === ""
    ? { status: 400, body: { error: "invalid_scope", error_description: "scope must name at least one scope" } }
    : undefined

for (const [transport, layer] of transports) {
  const live = <A, E, R>(effect: Effect.Effect<A, E, R | HttpClient.HttpClient>) => Effect.provide(effect, layer)

  describe(`an empty scope is no scope (${transport})`, () => {
    it.scoped("hyperproof: HYPERPROOF_SCOPE set empty, or a login's blank scope, sends no scope parameter", () =>
      live(
        Effect.gen(function* () {
          const server = yield* formServer(
            (_, form) =>
              strictScope(form) ?? {
                status: 200,
                body: { access_token: "hp-at-0123456789", token_type: "bearer", expires_in: 3600 },
              },
          )
          const options = yield* Effect.withConfigProvider(
            Hyperproof.config,
            ConfigProvider.fromMap(
              new Map([
                ["HYPERPROOF_CLIENT_ID", "hp-client"],
                ["HYPERPROOF_CLIENT_SECRET", "hp-secret"],
                ["HYPERPROOF_AUTH_URL", server.origin],
                ["HYPERPROOF_API_URL", server.origin],
                ["HYPERPROOF_SCOPE", ""],
              ]),
            ),
          )
          const service = yield* Hyperproof.make(options)
          const own = yield* service.fetchToken
          assert.isUndefined(own.scope)
          const started = yield* service.provider.startLogin({ scope: " " })
          assert.strictEqual(started._tag, "Authenticated")
          assert.deepStrictEqual(
            server.forms.map((form) => form.has("scope")),
            [false, false],
          )
        }),
      ),
    )

    it.scoped("hyper: a device login with a blank scope sends no scope parameter", () =>
      live(
        Effect.gen(function* () {
          const server = yield* formServer(
            (_, form) =>
              strictScope(form) ?? {
                status: 200,
                body: {
                  device_code: "dc-0123456789",
                  user_code: "WDJB-MJHT",
                  verification_uri: "https://example.com/device",
                  expires_in: 600,
                },
              },
          )
          const service = yield* Hyper.make({ baseUrl: server.origin, clientId: "hyper-cli" })
          yield* service.initiateDeviceFlow({ scope: "" })
          yield* service.provider.startLogin({ scope: "  " })
          assert.deepStrictEqual(
            server.forms.map((form) => form.has("scope")),
            [false, false],
          )
        }),
      ),
    )

    it.scoped("hyperid: an authorization URL for a blank scope carries no scope parameter", () =>
      live(
        Effect.gen(function* () {
          const service = yield* HyperId.make({
            origin: "https://login.hypersecureid.com",
            clientId: "client0",
            clientSecret: Redacted.make("secret0"),
            redirectUri: "https://client.example.org/cb",
          })
          const request = yield* service.authorizationUrl({ scope: "" })
          assert.isFalse(new URL(request.url).searchParams.has("scope"))
        }),
      ),
    )
  })
}
