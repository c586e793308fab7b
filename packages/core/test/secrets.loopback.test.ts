/**
 * A provider that echoes the request back, over real loopback HTTP: the
 * client secret and the refresh token, in whatever encoding the server
 * chose, never reach an error built from its answer.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperIdClient } from "@hyperauth/emulator"
import { Cause, Effect, Exit, Redacted, Schema } from "effect"
import * as HyperId from "../src/HyperId.js"
import { TokenResponse } from "../src/internal/wire.js"
import * as Token from "../src/Token.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const clientSecret = "cs+Sup3r/S3cret=="
const refreshToken = "rt+r3fresh/T0ken~value"

const service = () =>
  HyperId.make({
    origin: emulator.current.origins.hyperid,
    clientId: defaultHyperIdClient.clientId,
    clientSecret: Redacted.make(clientSecret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperid",
  })

const tokenSet = Effect.flatMap(
  Effect.orDie(
    Schema.decodeUnknown(TokenResponse)({
      access_token: "at-123456789",
      token_type: "Bearer",
      refresh_token: refreshToken,
    }),
  ),
  (response) => Token.fromResponse(response),
)

/** How servers were seen echoing a value. */
const spellings = (value: string): ReadonlyArray<string> => [
  value,
  encodeURIComponent(value),
  encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
  new URLSearchParams({ v: value }).toString().slice(2),
  Buffer.from(value).toString("base64"),
  Buffer.from(value).toString("base64url"),
  Buffer.from(`${defaultHyperIdClient.clientId}:${value}`).toString("base64"),
]

/** The request as a server might quote it back. */
const echo = (value: string) =>
  spellings(value)
    .map((spelling) => `client_secret=${spelling}&refresh_token=${spelling} Basic ${spelling}`)
    .join(" ")

const renderings = <A, E>(exit: Exit.Exit<A, E>): ReadonlyArray<string> => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") return assert.fail("expected a typed failure")
  const error: unknown = exit.cause.error
  const base = error instanceof Error ? [error.message, String(error), error.stack ?? ""] : []
  return [...base, JSON.stringify(error), Cause.pretty(exit.cause)]
}

const path = (endpoint: string) => `${HyperId.realmPath}${endpoint}`

const operations: Record<
  string,
  { readonly path: string; readonly run: (s: HyperId.Service) => Effect.Effect<unknown, unknown> }
> = {
  refresh_token: { path: path("/token"), run: (s) => Effect.flatMap(tokenSet, s.refresh) },
  introspect_token: { path: path("/token/introspect"), run: (s) => s.introspect(Redacted.make(refreshToken)) },
  logout: { path: path("/logout"), run: (s) => s.logout(Redacted.make(refreshToken)) },
}

describe("secrets echoed in other encodings", () => {
  for (const [name, operation] of Object.entries(operations)) {
    for (const value of [clientSecret, refreshToken]) {
      const answers = {
        error_description: {
          status: 400,
          body: { error: "invalid_request", error_description: echo(value) },
        },
        "WWW-Authenticate": {
          status: 401,
          headers: {
            "www-authenticate": `Bearer error="invalid_token", error_description="${echo(value).replaceAll('"', "")}"`,
          },
        },
        "an HTML page": { status: 502, headers: { "content-type": "text/html" }, body: `<p>${echo(value)}</p>` },
      }
      for (const [where, answer] of Object.entries(answers)) {
        it.live(`${name}: ${value === clientSecret ? "client secret" : "refresh token"} in ${where}`, () =>
          Effect.gen(function* () {
            emulator.current.faults.inject({ path: operation.path, ...answer })
            const exit = yield* Effect.exit(operation.run(yield* service()))
            for (const text of renderings(exit)) {
              for (const spelling of spellings(value)) assert.notInclude(text, spelling)
            }
          }).pipe(Effect.provide(FetchHttpClient.layer)),
        )
      }
    }
  }
})

/** Every run of `length` characters of `value`: none of them may reach a message. */
const pieces = (value: string, length: number): ReadonlyArray<string> =>
  Array.from({ length: value.length - length + 1 }, (_, i) => value.slice(i, i + length))

describe("a secret quoted far into an indented page", () => {
  // An error page's indentation is single-spaced in an excerpt: 4,000 characters
  // of it become one space, so what follows it opens the excerpt, even a secret
  // the 4,000-character scrubbing window cut in two.
  for (const offset of [3_970, 3_985, 3_990, 3_993]) {
    it.live(`no piece of the client secret starting at character ${offset} reaches the error`, () =>
      Effect.gen(function* () {
        const before = `<html>\n<body>\n${"\n".repeat(offset - 14)}`
        emulator.current.faults.inject({
          path: path("/token"),
          status: 502,
          headers: { "content-type": "text/html" },
          body: `${before}${clientSecret}\n</body>\n</html>`,
        })
        const exit = yield* Effect.exit(operations.refresh_token?.run(yield* service()) ?? Effect.void)
        for (const text of renderings(exit)) {
          for (const piece of pieces(clientSecret, 6)) assert.notInclude(text, piece)
        }
      }).pipe(Effect.provide(FetchHttpClient.layer)),
    )
  }
})
