/**
 * Logins that wait for the user: device-code logins polled in the
 * background, authorization-code logins finished by the loopback listener
 * or by a pasted redirect URL. Each has an id, an expiry and a result the
 * `complete_login` tool can wait for. A finished login is saved to
 * `Accounts` whether or not anyone waits for it.
 */
import { randomBytes } from "node:crypto"
import { Accounts, OAuthError, type Provider, Settings, type Token } from "@hyperauth/core"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import { type CallbackListener, type CallbackOutcome, makeListener } from "./Callback.js"
import { type ToolError, UnknownLogin } from "./errors.js"

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
  readonly id: string
  readonly provider: string
  readonly account: string
  /** What was asked for (scope, options): the same request again gets this login back. */
  readonly request: string
  readonly started: Provider.DevicePending | Provider.RedirectPending
  readonly expiresAt: DateTime.Utc
  readonly result: Deferred.Deferred<Finished, ToolError>
  /** Authorization-code logins: finishes from the redirect URL. */
  readonly redirect: Option.Option<{
    readonly state: string | undefined
    readonly listens: boolean
    readonly complete: Provider.RedirectPending["complete"]
  }>
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
  readonly startRedirect: (key: LoginKey, started: Provider.RedirectPending) => Effect.Effect<Pending>
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

const newLogin = (key: LoginKey, started: Login["started"], redirect: Login["redirect"]) =>
  Effect.map(
    Deferred.make<Finished, ToolError>(),
    (result): Login => ({
      id: `login_${randomBytes(12).toString("base64url")}`,
      ...key,
      started,
      expiresAt: started.expiresAt,
      result,
      redirect,
    }),
  )

const stateOf = (authorizationUrl: string): string | undefined =>
  URL.canParse(authorizationUrl) ? (new URL(authorizationUrl).searchParams.get("state") ?? undefined) : undefined

const isOurCallback = (redirectUri: string, port: number): boolean => {
  if (!URL.canParse(redirectUri)) return false
  const url = new URL(redirectUri)
  return (
    url.protocol === "http:" &&
    (url.hostname === "127.0.0.1" || url.hostname === "localhost") &&
    Number(url.port) === port &&
    url.pathname.startsWith("/callback/")
  )
}

