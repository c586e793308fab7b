/**
 * The HTTP clients the Effect contenders run on. `layer` is the core's
 * node:http transport, as the MCP server builds it (apps/mcp-server/src/runtime.ts):
 * no client spans, no `traceparent`/`b3` headers. `fetchLayer` is
 * `@effect/platform`'s fetch client with propagation and spans off, for the
 * row that shows what the platform client alone costs. Neither sends more
 * than plain `fetch` and openid-client do.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { NodeHttpTransport } from "@hyperauth/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const layer: Layer.Layer<HttpClient.HttpClient> = NodeHttpTransport.layer

export const fetchLayer: Layer.Layer<HttpClient.HttpClient | FetchHttpClient.RequestInit> = Layer.merge(
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
