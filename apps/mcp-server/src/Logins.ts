/**
 * The login registry: logins that wait for the user. Device-code logins are
 * polled in the background; authorization-code logins are finished by the
 * loopback listener (`CallbackListener`), which each holds while it waits,
 * or by a pasted redirect URL. Each login has an id, an expiry and a result
 * the `complete_login` tool can wait for; it redeems its code at most once,
 * and a finished login is saved to `Accounts` whether or not anyone waits.
 */
import { randomBytes } from "node:crypto"
import { Accounts, AuthorizationCode, OAuthError, type Provider, Settings, type Token } from "@hyperauth/core"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RcMap from "effect/RcMap"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as CallbackListener from "./CallbackListener.js"
import * as Pages from "./CallbackPages.js"
import { type ToolError, UnknownLogin } from "./errors.js"
import * as PendingLogin from "./PendingLogin.js"

/** Device logins polled in the background at once, at most: each is a request every few seconds. */
export const maxDevicePollers = 16

/** A finished or failed login is remembered this long, for late `complete_login` calls. */
const keepFinished = Duration.minutes(10)

export interface Finished {
  readonly provider: string
  readonly account: string
  readonly token: Token.TokenSet
}

interface Login {
  readonly record: PendingLogin.PendingLogin
  readonly started: Provider.DevicePending | Provider.RedirectPending
  readonly result: Deferred.Deferred<Finished, ToolError>
  /** One redirect delivery at a time: the first that reaches the provider settles the login. */
  readonly redeem: Effect.Semaphore
  /** Whether the loopback listener receives this login's redirect. */
  readonly listening: boolean
}

/** Who logs in and with what request (scope, options), as one comparable string. */
export interface LoginKey {
  readonly provider: string
  readonly account: string
  readonly request: string
}

export interface Pending {
  readonly loginId: string
  readonly started: Provider.DevicePending | Provider.RedirectPending
  /** Whether the loopback listener receives this login's redirect. */
  readonly listening: boolean
}

/** Where an authorization-code login's redirect goes. */
export interface RedirectTarget {
  readonly provider: string
  /** The redirect URI the user set (e.g. `HYPERID_REDIRECT_URI`): then no other port is used. */
  readonly pinned: Option.Option<string>
}

export interface Service {
  /**
   * The login still waiting for this same key, if any: asking again returns
   * it, so the user's code or link stays good and no second poller starts.
   */
  readonly pending: (key: LoginKey) => Effect.Effect<Option.Option<Pending>>
  /** Refused (`invalid_input`) while `maxDevicePollers` device logins are still polled. */
  readonly startDevice: (
    key: LoginKey,
    started: Provider.DevicePending,
  ) => Effect.Effect<Pending, OAuthError.InvalidInput>
  /**
   * Starts an authorization-code login: takes the loopback listener when
   * the redirect comes to it, then lets `start` build the authorization URL
   * for the redirect URI to use (`undefined`: the one configured).
   */
  readonly startRedirect: <E>(
    key: LoginKey,
    target: RedirectTarget,
    start: (redirectUri: string | undefined) => Effect.Effect<Provider.RedirectPending, E>,
  ) => Effect.Effect<Pending, E>
  /** Finishes an authorization-code login from the URL the browser landed on. */
  readonly finishRedirect: (loginId: string, redirectUrl: string) => Effect.Effect<Finished, ToolError>
  /** Waits up to `wait` for the login; none if it is still pending then. */
  readonly await: (
    loginId: string,
    wait: Duration.Duration,
    onTick: (elapsed: Duration.Duration) => Effect.Effect<void>,
  ) => Effect.Effect<Option.Option<Finished>, ToolError>
}

export class Logins extends Context.Tag("@hyperauth/mcp-server/Logins")<Logins, Service>() {}

const newId = Effect.sync(() => `login_${randomBytes(12).toString("base64url")}`)

/** A loopback redirect URI of this server's listener: its port, if it is one. */
const loopbackPort = (redirectUri: string, provider: string): Option.Option<number> => {
  if (!URL.canParse(redirectUri)) return Option.none()
  const url = new URL(redirectUri)
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost"
  return url.protocol === "http:" && loopback && url.port !== "" && url.pathname === `/callback/${provider}`
    ? Option.some(Number(url.port))
    : Option.none()
}

