/**
 * The one runtime the server builds at start: HTTP client, token store,
 * providers, accounts, pending logins and the server's own settings.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Accounts, NodeHttpTransport, type OAuthError, TokenStore } from "@hyperauth/core"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Scope from "effect/Scope"
import * as ApiClients from "./ApiClients.js"
import * as Logins from "./Logins.js"
import * as Providers from "./Providers.js"
import * as ServerConfig from "./ServerConfig.js"
import type { Services } from "./tool.js"

/**
 * Logs go to stderr: stdout carries the protocol only. What
 * `Logger.replace` does, set in the services' own scope: a layer of its own
 * around them would be one more step of layer building at every start.
 */
const logToStderr = Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
  HashSet.add(HashSet.remove(loggers, Logger.defaultLogger), Logger.prettyLogger({ stderr: true, colors: false })),
)

/** A store that cannot be opened (bad settings, Redis unreachable) stops the start with its message. */
export type StartError = OAuthError.TokenStoreError | ConfigError.ConfigError

/**
 * The services, made in order in one scoped effect, each given those it
 * needs. The same services as one layer per service joined with
 * `Layer.provideMerge` cost about 2 MiB more allocated at every start (each
 * join builds through the memo map, in its own scope), which is what kept
 * the young generation growing past the first idle second.
 */
const services: Effect.Effect<Context.Context<Services>, StartError, Scope.Scope> = Effect.gen(function* () {
  yield* logToStderr
  const base = Context.make(
    HttpClient.HttpClient,
    // The core's node:http transport: redirects are returned, not followed
    // (an API answering 3xx must not lead a call off the provider's base, and
    // token endpoints have no reason to), and requests make no client spans
    // and send no `traceparent` or `b3` header to the providers.
    yield* NodeHttpTransport.make,
  ).pipe(
    Context.merge(yield* Layer.build(TokenStore.layerConfig)),
    Context.add(ServerConfig.ServerConfig, yield* ServerConfig.make),
  )
  // Said once, at start: a plaintext store is a choice, but one to make knowingly.
  const { info } = Context.get(base, TokenStore.TokenStore)
  if (info.kind !== "memory" && !info.encrypted) {
    yield* Effect.logWarning(
      `The token store ${info.location} is not encrypted: its tokens and pending logins are plain text to whoever can read it. To encrypt it, move it aside, set HYPERAUTH_STORE_KEY to a passphrase and log in again.`,
    )
  }
  const providers = yield* Effect.provide(Providers.make, base)
  const withAccounts = base.pipe(
    Context.add(Providers.Providers, providers),
    // Scoped: the server's stop waits for a refresh under way to store the provider's answer.
    Context.add(Accounts.Accounts, yield* Effect.provide(Accounts.makeScoped(providers.get), base)),
  )
  return withAccounts.pipe(
    Context.add(Logins.Logins, yield* Effect.provide(Logins.make, withAccounts)),
    Context.add(ApiClients.ApiClients, yield* Effect.provide(ApiClients.make, withAccounts)),
  )
})

export const layer: Layer.Layer<Services, StartError> = Layer.scopedContext(services)

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
