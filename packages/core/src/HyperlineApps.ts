/**
 * hyperline's Apps API: creating, listing, updating and deleting the apps
 * (OAuth clients) of an account, authenticated with its API key
 * (`HYPERLINE_API_KEY`), not with a user's login.
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ApiClient from "./ApiClient.js"
import { definition as hyperline, origin } from "./Hyperline.js"
import * as settings from "./internal/config.js"
import { listOf } from "./internal/lists.js"
import * as Pipeline from "./internal/pipeline.js"
import { traced } from "./internal/tracing.js"
import type * as Limits from "./Limits.js"
import type { NotConfigured, RequestFailure } from "./OAuthError.js"

/** The Apps API is hyperline's: its errors name that provider. */
const providerId = hyperline.id

/**
 * What the Apps API client is made with: hyperline's API origin and the
 * account's API key.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Redacted } from "effect"
 *
 * const options: HyperlineApps.Options = { origin: "https://api.hyperline.co", apiKey: Redacted.make("key") }
 * ```
 */
export interface Options extends Limits.Options {
  /** Origin of the hyperline API: the environment's, or `HYPERLINE_BASE_URL`. */
  readonly origin: string
  /** The account's API key (`HYPERLINE_API_KEY`). */
  readonly apiKey: Redacted.Redacted<string>
}

/**
 * An app: an OAuth client of hyperline.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Schema } from "effect"
 *
 * // Decoded from the API's snake_case: `logo_uri`, `client_id`, `client_secret`.
 * const app = Schema.decodeUnknownSync(HyperlineApps.App)({ id: "app_1", name: "Billing bot", callbacks: [], client_id: "cli_1" })
 * app.clientId // "cli_1"
 * ```
 */
export class App extends Schema.Class<App>("@hyperauth/core/HyperlineApps/App")({
  id: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.NullOr(Schema.String)),
  logoUri: Schema.optional(Schema.NullOr(Schema.String)).pipe(Schema.fromKey("logo_uri")),
  /** `null` or absent (a server's "none") is read as no callbacks. */
  callbacks: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }),
  clientId: Schema.optionalWith(Schema.String, { nullable: true }).pipe(Schema.fromKey("client_id")),
  /** Returned once, when the app is created. */
  clientSecret: Schema.optionalWith(Schema.Redacted(Schema.String), { nullable: true }).pipe(
    Schema.fromKey("client_secret"),
  ),
}) {}

const Apps = listOf(App)

/**
 * What an app is created with (and, in part, updated with).
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import type { HyperlineApps } from "@hyperauth/core"
 *
 * const app: HyperlineApps.NewApp = { name: "Billing bot", callbacks: ["https://bot.example.com/cb"] }
 * ```
 */
export interface NewApp {
  readonly name: string
  readonly description?: string | undefined
  /** Sent as `logo_uri`. */
  readonly logoUri?: string | undefined
  /** The redirect URIs the app may use. */
  readonly callbacks: ReadonlyArray<string>
}

/**
 * The Apps API: the apps of the account the API key belongs to.
 *
 * @since 0.2.0
 * @category models
 * @example
 * ```ts
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const names = Effect.flatMap(HyperlineApps.HyperlineApps, (apps) =>
 *   Effect.map(apps.list, (all) => all.map((app) => app.name)),
 * )
 * ```
 */
export interface Service {
  /** `POST /v1/apps`; the answer carries the app's `clientSecret`, once. */
  readonly create: (app: NewApp) => Effect.Effect<App, RequestFailure>
  /** `GET /v1/apps`. */
  readonly list: Effect.Effect<ReadonlyArray<App>, RequestFailure>
  /** `PUT /v1/apps/{id}`. */
  readonly update: (id: string, patch: Partial<NewApp>) => Effect.Effect<App, RequestFailure>
  /** `DELETE /v1/apps/{id}`. */
  readonly delete: (id: string) => Effect.Effect<void, RequestFailure>
}

/**
 * The tag of the Apps API client.
 *
 * @since 0.2.0
 * @category tags
 * @example
 * ```ts
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Effect } from "effect"
 *
 * const removed = Effect.flatMap(HyperlineApps.HyperlineApps, (apps) => apps.delete("app_1"))
 * ```
 */