/** Redirect outcomes that do not end the login: the genuine redirect may still arrive. */
const leavesPending = (error: ToolError) => error._tag === "StateMismatch" || error._tag === "InvalidInput"

export const make = Effect.gen(function* () {
  const accounts = yield* Accounts.Accounts
  const scope = yield* Effect.scope
  const port = yield* Effect.orElseSucceed(Settings.callbackPort, () => 8976)
  // One device login admitted at a time, so that the cap is counted exactly.
  const deviceAdmission = yield* Effect.makeSemaphore(1)
  const logins = yield* Ref.make(new Map<string, Login>())
  const records = yield* PendingLogin.memoryStore

  const expired = (login: Login) =>
    new OAuthError.OAuthProtocolError({
      provider: login.record.provider,
      error: "expired_token",
      errorDescription: "the login was not finished in time",
    })

  /** Saves the tokens and settles the login's result. */
  const settle = (login: Login, outcome: Effect.Effect<Token.TokenSet, ToolError>) =>
    outcome.pipe(
      Effect.tap((token) => accounts.save({ provider: login.record.provider, account: login.record.account }, token)),
      Effect.map((token): Finished => ({ provider: login.record.provider, account: login.record.account, token })),
      Effect.exit,
      Effect.flatMap((exit) => Effect.as(Deferred.done(login.result, exit), exit)),
      Effect.flatten,
    )

  const find = (loginId: string) =>
    Effect.flatMap(Ref.get(logins), (all) => {
      const login = all.get(loginId)
      return login === undefined ? Effect.fail(new UnknownLogin({ loginId })) : Effect.succeed(login)
    })

  /** Forgets logins finished or expired long ago; expires pending ones past their time. */
  const sweep = Effect.gen(function* () {
    const now = yield* DateTime.now
    for (const login of (yield* Ref.get(logins)).values()) {
      if (DateTime.lessThan(now, login.record.expiresAt)) continue
      yield* Deferred.fail(login.result, expired(login))
      if (DateTime.greaterThan(now, DateTime.addDuration(login.record.expiresAt, keepFinished))) {
        yield* Ref.update(logins, (all) => {
          const next = new Map(all)
          next.delete(login.record.id)
          return next
        })
      }
    }
  })

  /**
   * Delivers a redirect to its login. Deliveries queue on the login's
   * permit, and the first that reaches the provider settles the login, so
   * a code is redeemed at most once and later deliveries get that outcome.
   * The exchange runs in the registry's scope: a waiter that gives up does
   * not stop it, and its tokens are saved.
   */
  const deliver = (login: Login, redirectUrl: string, complete: Provider.RedirectPending["complete"]) =>
    login.redeem
      .withPermits(1)(
        Effect.gen(function* () {
          const done = yield* Deferred.poll(login.result)
          if (Option.isSome(done)) return yield* done.value
          const exchanged = yield* Effect.either(complete(redirectUrl))
          if (Either.isLeft(exchanged) && leavesPending(exchanged.left)) return yield* exchanged.left
          return yield* settle(login, exchanged)
        }),
      )
      .pipe(Effect.forkIn(scope), Effect.flatMap(Fiber.join))

  /** The loopback listener's handler: the waiting login whose `state` the callback carries, or none. */
  const onCallback = ({ provider, url }: CallbackListener.Callback): Effect.Effect<Pages.Page> =>
    Effect.gen(function* () {
      const repeated = AuthorizationCode.repeatedParameter(url.searchParams)
      if (repeated !== undefined) return Pages.unusable(provider, `it carries "${repeated}" more than once.`)
      const state = url.searchParams.get("state")
      if (state === null) return Pages.notPending(provider)
      const login = [...(yield* Ref.get(logins)).values()].find(
        (l) =>
          l.listening &&
          l.record.provider === provider &&
          l.record.state !== undefined &&
          AuthorizationCode.sameState(state, l.record.state),
      )
      if (login === undefined || login.started._tag !== "RedirectPending") return Pages.notPending(provider)
      const exit = yield* Effect.exit(deliver(login, url.toString(), login.started.complete))
      return Exit.match(exit, {
        onSuccess: () => Pages.signedIn(provider),
        onFailure: (cause) => {
          const error = cause._tag === "Fail" ? cause.error : undefined
          if (error === undefined) return Pages.internalError
          if (leavesPending(error)) return Pages.unusable(provider, error.message)
          // Replaced by a newer login: this link no longer finishes anything.
          if (error._tag === "UnknownLogin") return Pages.notPending(provider)
          return error._tag === "OAuthProtocolError"
            ? Pages.failed(provider, error.error, error.errorDescription)
            : Pages.failed(provider, error.code, error.message)
        },
      })
    })

  const listeners = yield* RcMap.make({
    lookup: (wanted: number) => CallbackListener.listen(wanted, onCallback, { fallback: true }),
  })
  // RcMap 3.22 looks a key up before taking its lock, so two logins starting
  // at once could each open a listener; they take it one at a time.
  const listenerLock = yield* Effect.makeSemaphore(1)
  const listenerOn = (wanted: number, held: Scope.Scope) =>
    listenerLock.withPermits(1)(RcMap.get(listeners, wanted).pipe(Scope.extend(held)))

  /**
   * Ends the login when its result is settled or its time is up, and then
   * lets go of the listener it held (which stops once no login holds it).
   */
  const watch = (login: Login, held: Scope.CloseableScope) =>
    Effect.gen(function* () {
      const untilExpiry = Math.max(0, DateTime.distance(yield* DateTime.now, login.record.expiresAt))
      yield* Effect.race(
        Deferred.await(login.result).pipe(Effect.exit),
        Effect.sleep(Duration.millis(untilExpiry)).pipe(Effect.zipRight(Deferred.fail(login.result, expired(login)))),
      )
    }).pipe(
      Effect.ensuring(Effect.zipRight(Scope.close(held, Exit.void), records.remove(login.record.id))),
      // Started from an uninterruptible region: the registry's close must still end it.
      Effect.interruptible,
      Effect.forkIn(scope),
    )

  /**
   * Adds a login. One login waits per provider and account: an older one
   * still pending (asked with another request) ends and its device poller
   * stops, so an agent that starts over leaves no pollers behind.
   */
  const register = (login: Login, held: Scope.CloseableScope) =>
    Effect.gen(function* () {
      for (const old of (yield* Ref.get(logins)).values()) {
        if (old.record.provider !== login.record.provider || old.record.account !== login.record.account) continue
        yield* Deferred.fail(old.result, new UnknownLogin({ loginId: old.record.id, replaced: true }))
      }
      yield* records.put(login.record)
      yield* Ref.update(logins, (all) => new Map(all).set(login.record.id, login))
      yield* watch(login, held)
      yield* sweep
    })

  const makeLogin = (key: LoginKey, started: Login["started"], listening: boolean): Effect.Effect<Login> =>
    Effect.all({ id: newId, result: Deferred.make<Finished, ToolError>(), redeem: Effect.makeSemaphore(1) }).pipe(
      Effect.map(({ id, result, redeem }) => ({
        record:
          started._tag === "DevicePending"
            ? { id, ...key, flow: "device_code", deviceCode: started.deviceCode, expiresAt: started.expiresAt }
            : {
                id,
                ...key,
                flow: "authorization_code",
                state: started.state,
                codeVerifier: started.codeVerifier,
                redirectUri: started.redirectUri,
                expiresAt: started.expiresAt,
              },
        started,
        result,
        redeem,
        listening,
      })),
    )

  /**
   * Takes the listener this login's redirect comes to, in `held`: the
   * configured port or, when another program holds it, a free one; a
   * pinned loopback redirect URI only on its own port. The redirect URI to
   * ask for, and whether the listener receives it.
   */
  const takeListener = (target: RedirectTarget, held: Scope.Scope) =>
    Effect.gen(function* () {
      if (Option.isSome(target.pinned)) {
        const pinnedPort = loopbackPort(target.pinned.value, target.provider)
        if (Option.isNone(pinnedPort)) return { redirectUri: undefined, listening: false }
        const listener = yield* Effect.either(listenerOn(pinnedPort.value, held))
        const holds = Either.isRight(listener) && listener.right.port === pinnedPort.value
        if (!holds) {
          yield* Effect.logWarning(
            `Port ${pinnedPort.value} of the configured redirect URI is taken: the user pastes the URL they land on into complete_login.`,
          )
        }
        return { redirectUri: undefined, listening: holds }
      }
      const listener = yield* Effect.either(listenerOn(port, held))
      if (Either.isLeft(listener)) {
        // Not even a free port: the configured URI, and the user pastes the URL.
        yield* Effect.logWarning(
          `Cannot listen on loopback (${listener.left.code ?? listener.left.message}): the user pastes the URL they land on into complete_login.`,
        )
        return { redirectUri: undefined, listening: false }
      }
      if (listener.right.port !== port) {
        yield* Effect.logInfo(`Port ${port} is taken: this login's redirect comes to port ${listener.right.port}.`)
      }
      return { redirectUri: `http://127.0.0.1:${listener.right.port}/callback/${target.provider}`, listening: true }
    })

  const pendingOf = (login: Login): Pending => ({
    loginId: login.record.id,
    started: login.started,
    listening: login.listening,
  })

  const service: Service = {
    pending: (key) =>
      Effect.gen(function* () {
        yield* sweep
        for (const login of (yield* Ref.get(logins)).values()) {
          const { provider, account, request } = login.record
          if (provider !== key.provider || account !== key.account || request !== key.request) continue
          if (!(yield* Deferred.isDone(login.result))) return Option.some(pendingOf(login))
        }
        return Option.none()
      }),
    startDevice: (key, started) =>
      Effect.gen(function* () {
        const login = yield* makeLogin(key, started, false)
        yield* deviceAdmission.withPermits(1)(
          Effect.gen(function* () {
            yield* sweep // expired logins stop polling first
            const all = [...(yield* Ref.get(logins)).values()]
            // A login this one replaces (same provider and account) stops polling.
            const others = all.filter((l) => l.record.provider !== key.provider || l.record.account !== key.account)
            const polling = yield* Effect.filter(others, (l) =>
              Effect.map(Deferred.isDone(l.result), (done) => !done && l.started._tag === "DevicePending"),
            )
            if (polling.length >= maxDevicePollers) {
              return yield* new OAuthError.InvalidInput({
                provider: key.provider,
                reason: `${maxDevicePollers} device logins are already waiting for their users. Finish one with complete_login or let one expire, then call login again.`,
              })
            }
            yield* register(login, yield* Scope.fork(scope, ExecutionStrategy.sequential))
          }),
        )
        // Polls in the background until the code is redeemed, refused or
        // expired, or the login is replaced (its result settled elsewhere).
        yield* Effect.forkIn(Effect.raceFirst(settle(login, started.complete), Deferred.await(login.result)), scope)
        return pendingOf(login)
      }),
    startRedirect: (key, target, start) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const held = yield* Scope.fork(scope, ExecutionStrategy.sequential)
          const built = yield* restore(
            Effect.flatMap(takeListener(target, held), ({ redirectUri, listening }) =>
              Effect.map(start(redirectUri), (started) => ({ started, listening })),
            ),
          ).pipe(Effect.onError(() => Scope.close(held, Exit.void)))
          const login = yield* makeLogin(key, built.started, built.listening)
          yield* register(login, held)
          return pendingOf(login)
        }),
      ),
    finishRedirect: (loginId, redirectUrl) =>
      Effect.gen(function* () {
        yield* sweep
        const login = yield* find(loginId)
        if (login.started._tag !== "RedirectPending") {
          return yield* new OAuthError.InvalidInput({
            provider: login.record.provider,
            reason:
              "this is a device-code login: it finishes when the user enters the code; call complete_login without redirect_url.",
          })
        }
        return yield* deliver(login, redirectUrl, login.started.complete)
      }),
    await: (loginId, wait, onTick) =>
      Effect.gen(function* () {
        yield* sweep
        const login = yield* find(loginId)
        const now = yield* DateTime.now
        const untilExpiry = Duration.millis(Math.max(0, DateTime.distance(now, login.record.expiresAt)))
        const limit = Duration.min(wait, untilExpiry)
        const ticker = yield* Effect.fork(
          Effect.repeat(
            Effect.flatMap(DateTime.now, (t) => onTick(Duration.millis(DateTime.distance(now, t)))),
            { schedule: Schedule.spaced("1 second") },
          ).pipe(Effect.delay("1 second")),
        )
        const outcome = yield* Deferred.await(login.result).pipe(
          Effect.timeoutOption(limit),
          Effect.ensuring(Fiber.interrupt(ticker)),
        )
        if (Option.isNone(outcome) && Duration.equals(limit, untilExpiry)) {
          yield* sweep
          return Option.some(yield* Deferred.await(login.result))
        }
        return outcome
      }),
  }
  return service
})

export const layer: Layer.Layer<Logins, never, Accounts.Accounts> = Layer.scoped(Logins, make)
