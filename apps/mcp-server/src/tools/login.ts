import { Accounts } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Account, atMostChars, describeToken, Integer, OptionalTokenInfo, ProviderId } from "../inputs.js"
import { Logins, type Service as LoginsService, type Pending } from "../Logins.js"
import { Providers } from "../Providers.js"
import { defineTool, type ToolContext } from "../tool.js"

/** The result of a pending login, and its URL offered to the user where the client can show one. */
const present = (provider: string, { loginId, started, listening }: Pending, context: ToolContext) => {
  if (started._tag === "DevicePending") {
    const url = started.verificationUriComplete ?? started.verificationUri
    return Effect.as(
      context.offerUrl(`Open this page and enter the code ${started.userCode} to sign in to ${provider}.`, url),
      {
        status: "pending" as const,
        login_id: loginId,
        user_code: started.userCode,
        verification_uri: started.verificationUri,
        ...(started.verificationUriComplete === undefined
          ? {}
          : { verification_uri_complete: started.verificationUriComplete }),
        expires_at: DateTime.formatIso(started.expiresAt),
        interval: Duration.toSeconds(started.interval),
        next_step: `Ask the user to open ${url}${started.verificationUriComplete === undefined ? ` and enter the code ${started.userCode}` : ""}, then call complete_login with this login_id.`,
      },
    )
  }
  return Effect.as(context.offerUrl(`Open this page to sign in to ${provider}.`, started.authorizationUrl), {
    status: "pending" as const,
    login_id: loginId,
    authorization_url: started.authorizationUrl,
    redirect_uri: started.redirectUri,
    listening,
    expires_at: DateTime.formatIso(started.expiresAt),
    next_step: listening
      ? "Ask the user to open authorization_url and approve; this server receives the redirect. Then call complete_login with this login_id."
      : "Ask the user to open authorization_url, approve, and give you the full URL the browser lands on; call complete_login with this login_id and that URL as redirect_url.",
  })
}

const Input = Schema.Struct({
  provider: ProviderId,
  account: Account,
  scope: Schema.optional(
    Schema.String.pipe(atMostChars(1024)).annotations({
      description:
        "Space-separated scopes to request. hyperline takes none (its login asks for no scope): leave it out.",
    }),
  ),
  options: Schema.optional(
    // hyperid's parameters named, so that a client sees them; any other name goes on to the
    // provider, which says which it takes (the others take none).
    Schema.Struct(
      {
        flow_mode: Schema.optional(Integer.annotations({ description: "hyperid: the flow mode, a whole number." })),
        ui_locales: Schema.optional(
          Schema.String.pipe(atMostChars(256)).annotations({ description: "hyperid: the UI locales, e.g. en." }),
        ),
        login_hint: Schema.optional(
          Schema.String.pipe(atMostChars(1024)).annotations({ description: "hyperid: the user to sign in." }),
        ),
        verification_level: Schema.optional(
          Schema.Literal(2, 3, 4).annotations({
            description: "hyperid: 4 KYC full, 3 KYC basic, 2 social (needs twitter-check or telegram-check in scope).",
          }),
        ),
      },
      Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    ).annotations({
      description:
        "Provider parameters. hyperid: flow_mode (number), ui_locales (string, up to 256 characters), login_hint (string, up to 1024), verification_level (2, 3 or 4; 2 needs twitter-check or telegram-check in scope). The other providers take none.",
    }),
  ),
})

/** Returns the login waiting for this request, or starts one. */
const start = (logins: LoginsService, input: typeof Input.Type, context: ToolContext) =>
  Effect.gen(function* () {
    const key = {
      provider: input.provider,
      account: input.account,
      request: JSON.stringify({ scope: input.scope, options: input.options }),
      scope: input.scope,
    }
    // The same login asked for again: the user's code or link stays good.
    const waiting = yield* logins.pending(key)
    if (Option.isSome(waiting)) return yield* present(input.provider, waiting.value, context)

    const providers = yield* Providers
    const provider = yield* providers.get(input.provider)
    const request = { scope: input.scope, options: input.options }
    if (provider.flow === "authorization_code") {
      // The listener is taken first: the authorization URL names the port it holds.
      const started = yield* logins.startRedirect(
        { ...key, source: provider.source },
        { provider: input.provider, pinned: providers.pinnedRedirectUri(input.provider) },
        (redirectUri) =>
          Effect.flatMap(provider.startLogin({ ...request, redirectUri }), (started) =>
            started._tag === "RedirectPending"
              ? Effect.succeed(started)
              : Effect.dieMessage(`${input.provider} logs in by redirect, but started a ${started._tag} login`),
          ),
      )
      return yield* present(input.provider, started, context)
    }
    const started = yield* provider.startLogin(request)
    switch (started._tag) {
      case "Authenticated": {
        yield* (yield* Accounts.Accounts).save({ provider: input.provider, account: input.account }, started.token)
        return {
          ...describeToken(input.provider, input.account, started.token, yield* DateTime.now),
          status: "authenticated" as const,
        }
      }
      case "DevicePending":
        return yield* present(
          input.provider,
          yield* logins.startDevice({ ...key, source: provider.source }, started),
          context,
        )
      case "RedirectPending":
        return yield* Effect.dieMessage(`${input.provider} is not an authorization-code provider`)
    }
  })

export const login = defineTool({
  name: "login",
  title: "Log in",
  description:
    "Starts a login. hyperproof (client credentials) is authenticated at once. hyper (device code) returns a user_code and verification_uri for the user; the server polls in the background. hyperid and hyperline (authorization code) return an authorization_url for the user to open. Finish pending logins with complete_login.",
  input: Input,
  output: Schema.Struct({
    ...OptionalTokenInfo,
    status: Schema.Literal("authenticated", "pending"),
    login_id: Schema.optional(Schema.String),
    user_code: Schema.optional(Schema.String),
    verification_uri: Schema.optional(Schema.String),
    verification_uri_complete: Schema.optional(Schema.String),
    authorization_url: Schema.optional(Schema.String),
    redirect_uri: Schema.optional(Schema.String),
    listening: Schema.optional(
      Schema.Boolean.annotations({ description: "Whether this server receives the redirect itself" }),
    ),
    interval: Schema.optional(Schema.Number.annotations({ description: "Seconds between polls" })),
    next_step: Schema.optional(
      Schema.String.annotations({ description: "What to tell the user and what to call next" }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  run: (input, context) =>
    Effect.flatMap(Logins, (logins) =>
      start(logins, input, context).pipe(logins.exclusive({ provider: input.provider, account: input.account })),
    ),
})
