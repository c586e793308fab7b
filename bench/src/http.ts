/**
 * The HTTP client every Effect contender runs on: `@effect/platform`'s
 * fetch client as the MCP server builds it (apps/mcp-server/src/runtime.ts),
 * with no spans and no `traceparent`/`b3` headers, so that no contender
 * sends more than plain `fetch` and openid-client do.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const layer: Layer.Layer<HttpClient.HttpClient | FetchHttpClient.RequestInit> = Layer.merge(
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      client.pipe(
        HttpClient.withTracerPropagation(false),
        HttpClient.withTracerDisabledWhen(() => true),
      ),
    ),
  ).pipe(Layer.provide(FetchHttpClient.layer)),
  Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" }),
)
