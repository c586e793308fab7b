import { Accounts } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Account, ProviderId } from "../inputs.js"
import { Logins } from "../Logins.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

export const logout = defineTool({
  name: "logout",
  title: "Log out",
  description:
    "Ends a login: revokes it at the provider where it has an endpoint (hyperid logout, hyperline revoke) and removes it from the store. A login of the account still waiting for the user ends too. A hyperid session that had already ended, or a token the provider says it no longer knows, counts as revoked. A login made with other settings of the provider (another base URL or client id, by a server sharing the store) is not this server's: nothing is sent or removed.",
  input: Schema.Struct({ provider: ProviderId, account: Account }),
  output: Schema.Struct({
    revoked: Schema.Boolean,
    removed: Schema.Boolean,
    revoke_error: Schema.optional(
      Schema.String.annotations({ description: "Why revocation at the provider failed; the login was still removed." }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      // The provider first, as every tool does: an unconfigured one is not_configured, whatever is stored
      // (a server without its settings cannot tell whose login it is, nor revoke it).
      yield* (yield* Providers).get(input.provider)
      const accounts = yield* Accounts.Accounts
      // A login still waiting for the user would bring the account back when they approve: it ends first.
      yield* (yield* Logins).end({ provider: input.provider, account: input.account })
      // Under the account's lease: a refresh in flight finishes first and cannot bring the login back.
      const result = yield* accounts.logout({ provider: input.provider, account: input.account })
      return {
        revoked: result.revoked,
        removed: result.removed,
        ...(result.revokeError === undefined
          ? {}
          : { revoke_error: `${result.revokeError.code}: ${result.revokeError.message}` }),
      }
    }),
})
