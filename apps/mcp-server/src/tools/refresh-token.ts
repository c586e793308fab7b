import { Accounts } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Account, describeToken, ProviderId, TokenInfo } from "../inputs.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

export const refreshToken = defineTool({
  name: "refresh_token",
  title: "Refresh token",
  description:
    "Refreshes the stored token now (hyperproof: fetches a new client-credentials token) and returns its metadata. If the provider refuses the refresh token (invalid_grant) the login is removed and the result is not_logged_in.",
  input: Schema.Struct({ provider: ProviderId, account: Account }),
  output: Schema.Struct(TokenInfo),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      yield* (yield* Providers).get(input.provider)
      const token = yield* (yield* Accounts.Accounts).refresh({ provider: input.provider, account: input.account })
      return describeToken(input.provider, input.account, token, yield* DateTime.now)
    }),
})
