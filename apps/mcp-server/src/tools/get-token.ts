import { Accounts } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Forbidden } from "../errors.js"
import { Account, describeToken, ProviderId, TokenInfo, withDefault } from "../inputs.js"
import { Providers } from "../Providers.js"
import { ServerConfig } from "../ServerConfig.js"
import { defineTool } from "../tool.js"

export const getToken = defineTool({
  name: "get_token",
  title: "Get token info",
  description:
    "Returns the stored token's metadata (type, expiry, scope, whether a refresh token is held), refreshing it first when it has expired or expires within 60 s and can be refreshed. The raw access_token is included only with reveal: true when the server runs with HYPERAUTH_ALLOW_TOKEN_REVEAL=1.",
  input: Schema.Struct({
    provider: ProviderId,
    account: Account,
    reveal: withDefault(
      Schema.Boolean.annotations({
        description: "Include the raw access token (needs HYPERAUTH_ALLOW_TOKEN_REVEAL=1).",
      }),
      false,
    ),
  }),
  output: Schema.Struct({
    ...TokenInfo,
    access_token: Schema.optional(
      Schema.String.annotations({ description: "Only with reveal and HYPERAUTH_ALLOW_TOKEN_REVEAL=1" }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      if (input.reveal && !(yield* ServerConfig).allowTokenReveal) {
        return yield* new Forbidden({
          reason:
            "Revealing raw tokens is disabled. Call get_token without reveal, or restart the server with HYPERAUTH_ALLOW_TOKEN_REVEAL=1.",
        })
      }
      // The provider first, as every tool does: an unconfigured one is not_configured, whatever is stored.
      const provider = yield* (yield* Providers).get(input.provider)
      const accounts = yield* Accounts.Accounts
      const key = { provider: input.provider, account: input.account }
      const stored = yield* accounts.get(key)
      const now = yield* DateTime.now
      const renewable = provider.flow === "client_credentials" || stored.canRefresh(now)
      const token =
        stored.expiresWithin(now, Accounts.refreshMargin) && renewable ? yield* accounts.accessToken(key) : stored
      const info = describeToken(input.provider, input.account, token, yield* DateTime.now)
      return input.reveal ? { ...info, access_token: Redacted.value(token.accessToken) } : info
    }),
})
