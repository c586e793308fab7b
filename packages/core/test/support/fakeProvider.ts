/**
 * What the Accounts tests stand in for a provider with: a hyperid whose
 * `refresh` (and, if given, `revoke`) the test writes; the login steps are
 * not used there. And token sets made from token answers, as a provider's
 * would be.
 */
import { Effect, Schema } from "effect"
import { TokenResponse } from "../../src/internal/wire.js"
import type { Provider } from "../../src/Provider.js"
import * as Token from "../../src/Token.js"

export const fakeProvider = (parts: Pick<Provider, "refresh"> & Partial<Pick<Provider, "revoke">>): Provider => ({
  id: "hyperid",
  flow: "authorization_code",
  apiBaseUrl: "http://127.0.0.1:1",
  startLogin: () => Effect.die("not used"),
  resumeDevice: () => Effect.die("not used"),
  resumeRedirect: () => Effect.die("not used"),
  introspect: () => Effect.die("not used"),
  revoke: () => Effect.succeed(false),
  decorate: (request) => request,
  ...parts,
})

/** A token set from a token answer's fields (`previous`: the one it renews). */
export const tokenOf = (fields: Record<string, unknown>, previous?: Token.TokenSet) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(TokenResponse)(fields)), (response) =>
    Token.fromResponse(response, previous),
  )