export const make = Effect.gen(function* () {
  const accounts = yield* Accounts.Accounts
  const scope = yield* Effect.scope
  const runtime = yield* Effect.runtime<never>()
  const port = yield* Effect.orElseSucceed(Settings.callbackPort, () => 8976)
  const logins = yield* Ref.make(new Map<string, Login>())
  // One device login admitted at a time, so that the cap is counted exactly.
  const deviceAdmission = yield* Effect.makeSemaphore(1)

  const expired = (login: Login) =>
    new OAuthError.OAuthProtocolError({
      provider: login.provider,
      error: "expired_token",
      errorDescription: "the login was not finished in time",
    })

  /** Saves the tokens and settles the login's result. */
  const settle = (login: Login, outcome: Effect.Effect<Token.TokenSet, ToolError>) =>
    outcome.pipe(
      Effect.tap((token) => accounts.save({ provider: login.provider, account: login.account }, token)),
      Effect.map((token): Finished => ({ provider: login.provider, account: login.account, token })),
      Effect.exit,
      Effect.flatMap((exit) => Effect.as(Deferred.done(login.result, exit), exit)),
      Effect.flatten,
    )

  /** Unfinished logins whose redirect the loopback listener receives. */
  const awaitingCallback = Effect.flatMap(Ref.get(logins), (all) =>
    Effect.filter([...all.values()], (l) =>
      Effect.map(Deferred.isDone(l.result), (done) => !done && Option.isSome(l.redirect) && l.redirect.value.listens),
    ),
  )

  let listener: CallbackListener | undefined
  /** Stops the listener once no login waits for it. */
  const stopListenerIfIdle = Effect.gen(function* () {
    const pending = yield* awaitingCallback
    // Not awaited: this may run inside the listener's own request, whose
    // connection the close would wait for.
    if (pending.length === 0 && listener?.listening() === true) void listener.stop()
  })

  const find = (loginId: string) =>
    Effect.flatMap(Ref.get(logins), (all) => {
      const login = all.get(loginId)
      return login === undefined ? Effect.fail(new UnknownLogin({ loginId })) : Effect.succeed(login)
    })

  /** Forgets logins finished or expired long ago; expires pending ones past their time. */
  const sweep = Effect.gen(function* () {
    const now = yield* DateTime.now
    for (const login of (yield* Ref.get(logins)).values()) {
      if (DateTime.lessThan(now, login.expiresAt)) continue
      yield* Deferred.fail(login.result, expired(login))
      if (DateTime.greaterThan(now, DateTime.addDuration(login.expiresAt, keepFinished))) {
        yield* Ref.update(logins, (all) => {
          const next = new Map(all)
          next.delete(login.id)
          return next
        })
      }
    }
    yield* stopListenerIfIdle
  })

  /**
   * Adds a login. One login waits per provider and account: an older one
   * still pending (asked with another request) ends and its device poller
   * stops, so an agent that starts over leaves no pollers behind.
   */
  const register = (login: Login) =>
    Effect.gen(function* () {
      for (const old of (yield* Ref.get(logins)).values()) {
        if (old.provider !== login.provider || old.account !== login.account) continue
        yield* Deferred.fail(old.result, new UnknownLogin({ loginId: old.id, replaced: true }))
      }
      yield* Ref.update(logins, (all) => new Map(all).set(login.id, login))
      yield* sweep
    })

  const finishRedirect = (loginId: string, redirectUrl: string): Effect.Effect<Finished, ToolError> =>
    Effect.gen(function* () {
      yield* sweep
      const login = yield* find(loginId)
      if (Option.isNone(login.redirect)) {
        return yield* new OAuthError.InvalidInput({
          provider: login.provider,
          reason:
            "this is a device-code login: it finishes when the user enters the code; call complete_login without redirect_url.",
        })
      }
      const done = yield* Deferred.poll(login.result)
      if (Option.isSome(done)) return yield* done.value
      // A URL with the wrong state, or no URL at all, does not end the login:
      // the genuine redirect may still arrive. The provider's verdict does.
      const exchanged = yield* Effect.either(login.redirect.value.complete(redirectUrl))
      if (
        Either.isLeft(exchanged) &&
        (exchanged.left._tag === "StateMismatch" || exchanged.left._tag === "InvalidInput")
      ) {
        return yield* exchanged.left
      }
      const outcome = yield* settle(login, exchanged)
      yield* stopListenerIfIdle
      return outcome
    })

  /** The loopback listener's handler: finds the login by state (or the only one waiting). */
  const onCallback = (provider: string, url: string): Promise<CallbackOutcome> =>
    Runtime.runPromise(runtime)(
      Effect.gen(function* () {
        const state = new URL(url).searchParams.get("state") ?? undefined
        const waiting = (yield* awaitingCallback).filter((l) => l.provider === provider)
        const login =
          state === undefined
            ? waiting.length === 1
              ? waiting[0]
              : undefined
            : waiting.find((l) => Option.isSome(l.redirect) && l.redirect.value.state === state)
        if (login === undefined) {
          return {
            ok: false,
            message: "No login is waiting for this redirect. Start the login again from your assistant.",
          }
        }
        const exit = yield* Effect.exit(finishRedirect(login.id, url))
        return Exit.match(exit, {
          onSuccess: (): CallbackOutcome => ({ ok: true, message: `You are signed in to ${provider}.` }),
          onFailure: (cause): CallbackOutcome => {
            const failure = cause._tag === "Fail" ? cause.error : undefined
            return {
              ok: false,
              message: failure === undefined ? "The login failed." : `${failure.code}: ${failure.message}`,
            }
          },
        })
      }),
    )

  yield* Effect.addFinalizer(() => Effect.promise(() => listener?.stop(true) ?? Promise.resolve()))

  const pendingOf = (login: Login): Pending => ({
    loginId: login.id,
    started: login.started,
    listening: Option.isSome(login.redirect) && login.redirect.value.listens && listener?.listening() === true,
  })

  const service: Service = {
    pending: (key) =>
      Effect.gen(function* () {
        yield* sweep
        for (const login of (yield* Ref.get(logins)).values()) {
          if (login.provider !== key.provider || login.account !== key.account || login.request !== key.request)
            continue
          if (!(yield* Deferred.isDone(login.result))) return Option.some(pendingOf(login))
        }
        return Option.none()
      }),
    startDevice: (key, started) =>
      Effect.gen(function* () {
        const login = yield* newLogin(key, started, Option.none())
        yield* deviceAdmission.withPermits(1)(
          Effect.gen(function* () {
            yield* sweep // expired logins stop polling first
            const all = [...(yield* Ref.get(logins)).values()]
            // A login this one replaces (same provider and account) stops polling.
            const others = all.filter((l) => l.provider !== key.provider || l.account !== key.account)
            const polling = yield* Effect.filter(others, (l) =>
              Effect.map(Deferred.isDone(l.result), (done) => !done && Option.isNone(l.redirect)),
            )
            if (polling.length >= maxDevicePollers) {
              return yield* new OAuthError.InvalidInput({
                provider: key.provider,
                reason: `${maxDevicePollers} device logins are already waiting for their users. Finish one with complete_login or let one expire, then call login again.`,
              })
            }
            yield* register(login)
          }),
        )
        // Polls in the background until the code is redeemed, refused or
        // expired, or the login is replaced (its result settled elsewhere).
        yield* Effect.forkIn(Effect.raceFirst(settle(login, started.complete), Deferred.await(login.result)), scope)
        return pendingOf(login)
      }),
    startRedirect: (key, started) =>
      Effect.gen(function* () {
        const listens = isOurCallback(started.redirectUri, port)
        if (listens) {
          listener ??= makeListener(port, onCallback)
          const up = yield* Effect.promise(() => listener?.ensure() ?? Promise.resolve(false))
          if (!up) yield* Effect.logWarning(`Port ${port} is taken: paste the redirect URL into complete_login.`)
        }
        const login = yield* newLogin(
          key,
          started,
          Option.some({ state: stateOf(started.authorizationUrl), listens, complete: started.complete }),
        )
        yield* register(login)
        return pendingOf(login)
      }),
    finishRedirect,
    await: (loginId, wait, onTick) =>
      Effect.gen(function* () {
        yield* sweep
        const login = yield* find(loginId)
        const now = yield* DateTime.now
        const untilExpiry = Duration.millis(Math.max(0, DateTime.distance(now, login.expiresAt)))
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
