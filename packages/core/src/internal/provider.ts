/**
 * What every provider module shares: refusing options it takes none of,
 * the flows it lacks, a refresh without a refresh token, a revocation of a
 * token already gone, an introspection that echoes its request, the
 * loopback callback of a redirect URI, and `define`,
 * which turns a provider's `Config` and `make` into its definition.
 */
import { createHash } from "node:crypto"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { InvalidInput, type NotConfigured, NotSupported } from "../OAuthError.js"
import type {
  Definition,
  FlowKind,
  LoginRequest,
  LoopbackCallback,
  Provider,
  ProviderId,
  RedirectPending,
} from "../Provider.js"
import type { TokenSet } from "../Token.js"
import * as settings from "./config.js"
import { withoutKnownSecretsIn } from "./scrub.js"
import * as wire from "./wire.js"

/**
 * `Provider.source`: a digest of the provider, the client its tokens are
 * issued to and the origins they go to, so that a login made with other
 * settings (a sandbox, a mock, another client) is told apart without
 * keeping the URLs in the store.
 */
export const sourceOf = (provider: ProviderId, clientId: string, origins: ReadonlyArray<string>): string =>
  createHash("sha256")
    .update(JSON.stringify([provider, clientId, ...origins.map(normalUrl)]))
    .digest("base64url")
    .slice(0, 22)

/** One spelling of a base URL: the origin as the URL standard writes it (case, default port), the path without a trailing `/`. */
const normalUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`
  } catch {
    return url
  }
}

/** A provider whose authorization asks for no scope refuses one: dropped, the caller would believe it was asked for. */
export const refuseScope = (provider: ProviderId, request: LoginRequest): Effect.Effect<void, InvalidInput> =>
  request.scope === undefined || request.scope.trim() === ""
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          provider,
          reason: `${provider} grants no scopes (its login asks for none, and its tokens carry what the app was given); leave scope out.`,
        }),
      )

export const refuseOptions = (provider: ProviderId, request: LoginRequest): Effect.Effect<void, InvalidInput> =>
  request.options === undefined || Object.keys(request.options).length === 0
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          provider,
          reason: `${provider} takes no login options (got ${Object.keys(request.options).join(", ")}); leave options out.`,
        }),
      )

export const noResume = (provider: ProviderId, flow: FlowKind): Effect.Effect<never, NotSupported> =>
  Effect.fail(new NotSupported({ provider, operation: `${flow} logins` }))

/**
 * A scope as it is sent: blank is none, and the parameter is left out (the
 * client's default scopes), since RFC 6749 §3.3 has a scope name at least
 * one scope-token and a server may refuse `scope=` as `invalid_scope`.
 */
export const scopeOf = (scope: string | undefined): string | undefined =>
  scope === undefined || scope.trim() === "" ? undefined : scope

/** The login's refresh token, or `invalid_input` before anything is sent when it has none. */
export const refreshTokenOf = (
  provider: ProviderId,
  token: TokenSet,
): Effect.Effect<Redacted.Redacted<string>, InvalidInput> =>
  token.refreshToken === undefined
    ? Effect.fail(
        new InvalidInput({ provider, reason: "this login has no refresh token; log in again. Nothing was sent." }),
      )
    : Effect.succeed(token.refreshToken)

/**
 * Whether a revocation (or a logout) was refused because the server no
 * longer knows the token: `invalid_grant`, which RFC 7009 §2.2.1 does not
 * name for revocation. RFC 7009 §2.2 has a server answer an invalid token
 * with 200, as the request's purpose, the token unusable, is already
 * achieved; one that says so with an error has revoked it too. An
 * `invalid_token` is not one: a revocation sends no Bearer token, so a
 * challenge naming one says something else went wrong.
 */
export const alreadyRevoked = (error: { readonly _tag: string; readonly error?: string | undefined }): boolean =>
  error._tag === "OAuthProtocolError" && error.error === "invalid_grant"

/**
 * An introspection answer without the secrets its request carried (the
 * token, the client's secret) wherever it echoes them, in any member or
 * member name: RFC 7662 §2.2 names no member that holds either, and the
 * answer is handed on as it is (to an agent, by the MCP server's tool).
 */
export const introspectionWithoutEchoes =
  (secrets: ReadonlyArray<Redacted.Redacted<string>>) =>
  (answer: wire.IntrospectionResponse): wire.IntrospectionResponse =>
    // Checked against the answer's type again: the scrubbed value has its shape (strings stay strings;
    // no member name the schema knows is as long as a secret that can be scrubbed).
    Either.getOrElse(
      Schema.validateEither(Schema.typeSchema(wire.IntrospectionResponse))(withoutKnownSecretsIn(answer, secrets)),
      () => ({ active: answer.active }),
    )

const loopbackHosts = new Set(["127.0.0.1", "localhost"])

export const loopbackCallback = (redirectUri: string): LoopbackCallback | undefined => {
  if (!URL.canParse(redirectUri)) return undefined
  const url = new URL(redirectUri)
  return url.protocol === "http:" && loopbackHosts.has(url.hostname) && url.port !== ""
    ? { port: Number(url.port), path: url.pathname }
    : undefined
}

/** A started authorization-code login, with the loopback callback its redirect URI points at. */
export const redirectPending = (pending: Omit<RedirectPending, "_tag" | "callback">): RedirectPending => ({
  _tag: "RedirectPending",
  ...pending,
  callback: loopbackCallback(pending.redirectUri),
})

export const define = <const Id extends string, Options, Service extends { readonly provider: Provider }, Tag>(
  id: Id,
  flow: FlowKind,
  tag: Context.Tag<Tag, Service>,
  service: {
    readonly config: Config.Config<Options>
    readonly apiBaseUrl: Config.Config<string>
    readonly introspection: boolean
    readonly make: (options: Options) => Effect.Effect<Service, never, HttpClient.HttpClient>
  },
): Definition<Id, Options, Service, Tag> => {
  // The settings are read off the Config when first asked for (then remembered), not when the module loads.
  const loadConfig: Effect.Effect<Options, NotConfigured> = Effect.suspend(() => settings.load(id, service.config))
  const made = Effect.flatMap(loadConfig, service.make)
  const loadApiBaseUrl: Effect.Effect<string, NotConfigured> = Effect.suspend(() =>
    settings.loadApiBase(id, service.apiBaseUrl),
  )
  return {
    id,
    flow,
    tag,
    ...service,
    get settings() {
      return settings.describe(service.config)
    },
    get requiredSettings() {
      return settings.requiredOf(service.config)
    },
    configuredRedirectUri:
      flow === "authorization_code" ? settings.configuredRedirectUri(id) : Config.succeed(Option.none<string>()),
    loadConfig,
    loadApiBaseUrl,
    provider: Effect.map(made, (built) => built.provider),
    layer: (options) => Layer.effect(tag, service.make(options)),
    layerConfig: Layer.effect(tag, made),
  }
}
