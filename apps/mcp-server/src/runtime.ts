/**
 * The one runtime the server builds at start: HTTP client, token store,
 * providers, accounts, pending logins and the server's own settings.
 */
import { Accounts, NodeHttpTransport, type OAuthError, TokenStore } from "@hyperauth/core"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as ApiClients from "./ApiClients.js"
import * as Logins from "./Logins.js"
import * as Providers from "./Providers.js"
import * as ServerConfig from "./ServerConfig.js"
import type { Services } from "./tool.js"

const accounts = Layer.effect(
  Accounts.Accounts,
  Effect.flatMap(Providers.Providers, (providers) => Accounts.make(providers.get)),
)

/**
 * The core's node:http transport: redirects are returned, not followed (an
 * API answering 3xx must not lead a call off the provider's base, and token
 * endpoints have no reason to), and requests make no client spans and send
 * no `traceparent` or `b3` header to the providers.
 */
const httpClient = NodeHttpTransport.layer

/** Logs go to stderr: stdout carries the protocol only. */
const stderrLogger = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: false }))

/** A store that cannot be opened (bad settings, Redis unreachable) stops the start with its message. */
export type StartError = OAuthError.TokenStoreError | ConfigError.ConfigError

export const layer: Layer.Layer<Services, StartError> = Layer.merge(Logins.layer, ApiClients.layer).pipe(
  Layer.provideMerge(accounts),
  Layer.provideMerge(Providers.layer),
  Layer.provideMerge(TokenStore.layerConfig),
  Layer.provideMerge(ServerConfig.layer),
  Layer.provideMerge(httpClient),
  Layer.provide(stderrLogger),
)

export type Runtime = ManagedRuntime.ManagedRuntime<Services, StartError>

/**
 * With `settings` (from a JSON config file), configuration is read from the
 * environment first and then from the file.
 */
export const make = (settings?: Readonly<Record<string, string>>): Runtime =>
  ManagedRuntime.make(
    settings === undefined
      ? layer
      : layer.pipe(
          Layer.provide(
            Layer.setConfigProvider(
              ConfigProvider.orElse(ConfigProvider.fromEnv(), () =>
                ConfigProvider.fromMap(new Map(Object.entries(settings))),
              ),
            ),
          ),
        ),
  )
