/** Settings of the server itself (the providers' own are read by the core). */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface Service {
  /** `HYPERAUTH_ALLOW_TOKEN_REVEAL=1`: `get_token` may return raw tokens when asked. */
  readonly allowTokenReveal: boolean
}

export class ServerConfig extends Context.Tag("@hyperauth/mcp-server/ServerConfig")<ServerConfig, Service>() {}

export const make: Effect.Effect<Service> = Effect.map(
  Effect.orElseSucceed(Config.string("HYPERAUTH_ALLOW_TOKEN_REVEAL").pipe(Config.withDefault("")), () => ""),
  (value) => ({ allowTokenReveal: value.trim() === "1" || value.trim().toLowerCase() === "true" }),
)

export const layer: Layer.Layer<ServerConfig> = Layer.effect(ServerConfig, make)
