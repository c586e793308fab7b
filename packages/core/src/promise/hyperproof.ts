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
 * await hyperproof.dispose() // at shutdown: closes its connections and forgets the token
 * ```
 *
 * Settings are read from the environment at each call, as the service's
 * `layerConfig` reads them (`HYPERPROOF_CLIENT_ID`,
 * `HYPERPROOF_CLIENT_SECRET`, `HYPERPROOF_AUTH_URL`, `HYPERPROOF_API_URL`,
 * `HYPERPROOF_SCOPE`, `HYPERAUTH_HTTP_TIMEOUT`). Unlike the other
 * facades, calls share one service while the settings stay the same, so
 * that its token is fetched once and reused until shortly before it
 * expires, and its connections are kept alive between calls (idle, they
 * do not keep the process running). Other settings make a new service;
 * the old one is closed once its calls end. Failures reject with a
 * `HyperauthError`, whose `code` is one of the stable codes; every call
 * takes an `AbortSignal`.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Hyperproof from "../Hyperproof.js"
import {
  type ApiRequestInit,
  apiRequest,
  type CallOptions,
  run as runPromise,
  type Token,
  tokenOf,
  toResponse,
} from "../internal/promise.js"
import * as NodeHttpTransport from "../NodeHttpTransport.js"
import type { OAuthError } from "../OAuthError.js"

const providerId = "hyperproof"

/** The service of some settings, with the calls using it. */
interface Held {
  readonly options: Hyperproof.Options
  readonly runtime: ManagedRuntime.ManagedRuntime<Hyperproof.Hyperproof, never>
  /** Done once the runtime is disposed. */
  readonly closed: Deferred.Deferred<void>
  calls: number
  /** Replaced or disposed: closed when its last call ends. */
  retired: boolean
}

/** The service calls use now, while the settings are these. */
let current: Held | undefined
/** Every service not closed yet: the current one, and those replaced while calls used them. */
const open = new Set<Held>()

const sameOptions = (a: Hyperproof.Options, b: Hyperproof.Options): boolean =>
  // Structural: the secret (`Redacted`) and the timeout (`Duration`) compare by value.
  Equal.equals(Data.struct({ ...a }), Data.struct({ ...b }))

const close = (held: Held): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.zipRight(held.runtime.disposeEffect, Deferred.succeed(held.closed, undefined)),
    Effect.sync(() => open.delete(held)),
  )

/** Retires `held`: it takes no new calls, and closes now if none is under way, else when the last ends. */
const retire = (held: Held): Effect.Effect<void> =>
  Effect.suspend(() => {
    held.retired = true
    if (current === held) current = undefined
    return held.calls === 0 ? close(held) : Effect.void
  })

/** The service for `options`, counted as in use: the current one, or a new one that replaces it. */
const acquire = (options: Hyperproof.Options): Effect.Effect<Held> =>
  Effect.suspend(() => {
    const held = current
    if (held !== undefined && sameOptions(held.options, options)) {
      held.calls++
      return Effect.succeed(held)
    }
    const fresh: Held = {
      options,
      runtime: ManagedRuntime.make(Hyperproof.layer(options).pipe(Layer.provide(NodeHttpTransport.layer))),
      closed: Deferred.unsafeMake(FiberId.none),
      calls: 1,
      retired: false,
    }
    current = fresh
    open.add(fresh)
    return Effect.as(held === undefined ? Effect.void : retire(held), fresh)
  })

const release = (held: Held): Effect.Effect<void> =>
  Effect.suspend(() => {
    held.calls--
    return held.retired && held.calls === 0 ? close(held) : Effect.void
  })

/** Reads the settings, and runs on the service they make (the one already made for them, if any). */
const run = <A>(program: Effect.Effect<A, OAuthError, Hyperproof.Hyperproof>, options?: CallOptions): Promise<A> =>
  runPromise(
    Effect.flatMap(Hyperproof.definition.loadConfig, (settings) =>
      Effect.acquireUseRelease(
        acquire(settings),
        (held) => Effect.provide(program, held.runtime),
        (held) => release(held),
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
 * console.log(`expires in ${token.expiresIn} s`) // the token itself is a secret: never print it
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
 * token and sends again once; a second 401 rejects with `invalid_token`.
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
export const fetch = (path: string, init: ApiRequestInit = {}): Promise<Response> =>
  run(
    Effect.gen(function* () {
      const request = yield* apiRequest(providerId, path, init)
      const hyperproof = yield* Hyperproof.Hyperproof
      const answer = yield* hyperproof.request(request, { maxBodyBytes: init.maxBodyBytes })
      return yield* toResponse(providerId, request, answer, init.maxBodyBytes)
    }),
    init,
  )

/**
 * Closes the service the calls share: its connections, and its token,
 * which the next call fetches anew. Calls under way finish first; the
 * promise resolves once it is closed (and any service replaced by new
 * settings with it). Idle, the service does not keep the process running,
 * so this is for a clean shutdown (or a test) only.
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
export const dispose = (): Promise<void> =>
  Effect.runPromise(
    Effect.forEach([...open], (held) => Effect.zipRight(retire(held), Deferred.await(held.closed)), {
      concurrency: "unbounded",
      discard: true,
    }),
  )
