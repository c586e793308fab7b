/**
 * hyperproof with Promises, a thin facade over the `Hyperproof` Effect
 * service: its client-credentials token, and its API called as `fetch`
 * would.
 *
 * ```ts
 * import { hyperproof } from "@hyperauth/core/promise"
 *
 * const response = await hyperproof.fetch("/v1/controls/ctl_access_review")
 * const control: unknown = await response.json()
 * const token = await hyperproof.getToken() // the same token the call used, while it is valid
 * await hyperproof.dispose() // forgets the token: the next call fetches a new one
 * ```
 *
 * Settings are read from the environment at each call, as the service's
 * `layerConfig` reads them (`HYPERPROOF_CLIENT_ID`,
 * `HYPERPROOF_CLIENT_SECRET`, `HYPERPROOF_AUTH_URL`, `HYPERPROOF_API_URL`,
 * `HYPERPROOF_SCOPE`, `HYPERAUTH_HTTP_TIMEOUT`). Unlike the other
 * facades, calls share one service while the settings stay the same, so
 * that its token is fetched once and reused until shortly before it
 * expires. Every call sends on the facades' shared transport, whose
 * connections are kept alive between calls (idle, they do not keep the
 * process running). Other settings make a new service;
 * the old one is closed once its calls end. Failures reject with a
 * `HyperauthError`, whose `code` is one of the stable codes; every call
 * takes an `AbortSignal`.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as ScopedCache from "effect/ScopedCache"
import * as Hyperproof from "../Hyperproof.js"
import { lazy } from "../internal/lazy.js"
import {
  type ApiRequestInit,
  apiRequest,
  type CallOptions,
  type HyperauthError,
  optionsOf,
  run as runPromise,
  type Token,
  tokenOf,
  toResponse,
  transport,
} from "../internal/promise.js"
import type { OAuthError } from "../OAuthError.js"

const providerId = "hyperproof"

/**
 * The service of the settings calls read, made on first use and shared.
 * One entry: other settings evict it, and an evicted service is closed
 * once the calls using it end. Settings are the key by value (`Data.struct`:
 * the secret, a `Redacted`, and the timeout, a `Duration`, compare by value).
 * The cache lives as long as the process; `dispose` empties it.
 */
const services = lazy(() =>
  Effect.runSync(
    Effect.flatMap(Scope.make(), (scope) =>
      ScopedCache.make({
        lookup: (options: Hyperproof.Options) =>
          Layer.build(Hyperproof.layer(options).pipe(Layer.provide(transport()))),
        capacity: 1,
        timeToLive: Duration.infinity,
      }).pipe(Scope.extend(scope)),
    ),
  ),
)

/** Reads the settings, and runs on the service they make (the one already made for them, if any). */
const run = <A>(
  program: Effect.Effect<A, OAuthError | HyperauthError, Hyperproof.Hyperproof>,
  options?: CallOptions,
): Promise<A> =>
  runPromise(
    providerId,
    Effect.flatMap(Hyperproof.definition.loadConfig, (settings) =>
      Effect.scoped(
        Effect.flatMap(services().get(Data.struct({ ...settings })), (service) => Effect.provide(program, service)),
      ),
    ),
    options,
  )

/**
 * A valid access token: the service's own, fetched with the client's
 * credentials on the first call and reused until 60 s before it expires,
 * then fetched again (once, however many calls ask at the same moment).
 * Wrong credentials reject with `invalid_client`.
 *
 * @example
 * ```ts
 * import { hyperproof } from "@hyperauth/core/promise"
 *
 * const token = await hyperproof.getToken()
 * const headers = { authorization: `Bearer ${token.accessToken}` } // a secret: send it, never log it
 * const renewIn = token.expiresIn // seconds
 * ```
 *
 * @since 0.2.0
 * @category tokens
 */
export const getToken = (options?: CallOptions): Promise<Token> =>
  run(
    Effect.flatMap(Hyperproof.Hyperproof, (hyperproof) => Effect.flatMap(hyperproof.token, tokenOf)),
    options,
  )

/**
 * Calls hyperproof's API as `fetch` would, with the service's token. A
 * path is resolved against the API origin; a URL elsewhere rejects with
 * `invalid_input`, and the token is never sent there. A 401 fetches a new
 * token and sends again once; a second 401 rejects with `invalid_token`,
 * whose message says to check the client's access (its permissions on the
 * API, the scope it asks for): a token just issued was refused, and no
 * other would fare better.
 * Any other status resolves with a standard `Response`, as `fetch` does
 * (redirects are not followed).
 *
 * @example
 * ```ts
 * import { hyperproof } from "@hyperauth/core/promise"
 *
 * const response = await hyperproof.fetch("/v1/controls/ctl_access_review")
 * if (response.status === 404) console.log("no such control")
 * else console.log(await response.json())
 * ```
 *
 * @since 0.2.0
 * @category api
 */
export const fetch = (path: string, init?: ApiRequestInit): Promise<Response> =>
  run(
    Effect.gen(function* () {
      const request = yield* apiRequest(providerId, path, init)
      const { maxBodyBytes } = yield* optionsOf(providerId, init)
      const hyperproof = yield* Hyperproof.Hyperproof
      const answer = yield* hyperproof.request(request, { maxBodyBytes })
      return yield* toResponse(providerId, request, answer, maxBodyBytes)
    }),
    init,
  )

/**
 * Closes the service the calls share, and with it its token,
 * which the next call fetches anew. Calls under way finish on it first.
 * Idle, the service does not keep the process running, so this is for a
 * clean shutdown (or a test) only.
 *
 * @example
 * ```ts
 * import { hyperproof } from "@hyperauth/core/promise"
 *
 * process.once("SIGTERM", () => {
 *   void hyperproof.dispose().then(() => process.exit(0))
 * })
 * ```
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const dispose = (): Promise<void> => Effect.runPromise(services().invalidateAll)