export class HyperlineApps extends Context.Tag("@hyperauth/core/HyperlineApps")<HyperlineApps, Service>() {}

/**
 * The Apps API client over the `HttpClient` in context. Nothing is sent
 * until a method runs.
 *
 * @since 0.2.0
 * @category constructors
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Effect, Redacted } from "effect"
 *
 * const program = Effect.gen(function* () {
 *   const apps = yield* HyperlineApps.make({ origin: "https://api.hyperline.co", apiKey: Redacted.make("key") })
 *   return yield* apps.list
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const http = Pipeline.make(client, { provider: providerId }, options)
    const api = ApiClient.make(client, { ...options, provider: providerId })

    /** An Apps API call, authenticated with the API key. */
    const appsCall = (request: HttpClientRequest.HttpClientRequest) =>
      api.send(HttpClientRequest.prependUrl(request, options.origin), { accessToken: options.apiKey })

    const appsDecode = <A, I>(request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>) =>
      Effect.flatMap(appsCall(request), (exchange) => http.decode(exchange, schema))

    /** An app in the API's words (snake_case); what is not given is left out. */
    const appBody = ({ logoUri, ...app }: Partial<NewApp>) =>
      HttpClientRequest.bodyUnsafeJson(logoUri === undefined ? { ...app } : { ...app, logo_uri: logoUri })

    return {
      create: (app) =>
        appsDecode(HttpClientRequest.post("/v1/apps").pipe(appBody(app)), App).pipe(traced("HyperlineApps.create")),
      list: appsDecode(HttpClientRequest.get("/v1/apps"), Apps).pipe(traced("HyperlineApps.list")),
      update: (id, patch) =>
        appsDecode(HttpClientRequest.put(`/v1/apps/${encodeURIComponent(id)}`).pipe(appBody(patch)), App).pipe(
          traced("HyperlineApps.update"),
        ),
      delete: (id) =>
        Effect.flatMap(appsCall(HttpClientRequest.del(`/v1/apps/${encodeURIComponent(id)}`)), (exchange) =>
          exchange.status >= 200 && exchange.status <= 299 ? Effect.void : Effect.fail(http.failure(exchange)),
        ).pipe(traced("HyperlineApps.delete")),
    } satisfies Service
  })

/**
 * `HYPERLINE_API_KEY` (required), the origin as `Hyperline` reads it
 * (`HYPERLINE_ENVIRONMENT`, `HYPERLINE_BASE_URL`), `HYPERAUTH_HTTP_TIMEOUT`.
 *
 * @since 0.2.0
 * @category config
 * @example
 * ```ts
 * import { HyperlineApps } from "@hyperauth/core"
 * import { ConfigProvider, Effect } from "effect"
 *
 * const options = HyperlineApps.config.pipe(
 *   Effect.withConfigProvider(ConfigProvider.fromJson({ HYPERLINE_API_KEY: "key" })),
 * )
 * ```
 */
export const config: Config.Config<Options> = Config.all({
  origin,
  apiKey: Config.redacted(settings.required("HYPERLINE_API_KEY")),
  timeout: settings.httpTimeout,
})

/**
 * The Apps API client from options given in code.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Layer, Redacted } from "effect"
 *
 * const live = HyperlineApps.layer({ origin: "https://api.hyperline.co", apiKey: Redacted.make("key") }).pipe(
 *   Layer.provide(FetchHttpClient.layer),
 * )
 * ```
 */
export const layer = (options: Options): Layer.Layer<HyperlineApps, never, HttpClient.HttpClient> =>
  Layer.effect(HyperlineApps, make(options))

/**
 * The service from the settings (`config`): without `HYPERLINE_API_KEY` it
 * is `NotConfigured`, naming it.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { HyperlineApps } from "@hyperauth/core"
 * import { Layer } from "effect"
 *
 * const live = HyperlineApps.layerConfig.pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 */
export const layerConfig: Layer.Layer<HyperlineApps, NotConfigured, HttpClient.HttpClient> = Layer.effect(
  HyperlineApps,
  Effect.flatMap(
    Effect.suspend(() => settings.load(providerId, config)),
    make,
  ),
)
