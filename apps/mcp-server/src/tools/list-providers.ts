import { Accounts, Provider, TokenStore } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { describeToken } from "../inputs.js"
import { Providers } from "../Providers.js"
import { defineTool } from "../tool.js"

export const listProviders = defineTool({
  name: "list_providers",
  title: "List providers",
  description:
    "Lists the four OAuth providers with their login flow, whether they are configured (and which settings they still need), their API base URL, and the accounts logged in to each; and which token store holds the logins.",
  input: Schema.Struct({}),
  output: Schema.Struct({
    providers: Schema.Array(
      Schema.Struct({
        id: Schema.String,
        flow: Schema.Literal(...Provider.flowKinds),
        configured: Schema.Boolean,
        missing: Schema.Array(Schema.String),
        problem: Schema.optional(
          Schema.String.annotations({ description: "What is wrong with a setting that is present" }),
        ),
        api_base_url: Schema.String.annotations({
          description:
            "The origin call_api paths are appended to; empty while a setting that decides it is not valid (see api_base_url_problem)",
        }),
        api_base_url_problem: Schema.optional(
          Schema.String.annotations({
            description:
              "Which setting keeps the API base from being known, what it accepts, and the base with that setting unset",
          }),
        ),
        accounts: Schema.Array(
          Schema.Struct({
            account: Schema.String,
            status: Schema.Literal("authenticated", "expired"),
            expires_at: Schema.optional(Schema.String),
            scope: Schema.optional(Schema.String),
          }),
        ),
      }),
    ),
    store: Schema.Struct({
      kind: Schema.Literal("memory", "file", "redis"),
      location: Schema.String.annotations({ description: "The file, or the Redis URL without user or password" }),
      encrypted: Schema.Boolean,
      problem: Schema.optional(
        Schema.String.annotations({ description: "Why the logins cannot be read now, and what to do" }),
      ),
    }).annotations({ description: "Where logins are kept (HYPERAUTH_STORE)" }),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  run: () =>
    Effect.gen(function* () {
      const providers = yield* Providers
      // A store that cannot be read still leaves the providers to list; the problem says what to do.
      const listed = yield* Effect.either((yield* Accounts.Accounts).list)
      const stored = listed._tag === "Right" ? listed.right : []
      const now = yield* DateTime.now
      const store = (yield* TokenStore.TokenStore).info
      return {
        store: {
          kind: store.kind,
          location: store.location,
          encrypted: store.encrypted,
          ...(listed._tag === "Left" ? { problem: listed.left.message } : {}),
        },
        providers: providers.entries.map((entry) => ({
          id: entry.id,
          flow: entry.flow,
          configured: Option.isSome(entry.provider),
          missing: [...entry.missing],
          ...(entry.problem === undefined ? {} : { problem: entry.problem }),
          api_base_url: entry.apiBaseUrl ?? "",
          ...(entry.apiBaseUrlProblem === undefined ? {} : { api_base_url_problem: entry.apiBaseUrlProblem }),
          accounts: stored
            // A login made with other settings of this provider (a sandbox's, on a shared store) is not this server's.
            .filter(
              (s) =>
                s.provider === entry.id &&
                !Option.exists(
                  entry.provider,
                  (p) => p.source !== undefined && s.token.source !== undefined && p.source !== s.token.source,
                ),
            )
            .map((s) => {
              const info = describeToken(s.provider, s.account, s.token, now)
              return {
                account: s.account,
                status: info.status,
                ...(info.expires_at === undefined ? {} : { expires_at: info.expires_at }),
                ...(info.scope === undefined ? {} : { scope: info.scope }),
              }
            }),
        })),
      }
    }),
})
