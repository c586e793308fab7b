import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { atMostChars, describeToken, NonEmpty, OptionalTokenInfo, rule, withDefault } from "../inputs.js"
import { Logins } from "../Logins.js"
import { defineTool } from "../tool.js"

export const completeLogin = defineTool({
  name: "complete_login",
  title: "Complete a login",
  description:
    "Finishes a pending login. Waits up to wait_seconds for the user (sending progress notifications when asked to), then returns the token info, or status pending if the user is not done yet. For an authorization-code login whose redirect this server cannot receive, pass the full URL the browser landed on as redirect_url. A refused login is access_denied, one that ran out of time expired_token.",
  input: Schema.Struct({
    login_id: NonEmpty.pipe(atMostChars(128)).annotations({ description: "The login_id the login tool returned." }),
    redirect_url: Schema.optional(
      Schema.String.pipe(atMostChars(16_384)).annotations({
        description: "The full URL the browser was redirected to.",
      }),
    ),
    wait_seconds: withDefault(
      Schema.Number.pipe(
        Schema.filter((n) => n >= 0 && n <= 120, rule("must be from 0 to 120", { minimum: 0, maximum: 120 })),
      ).annotations({
        description: "How long to wait for the user, 0 to 120 s.",
      }),
      30,
    ),
  }),
  output: Schema.Struct({
    ...OptionalTokenInfo,
    status: Schema.Literal("authenticated", "pending"),
    login_id: Schema.optional(Schema.String),
    next_step: Schema.optional(
      Schema.String.annotations({ description: "While pending: what to tell the user and what to call next" }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  run: (input, context) =>
    Effect.gen(function* () {
      const logins = yield* Logins
      const finished =
        input.redirect_url === undefined
          ? yield* logins.await(input.login_id, Duration.seconds(input.wait_seconds), (elapsed) =>
              context.progress(
                Math.floor(Duration.toSeconds(elapsed)),
                input.wait_seconds,
                "Waiting for the user to finish signing in",
              ),
            )
          : Option.some(yield* logins.finishRedirect(input.login_id, input.redirect_url))
      if (Option.isNone(finished))
        return {
          status: "pending" as const,
          login_id: input.login_id,
          next_step:
            "The user has not finished yet. Ask them to finish signing in (the link or code the login gave), then call complete_login again with this login_id.",
        }
      const { provider, account, token } = finished.value
      return { ...describeToken(provider, account, token, yield* DateTime.now), status: "authenticated" as const }
    }),
})
