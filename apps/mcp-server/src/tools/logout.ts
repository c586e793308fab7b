import { Accounts } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { z } from "zod"
import { account, providerId } from "../inputs.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

export const logout = defineTool({
  name: "logout",
  title: "Log out",
  description:
    "Ends a login: revokes it at the provider where it has an endpoint (hyperid logout, hyperline revoke) and always removes it from the store.",
  input: z.object({ provider: providerId, account }),
  output: z.object({
    revoked: z.boolean(),
    removed: z.boolean(),
    revoke_error: z.string().optional().describe("Why revocation at the provider failed; the login was still removed."),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  run: (input) =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const key = { provider: input.provider, account: input.account }
      const stored = yield* Effect.option(accounts.get(key))
      if (Option.isNone(stored)) return { revoked: false, removed: false }
      const provider = yield* Effect.option((yield* Providers).get(input.provider))
      const revoked = Option.isNone(provider)
        ? { revoked: false }
        : yield* provider.value.revoke(stored.value).pipe(
            Effect.map((revoked) => ({ revoked })),
            Effect.catchAll((error) =>
              Effect.succeed({ revoked: false, revoke_error: `${error.code}: ${error.message}` }),
            ),
          )
      const removed = yield* accounts.remove(key)
      return { ...revoked, removed }
    }),
})
