/**
 * The core's providers (`Provider.definitions`) as this server found them
 * configured at start: each one's flow, API base and, when configured, its
 * `Provider`; otherwise the settings it still needs.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { OAuthError, Provider } from "@hyperauth/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

export interface ProviderEntry {
  readonly id: Provider.ProviderId
  readonly flow: Provider.FlowKind
  /** Whether it introspects tokens: known without settings or a login. */
  readonly introspection: boolean
  /** Absent while the settings that decide it are not valid (`apiBaseUrlProblem` says why). */
  readonly apiBaseUrl: string | undefined
  /** Which setting keeps the API base from being known, what it accepts, and the base with it unset. */
  readonly apiBaseUrlProblem: string | undefined
  /** Settings to provide before this provider can be used. */
  readonly missing: ReadonlyArray<string>
  /** Why a present setting is not usable. */
  readonly problem: string | undefined
  readonly provider: Option.Option<Provider.Provider>
  /** The redirect URI the user set, for authorization-code providers: the login then uses no other. */
  readonly pinnedRedirectUri: Option.Option<string>
}

export interface Service {
  readonly entries: ReadonlyArray<ProviderEntry>
  /** The provider, or `not_configured` naming what it needs. */
  readonly get: (id: string) => Effect.Effect<Provider.Provider, OAuthError.NotConfigured>
  /** The redirect URI the user set for this provider, if any. */
  readonly pinnedRedirectUri: (id: string) => Option.Option<string>
}

export class Providers extends Context.Tag("@hyperauth/mcp-server/Providers")<Providers, Service>() {}

export const make: Effect.Effect<Service, never, HttpClient.HttpClient> = Effect.gen(function* () {
  const entries = yield* Effect.forEach(Provider.definitions, (definition) =>
    Effect.gen(function* () {
      const made = yield* Effect.either(definition.provider)
      // Read on its own only when the provider could not be made: a made provider knows its API base.
      const apiBase = Either.isRight(made)
        ? Either.right(made.right.apiBaseUrl)
        : yield* Effect.either(definition.loadApiBaseUrl)
      return {
        id: definition.id,
        flow: definition.flow,
        introspection: definition.introspection,
        apiBaseUrl: Either.getOrUndefined(apiBase),
        apiBaseUrlProblem: Either.match(apiBase, { onLeft: (e) => e.reason, onRight: () => undefined }),
        missing: Either.match(made, { onLeft: (e) => e.missing, onRight: () => [] }),
        problem: Either.match(made, { onLeft: (e) => e.reason, onRight: () => undefined }),
        provider: Either.getRight(made),
        pinnedRedirectUri: yield* Effect.orElseSucceed(definition.configuredRedirectUri, Option.none),
      } satisfies ProviderEntry
    }),
  )
  const get = (id: string) =>
    Effect.suspend(() => {
      const entry = entries.find((e) => e.id === id)
      if (entry !== undefined && Option.isSome(entry.provider)) return Effect.succeed(entry.provider.value)
      return Effect.fail(
        new OAuthError.NotConfigured({
          provider: id,
          missing: entry?.missing ?? [],
          reason: entry?.problem,
        }),
      )
    })
  const pinnedRedirectUri = (id: string) =>
    Option.flatMap(Option.fromNullable(entries.find((e) => e.id === id)), (e) => e.pinnedRedirectUri)
  return { entries, get, pinnedRedirectUri }
})

export const layer: Layer.Layer<Providers, never, HttpClient.HttpClient> = Layer.effect(Providers, make)
