/** What the loopback suites start from: a token already held, and a hyperid service on the emulator. */
import { defaultHyperIdClient, type Emulator } from "@hyperauth/emulator"
import { Effect, Redacted, Schema } from "effect"
import * as HyperId from "../../src/HyperId.js"
import { TokenResponse } from "../../src/internal/wire.js"
import * as Token from "../../src/Token.js"

/** A token set held before the call under test, made from its token answer's members. */
export const held = (answer: Readonly<Record<string, unknown>>): Effect.Effect<Token.TokenSet> =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(TokenResponse)(answer)), (response) => Token.fromResponse(response))

/** hyperid on the emulator, with its default client and the loopback redirect URI. */
export const hyperidOn = (emulator: { readonly current: Emulator }) =>
  HyperId.make({
    origin: emulator.current.origins.hyperid,
    clientId: defaultHyperIdClient.clientId,
    clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
    redirectUri: "http://127.0.0.1:8976/callback/hyperid",
  })
