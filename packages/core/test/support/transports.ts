/**
 * The HTTP clients the loopback suites run over: `@effect/platform`'s fetch
 * client and the core's own node:http transport. Both must keep the
 * pipeline's promises (limits, redirects, time limit, typed errors).
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import type { Layer } from "effect"
import * as NodeHttpTransport from "../../src/NodeHttpTransport.js"

export const transports: ReadonlyArray<readonly [name: string, layer: Layer.Layer<HttpClient.HttpClient>]> = [
  ["fetch", FetchHttpClient.layer],
  ["node:http", NodeHttpTransport.layer],
]
