import { Accounts, OAuthError } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Account, ProviderId } from "../inputs.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

export const introspectToken = defineTool({
  name: "introspect_token",
  title: "Introspect token",
  description:
    "Asks the provider whether the stored access token is active (RFC 7662): active, scope, exp, iat and the other members it returns. hyper and hyperid support it; the others answer not_supported.",
  input: Schema.Struct({ provider: ProviderId, account: Account }),
  output: Schema.Struct(
    {
      active: Schema.Boolean,
      scope: Schema.optional(Schema.String),
      exp: Schema.optional(Schema.Number),
      iat: Schema.optional(Schema.Number),
    },
    Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  ),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      const providers = yield* Providers
      // Said first: neither settings nor a login would make it supported.
      if (providers.entries.some((entry) => entry.id === input.provider && !entry.introspection)) {
        return yield* new OAuthError.NotSupported({ provider: input.provider, operation: "token introspection" })
      }
      const provider = yield* providers.get(input.provider)
      const token = yield* (yield* Accounts.Accounts).get({ provider: input.provider, account: input.account })
      return { ...(yield* provider.introspect(token)) }
    }),
})
