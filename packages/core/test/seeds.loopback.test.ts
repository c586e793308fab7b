/**
 * The core against strict loopback servers that behave as the providers'
 * own pages (`shared/seeds/`) describe, not as our emulator does: each
 * checks the method, path, content type, client authentication and the
 * parameters the seed marks REQUIRED, and answers with the seed's own
 * example bodies (no `token_type` from hyperid, `"bearer"` in lower case
 * from hyperline and hyperproof, a 204 logout). Where a seed is silent the
 * server follows the RFC it names (RFC 8628, 7662, 6749 §4.1.2 `state`).
 */
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { type HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Option, Redacted } from "effect"
import * as Hyper from "../src/Hyper.js"
import * as HyperId from "../src/HyperId.js"
import * as Hyperline from "../src/Hyperline.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { pollsOnTestClock } from "./support/emulator.js"
import { transports } from "./support/transports.js"

interface Seen {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  readonly contentType: string
  readonly form: URLSearchParams | undefined
  readonly json: Record<string, unknown> | undefined
}

interface Answer {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string
}

const json = (status: number, body: unknown): Answer => ({
  status,
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
})
const oauthError = (status: number, error: string) => json(status, { error })

/** A loopback server answering with `handle`; every request it saw is kept. */
const strictServer = (handle: (seen: Seen) => Answer) =>
  Effect.acquireRelease(
    Effect.async<{ readonly origin: string; readonly seen: Array<Seen>; close: () => void }>((resume) => {
      const seen: Array<Seen> = []
      const server = createServer((request, response) => {
        let body = ""
        request.setEncoding("utf8")
        request.on("data", (chunk: string) => {
          body += chunk
        })
        request.on("end", () => {
          const url = new URL(request.url ?? "/", "http://127.0.0.1")
          const contentType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
          let parsed: Record<string, unknown> | undefined
          if (contentType === "application/json") {
            try {
              parsed = JSON.parse(body)
            } catch {
              parsed = undefined
            }
          }
          const entry: Seen = {
            method: request.method ?? "",
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            contentType,
            form: contentType === "application/x-www-form-urlencoded" ? new URLSearchParams(body) : undefined,
            json: parsed,
          }
          seen.push(entry)
          const answer = handle(entry)
          response.writeHead(answer.status, answer.headers)
          response.end(answer.body)
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(
          Effect.succeed({
            origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            seen,
            close: () => server.close(),
          }),
        ),
      )
    }),
    (server) => Effect.sync(() => server.close()),
  )

/** The form parameters the seed marks REQUIRED, with their values where it fixes them; undefined when one is missing. */
const required = (form: URLSearchParams | undefined, names: Record<string, string | null>): boolean =>
  form !== undefined &&
  Object.entries(names).every(
    ([name, value]) => form.getAll(name).length === 1 && (value === null || form.get(name) === value),
  )

const jsonRequired = (body: Record<string, unknown> | undefined, names: Record<string, string | null>): boolean =>
  body !== undefined &&
  Object.entries(names).every(
    ([name, value]) => typeof body[name] === "string" && (value === null || body[name] === value),
  )

// hyperid's seed, word for word.
const hyperidToken = `{
"refresh_expires_in": 2589446,
"refresh_token": "AA.BB.CC",
"expires_in": 3599,
"access_token": "DD.EE.FF"
}`
const hyperidIntrospection = `{
"exp":1653565113,
"iat":1653564993,
"auth_time":1653560464,
"iss":"https://login.hypersecureid.com/auth/realms/HyperID",
"sub":"userID",
"typ":"Bearer",
"azp":"clientID",
"email":"user@example.com",
"email_verified":true,
"scope":"email",
"active":true
}`

const hyperidSecret = "secret0"

const hyperidServer =
  (realm: string) =>
  (seen: Seen): Answer => {
    // The seed: client_id and client_secret in the form body, nothing in a header.
    const client = { client_id: "client0", client_secret: hyperidSecret }
    if (seen.method !== "POST" || seen.headers.authorization !== undefined) return oauthError(400, "invalid_request")
    switch (seen.path) {
      case `${realm}/token`: {
        if (
          required(seen.form, {
            ...client,
            grant_type: "authorization_code",
            code: "code0",
            redirect_uri: "https://client.example.org/cb",
          })
        )
          return json(200, hyperidToken)
        if (required(seen.form, { ...client, grant_type: "refresh_token", refresh_token: "AA.BB.CC" }))
          return json(200, hyperidToken)
        return oauthError(400, "invalid_request")
      }
      case `${realm}/token/introspect`:
        if (!required(seen.form, { ...client, token_type_hint: "access_token", token: null }))
          return oauthError(400, "invalid_request")
        return seen.form?.get("token") === "DD.EE.FF" ? json(200, hyperidIntrospection) : json(200, { active: false })
      case `${realm}/logout`:
        return required(seen.form, { ...client, refresh_token: "AA.BB.CC" })
          ? { status: 204 }
          : oauthError(400, "invalid_grant")
      default:
        return { status: 404 }
    }
  }

for (const [transport, layer] of transports) {
  const live = <A, E, R>(effect: Effect.Effect<A, E, R | HttpClient.HttpClient>) => Effect.provide(effect, layer)

  describe(`hyperid as its seed documents it (${transport})`, () => {
    const make = (origin: string) =>
      HyperId.make({
        origin,
        clientId: "client0",
        clientSecret: Redacted.make(hyperidSecret),
        redirectUri: "https://client.example.org/cb",
      })

    it.scoped("the authorization URL carries the seed's parameters, each once", () =>
      live(
        Effect.gen(function* () {
          const service = yield* make("https://login.hypersecureid.com")
          const request = yield* service.authorizationUrl({
            scope: "openid telegram-check",
            flow_mode: 0,
            ui_locales: "en",
            login_hint: "user@example.com",
            verification_level: 2,
          })
          const url = new URL(request.url)
          assert.strictEqual(
            `${url.origin}${url.pathname}`,
            "https://login.hypersecureid.com/auth/realms/HyperID/protocol/openid-connect/auth",
          )
          const expected = {
            response_type: "code",
            client_id: "client0",
            redirect_uri: "https://client.example.org/cb",
            scope: "openid telegram-check",
            flow_mode: "0",
            ui_locales: "en",
            login_hint: "user@example.com",
            verification_level: "2",
          }
          for (const [name, value] of Object.entries(expected)) {
            assert.deepStrictEqual(url.searchParams.getAll(name), [value], name)
          }
        }),
      ),
    )

    it.scoped("code exchange, refresh, introspection and logout against the seed's examples", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(hyperidServer(HyperId.realmPath))
          const service = yield* make(server.origin)
          const started = yield* service.authorizationUrl({ scope: "openid" })
          // The seed's redirect (`locale`, `code`), with the state RFC 6749 §4.1.2 has it echo.
          const login = yield* service.completeLogin(
            started,
            `https://client.example.org/cb?locale=en&code=code0&state=${started.state}`,
          )
          assert.strictEqual(login.locale, "en")
          const now = yield* DateTime.now
          assert.strictEqual(Redacted.value(login.token.accessToken), "DD.EE.FF")
          assert.strictEqual(login.token.tokenType, "Bearer")
          assert.deepStrictEqual(login.token.expiresIn(now), Option.some(3599))
          assert.isDefined(login.token.refreshExpiresAt)
          const refreshed = yield* service.refresh(login.token)
          assert.strictEqual(Redacted.value(refreshed.accessToken), "DD.EE.FF")
          const valid = yield* service.introspect(refreshed.accessToken)
          assert.isTrue(valid.active)
          assert.strictEqual(valid.scope, "email")
          assert.strictEqual(valid.exp, 1653565113)
          assert.strictEqual(valid.iat, 1653564993)
          assert.strictEqual(valid.email_verified, true)
          assert.strictEqual(valid.typ, "Bearer")
          const invalid = yield* service.introspect(Redacted.make("not-a-token"))
          assert.isFalse(invalid.active)
          yield* service.logout(Redacted.make("AA.BB.CC"))
          // Every request met the seed: none was refused with invalid_request.
          assert.deepStrictEqual(
            server.seen.map((s) => s.path.slice(HyperId.realmPath.length)),
            ["/token", "/token", "/token/introspect", "/token/introspect", "/logout"],
          )
        }),
      ),
    )

    it.scoped("verification_level 2 without twitter-check or telegram-check is refused before any request", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(hyperidServer(HyperId.realmPath))
          const service = yield* make(server.origin)
          const refused = yield* Effect.flip(service.authorizationUrl({ scope: "openid", verification_level: 2 }))
          assert.strictEqual(refused.code, "invalid_input")
          assert.strictEqual(server.seen.length, 0)
        }),
      ),
    )
  })

  describe(`hyperline as its seed documents it (${transport})`, () => {
    const secret = "hl-secret"
    const client = { client_id: "hl-client", client_secret: secret }
    const seedToken = { access_token: "hl-at", refresh_token: "hl-rt", expires_in: 3600, token_type: "bearer" }
    const handle = (seen: Seen): Answer => {
      if (seen.path.startsWith("/v1/oauth/")) {
        // A JSON body with the client's id and secret; no form, no Basic header.
        if (
          seen.method !== "POST" ||
          seen.contentType !== "application/json" ||
          seen.headers.authorization !== undefined
        )
          return oauthError(400, "invalid_request")
      }
      switch (seen.path) {
        case "/v1/oauth/tokens":
          if (
            jsonRequired(seen.json, {
              ...client,
              grant_type: "authorization_code",
              code: "hl-code",
              redirect_uri: "https://app.example/cb",
            })
          )
            return json(200, seedToken)
          if (jsonRequired(seen.json, { ...client, grant_type: "refresh_token", refresh_token: "hl-rt" }))
            return json(200, seedToken)
          return oauthError(400, "invalid_request")
        case "/v1/oauth/revoke":
          if (jsonRequired(seen.json, { ...client, token: "hl-rt" })) return json(200, {})
          // A server that answers a token it no longer knows with an error, as RFC 7009 §2.2 says it should not.
          if (jsonRequired(seen.json, { ...client, token: "hl-revoked-grant" })) return oauthError(400, "invalid_grant")
          return oauthError(400, "invalid_request")
        case "/v1/customers":
          return seen.headers.authorization === "Bearer hl-at" && seen.headers["hyperline-companyid"] === "cmp_2"
            ? json(200, { data: [] })
            : { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } }
        default:
          return { status: 404 }
      }
    }

    const hyperlineAt = (origin: string) =>
      Hyperline.make({
        origin,
        clientId: client.client_id,
        clientSecret: Redacted.make(secret),
        redirectUri: "https://app.example/cb",
      })

    it.scoped("authorize URL, code exchange, refresh, revoke and the company header", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(handle)
          const service = yield* hyperlineAt(server.origin)
          const started = yield* service.authorizationUrl()
          const url = new URL(started.url)
          assert.strictEqual(url.pathname, "/v1/oauth/authorize")
          for (const [name, value] of Object.entries({
            client_id: "hl-client",
            redirect_uri: "https://app.example/cb",
            response_type: "code",
            state: started.state,
          })) {
            assert.deepStrictEqual(url.searchParams.getAll(name), [value], name)
          }
          const token = yield* service.completeLogin(
            started,
            `https://app.example/cb?code=hl-code&state=${started.state}`,
          )
          assert.strictEqual(Redacted.value(token.accessToken), "hl-at")
          assert.strictEqual(token.tokenType, "Bearer")
          // Refresh tokens do not expire automatically.
          assert.isUndefined(token.refreshExpiresAt)
          const refreshed = yield* service.refresh(token)
          assert.strictEqual(Redacted.value(refreshed.accessToken), "hl-at")
          yield* service.revoke(Redacted.make("hl-rt"))
          const customers = yield* service.request(
            refreshed.accessToken,
            HttpClientRequest.get(`${server.origin}/v1/customers`),
            { companyId: "cmp_2" },
          )
          assert.strictEqual(customers.status, 200)
          assert.deepStrictEqual(
            server.seen.map((s) => s.path),
            ["/v1/oauth/tokens", "/v1/oauth/tokens", "/v1/oauth/revoke", "/v1/customers"],
          )
        }),
      ),
    )

    it.scoped("revoking a token the server no longer knows succeeds: it is revoked (RFC 7009 §2.2)", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(handle)
          const service = yield* hyperlineAt(server.origin)
          yield* service.revoke(Redacted.make("hl-revoked-grant"))
          // Any other refusal is still one: here, a token the server never issued to this client.
          const refused = yield* Effect.flip(service.revoke(Redacted.make("hl-unknown")))
          assert.strictEqual(refused.code, "invalid_request")
        }),
      ),
    )

    it.scoped("a redirect whose state is not the login's is refused before the code is sent", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(handle)
          const service = yield* hyperlineAt(server.origin)
          const started = yield* service.authorizationUrl()
          const refused = yield* Effect.flip(
            service.completeLogin(started, "https://app.example/cb?code=hl-code&state=forged"),
          )
          assert.strictEqual(refused.code, "state_mismatch")
          assert.strictEqual(server.seen.length, 0)
        }),
      ),
    )
  })

  describe(`hyperproof as its seed documents it (${transport})`, () => {
    const control = {
      id: "string",
      orgId: "string",
      controlIdentifier: "string",
      name: "string",
      description: "string",
      notes: "string",
      domainId: "string",
      domainName: "string",
      workStatus: "string",
      owner: {
        id: "string",
        email: "string",
        givenName: "string",
        surname: "string",
        profilePhotoName: "string",
        userId: "string",
        roleIds: ["string"],
        state: "string",
      },
      freshnessPolicy: "string",
      freshForDuration: "string",
      createdOn: "string",
      updatedOn: "string",
      status: "string",
      permissions: ["string"],
    }
    const handle = (seen: Seen): Answer => {
      if (seen.path === "/oauth/token") {
        // "include the grant type, client ID and client secret as form URL encoded values"
        return seen.method === "POST" &&
          seen.headers.authorization === undefined &&
          required(seen.form, {
            grant_type: "client_credentials",
            client_id: "YOUR_CLIENT_ID",
            client_secret: "YOUR_CLIENT_SECRET",
          })
          ? json(200, {
              access_token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ2ZXIiOiIxLjAiLCJpc3",
              token_type: "bearer",
              expires_in: 3600,
            })
          : oauthError(400, "invalid_request")
      }
      if (seen.method === "GET" && seen.path === "/v1/controls/ctl1") {
        return seen.headers.authorization === "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ2ZXIiOiIxLjAiLCJpc3"
          ? json(200, control)
          : { status: 401 }
      }
      return { status: 404 }
    }

    it.scoped("client credentials in a form, then GET /v1/controls/{controlId} with the Bearer token", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(handle)
          const service = yield* Hyperproof.make({
            authUrl: server.origin,
            apiUrl: server.origin,
            clientId: "YOUR_CLIENT_ID",
            clientSecret: Redacted.make("YOUR_CLIENT_SECRET"),
          })
          const token = yield* service.fetchToken
          assert.deepStrictEqual(token.expiresIn(yield* DateTime.now), Option.some(3600))
          const got = yield* service.getControl("ctl1")
          assert.strictEqual(got.orgId, "string")
          assert.deepStrictEqual(got.owner?.roleIds, ["string"])
          assert.deepStrictEqual(
            server.seen.map((s) => `${s.method} ${s.path}`),
            ["POST /oauth/token", "GET /v1/controls/ctl1"],
          )
        }),
      ),
    )
  })

  describe(`hyper as its seed and RFC 8628 / RFC 7662 describe it (${transport})`, () => {
    const handle = () => {
      let polls = 0
      return (seen: Seen): Answer => {
        if (seen.method !== "POST" || seen.form === undefined || seen.headers.authorization !== undefined)
          return oauthError(400, "invalid_request")
        switch (seen.path) {
          case "/oauth/device":
            return required(seen.form, { client_id: "hyper-cli" })
              ? json(200, {
                  device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                  user_code: "WDJB-MJHT",
                  verification_uri: "https://example.com/device",
                  expires_in: 1800,
                  interval: 5,
                })
              : oauthError(400, "invalid_request")
          case "/oauth/token":
            if (
              !required(seen.form, {
                grant_type: "urn:ietf:params:oauth:grant-type:device_code",
                device_code: "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                client_id: "hyper-cli",
              })
            )
              return oauthError(400, "invalid_request")
            polls++
            return polls === 1
              ? oauthError(400, "authorization_pending")
              : json(200, { access_token: "hyper-at", token_type: "Bearer", expires_in: 3600 })
          case "/oauth/introspect":
            return required(seen.form, { token: "hyper-at", client_id: "hyper-cli" })
              ? json(200, { active: true, scope: "read", exp: 1653565113, iat: 1653564993 })
              : json(200, { active: false })
          default:
            return { status: 404 }
        }
      }
    }

    it.scoped("device authorization, polling at the interval, introspection", () =>
      live(
        Effect.gen(function* () {
          const server = yield* strictServer(handle())
          const service = yield* Hyper.make({ baseUrl: server.origin, clientId: "hyper-cli" })
          const device = yield* service.initiateDeviceFlow()
          assert.strictEqual(device.userCode, "WDJB-MJHT")
          assert.strictEqual(Duration.toSeconds(device.interval), 5)
          const poller = yield* Effect.fork(service.pollForToken(device))
          yield* pollsOnTestClock(poller, device.interval, 2)
          const token = yield* Fiber.join(poller)
          assert.strictEqual(Redacted.value(token.accessToken), "hyper-at")
          const info = yield* service.introspectToken(token.accessToken)
          assert.isTrue(info.active)
          assert.strictEqual(info.scope, "read")
          assert.strictEqual(info.exp, 1653565113)
          assert.deepStrictEqual(
            server.seen.map((s) => s.path),
            ["/oauth/device", "/oauth/token", "/oauth/token", "/oauth/introspect"],
          )
        }),
      ),
    )
  })
}
