/**
 * The login registry: logins that wait for the user. Device-code logins are
 * polled in the background; authorization-code logins are finished by the
 * loopback listener (`CallbackListener`), which each holds while it waits,
 * or by a pasted redirect URL. Each login has an id, an expiry and a result
 * the `complete_login` tool can wait for; it redeems its code at most once,
 * and a finished login is saved to `Accounts` whether or not anyone waits,
 * also when the provider's answer comes after its expiry.
 *
 * Every login is a record in the token store (`TokenStore.logins`), so a
 * restarted server or another replica on the same store takes it over: it
 * polls the device code, listens again for the redirect, answers
 * `complete_login`. Polling and code exchange happen under the record's
 * lease, so one process at a time does them, and the first outcome is
 * written to the record, where every other process reads it.
 */
import { randomBytes } from "node:crypto"
import {
  Accounts,
  AuthorizationCode,
  DeviceFlow,
  OAuthError,
  Provider,
  Settings,
  type Token,
  TokenStore,
} from "@hyperauth/core"
import * as Cause from "effect/Cause"
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
import { Providers } from "./Providers.js"

/** Device logins polled in the background at once, at most: each is a request every few seconds. */
export const maxDevicePollers = 16

/**
 * Authorization-code logins waiting at once, at most: each is a record
 * that every reading of the store goes through, and perhaps a listener.
 */
export const maxPendingRedirects = 32

/** A finished or failed login is remembered this long past its expiry, for late `complete_login` calls. */
const keepFinished = Duration.minutes(10)

/** How often a waiting login looks for an outcome another process wrote. */
const followEvery = Duration.seconds(1)

export interface Finished {
  readonly provider: string
  readonly account: string
  readonly token: Token.TokenSet
}

interface Login {
  readonly record: PendingLogin.PendingLogin
  /** The completion `startLogin` gave this process; none for a login taken over from the store. */
  readonly started: Option.Option<Provider.DevicePending | Provider.RedirectPending>
  readonly result: Deferred.Deferred<Finished, ToolError>
  /** One redirect delivery at a time in this process (the record's lease orders them across processes). */
  readonly redeem: Effect.Semaphore
  /**
   * How many redemptions of its code (or device code) are under way here,
   * and whether its time ran out: a login expires only while none is, and
   * none starts once it has (see `redeeming`).
   */
  readonly redemption: Ref.Ref<{ readonly underWay: number; readonly expired: boolean }>
  /** Whether the loopback listener receives this login's redirect. */
  readonly listening: boolean
}

/** Who logs in and with what request (scope, options), as one comparable string. */
export interface LoginKey {
  readonly provider: string
  readonly account: string
  readonly request: string
  /**
   * The scope asked for (also in `request`): kept in the login's record, so
   * that a process taking the login over grants it when the token answer
   * names none (RFC 6749 §5.1), as the completion `startLogin` gave does.
   */
  readonly scope?: string | undefined
  /**
   * The provider's `source` (its origins and client), kept in the record: a
   * server on the same store with other settings leaves the login alone.
   */
  readonly source?: string | undefined
}

/** What the login tool shows for a pending login: the core's pending login without its secrets and completion, all of it kept in the record. */
export type Shown =
  | Omit<Provider.DevicePending, "deviceCode" | "complete">
  | Omit<Provider.RedirectPending, "state" | "codeVerifier" | "complete">

export interface Pending {
  readonly loginId: string
  readonly started: Shown
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
   * Runs `start` (finding the pending login, or starting one) alone among
   * the starts for this provider and account in this process, and under
   * the store's lease on them, so also in every process on this store
   * (replicas): two `login` calls at once (a double click, two agents) then
   * get one login, where the second would have replaced the first and left
   * its link or code finishing nothing, or, in two processes, both would
   * have stayed pending, each polled by its own process.
   */
  readonly exclusive: (account: {
    readonly provider: string
    readonly account: string
  }) => <A, E, R>(start: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * The login still waiting for this same key, if any: asking again returns
   * it, so the user's code or link stays good and no second poller starts.
   */
  readonly pending: (key: LoginKey) => Effect.Effect<Option.Option<Pending>>
  /** Refused (`invalid_input`) while `maxDevicePollers` device logins are still polled. */
  readonly startDevice: (
    key: LoginKey,
    started: Provider.DevicePending,
  ) => Effect.Effect<Pending, OAuthError.InvalidInput | OAuthError.TokenStoreError>
  /**
   * Starts an authorization-code login: takes the loopback listener when
   * the redirect comes to it, then lets `start` build the authorization URL
   * for the redirect URI to use (`undefined`: the one configured).
   * Refused (`invalid_input`) while `maxPendingRedirects` others wait.
   */
  readonly startRedirect: <E>(
    key: LoginKey,
    target: RedirectTarget,
    start: (redirectUri: string | undefined) => Effect.Effect<Provider.RedirectPending, E>,
  ) => Effect.Effect<Pending, E | OAuthError.InvalidInput | OAuthError.TokenStoreError>
  /**
   * Ends the logins waiting for an account, for everyone (a logout): their
   * pollers stop, and their links and codes finish nothing.
   */
  readonly end: (account: {
    readonly provider: string
    readonly account: string
  }) => Effect.Effect<void, OAuthError.TokenStoreError>
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

type Flow = PendingLogin.PendingLogin["flow"]

/**
 * The lease the starts of logins for a provider and account take in the
 * store: a record id no login has (theirs start with `login_`).
 */
const startLeaseId = (account: { readonly provider: string; readonly account: string }) =>
  `start:${JSON.stringify([account.provider, account.account])}`

const newId = Effect.sync(() => `login_${randomBytes(12).toString("base64url")}`)

/** The scope to record for a login: none for a blank one, which the core leaves out of the request. */
const askedScope = (scope: string | undefined): string | undefined =>
  scope === undefined || scope.trim() === "" ? undefined : scope

/** The port of this server's listener a loopback callback comes to, if it is one the listener serves. */
const listenerPort = (callback: Provider.LoopbackCallback | undefined, provider: string): Option.Option<number> =>
  callback !== undefined && callback.path === Settings.callbackPath(provider)
    ? Option.some(callback.port)
    : Option.none()

/**
 * Whether `listener` receives the redirects to `redirectUri`: it holds
 * the port, and, for a URI on `localhost`, ::1 on it too (a browser may
 * try that first).
 */
const receives = (listener: CallbackListener.Listener, port: number, redirectUri: string | undefined) =>
  listener.port === port &&
  (listener.localhost ||
    redirectUri === undefined ||
    !URL.canParse(redirectUri) ||
    new URL(redirectUri).hostname !== "localhost")

/** Where a recorded login's redirect comes; a record of an earlier version has only its redirect URI. */
const callbackOf = (record: PendingLogin.PendingLogin): Provider.LoopbackCallback | undefined =>
  record.callback ?? (record.redirectUri === undefined ? undefined : Provider.loopbackCallback(record.redirectUri))

/**
 * Redirect outcomes that do not end the login: the genuine redirect may
 * still arrive, or reach a process configured for this provider.
 */
const leavesPending = (error: ToolError) =>
  error._tag === "StateMismatch" || error._tag === "InvalidInput" || error._tag === "NotConfigured"

/** Where pending logins are kept, for an unknown `login_id`'s message. */
const storeName = (info: TokenStore.Info) => {
  switch (info.kind) {
    case "memory":
      return "memory, so they end with the process (set HYPERAUTH_STORE to keep them across restarts)"
    case "file":
      return `the file ${info.location}`
    case "redis":
      return `Redis at ${info.location}`
  }
}

const shownOf = (record: PendingLogin.PendingLogin): Shown =>
  record.flow === "device_code"
    ? {
        _tag: "DevicePending",
        userCode: record.userCode ?? "",
        verificationUri: record.verificationUri ?? "",
        verificationUriComplete: record.verificationUriComplete,
        expiresAt: record.expiresAt,
        interval: record.interval ?? DeviceFlow.defaultInterval,
      }
    : {
        _tag: "RedirectPending",
        authorizationUrl: record.authorizationUrl ?? "",
        redirectUri: record.redirectUri ?? "",
        expiresAt: record.expiresAt,
      }

/** The outcome to record for how an exchange ended; none for a defect or an interruption. */
const outcomeOf = (exit: Exit.Exit<Finished, ToolError>): Option.Option<PendingLogin.Outcome> =>
  Exit.isSuccess(exit)
    ? Option.some({ _tag: "Finished" })
    : Option.map(Cause.failureOption(exit.cause), (error) => ({ _tag: "Failed", error }))

export const make = Effect.gen(function* () {
  const accounts = yield* Accounts.Accounts
  const tokenStore = yield* TokenStore.TokenStore
  const providers = yield* Providers
  const records = PendingLogin.store(tokenStore.logins)
  const scope = yield* Effect.scope
  const port = yield* Effect.orElseSucceed(Settings.callbackPort, () => Settings.defaultCallbackPort)
  /**
   * How long past its expiry a redemption under way may still settle a
   * login: a redemption is one request, within the HTTP time limit (a code
   * is never sent twice), so twice that is room enough; and a poller that
   * hangs cannot keep a login for good.
   */
  const redemptionGrace = Duration.times(
    yield* Effect.orElseSucceed(Settings.httpTimeout, () => Settings.defaultHttpTimeout),
    2,
  )
  // One login admitted at a time per flow, so that the caps are counted exactly.
  const deviceAdmission = yield* Effect.makeSemaphore(1)
  const redirectAdmission = yield* Effect.makeSemaphore(1)
  // One reading of the store at a time, so that a login is taken over once.
  const adoption = yield* Effect.makeSemaphore(1)
  const logins = yield* Ref.make(new Map<string, Login>())
  // Per provider and account, with how many starts hold or wait for it: dropped once none does.
  const startLocks = new Map<string, { readonly lock: Effect.Semaphore; users: number }>()

  const unknown = (loginId: string) => new UnknownLogin({ loginId, store: storeName(tokenStore.info) })

  /** The `Provider.source` of this server's settings of `provider`, if it is configured and has one. */
  const sourceOf = (provider: string): Effect.Effect<string | undefined> =>
    Effect.map(Effect.option(providers.get(provider)), (found) =>
      Option.getOrUndefined(Option.flatMapNullable(found, (p) => p.source)),
    )

  /** Whether `record` was started with other settings of its provider than this server's. */
  const startedElsewhere = (record: PendingLogin.PendingLogin): Effect.Effect<boolean> =>
    record.source === undefined
      ? Effect.succeed(false)
      : Effect.map(sourceOf(record.provider), (source) => source !== undefined && source !== record.source)

  const expired = (login: Login) =>
    new OAuthError.OAuthProtocolError({
      provider: login.record.provider,
      error: "expired_token",
      errorDescription: "the login was not finished in time",
    })

  const keyOf = (login: Login) => ({ provider: login.record.provider, account: login.record.account })

  /**
   * Ends the login here with `expired_token`, unless its code is being
   * redeemed here: the provider may have issued its tokens already, so the
   * redemption settles the login, and expires it when it ends without doing
   * so. `force`: whatever is under way (`redemptionGrace` past the expiry).
   * Whether this settled the login.
   */
  const expire = (login: Login, force = false) =>
    Effect.flatMap(
      Ref.modify(login.redemption, (r) => (r.underWay > 0 && !force ? [false, r] : [true, { ...r, expired: true }])),
      (expires) => (expires ? Deferred.fail(login.result, expired(login)) : Effect.succeed(false)),
    )

  /** Expires the login under its record's `lease`, and records that for other processes. */
  const expireRecorded = (login: Login, lease: TokenStore.RecordLease) =>
    Effect.flatMap(expire(login), (settled) =>
      settled ? recordOutcome(login, { _tag: "Failed", error: expired(login) }, lease) : Effect.void,
    )

  /**
   * Expires the login once its time is up, under its record's lease: a
   * process redeeming its code (here or elsewhere) holds that lease, so
   * this waits for it and then takes the outcome it recorded. A store
   * failure leaves the expiry to this process alone.
   */
  const expireUnderLease = (login: Login) =>
    Effect.scoped(
      Effect.gen(function* () {
        const lease = yield* records.acquire(login.record.id)
        const current = yield* records.get(login.record.id)
        const outcome = Option.flatMapNullable(current, (entry) => entry.login.outcome)
        if (Option.isSome(outcome)) return yield* settleFrom(login, outcome.value)
        yield* expireRecorded(login, lease)
      }),
    ).pipe(Effect.catchAll(() => Effect.asVoid(expire(login))))

  /**
   * Runs a redemption of the login's code under `lease`: started only
   * before its expiry (after it, the login expires and `work` never runs),
   * and holding off the expiry until it ends.
   */
  const redeeming = (
    login: Login,
    lease: TokenStore.RecordLease,
    work: Effect.Effect<Finished, ToolError>,
  ): Effect.Effect<Finished, ToolError> =>
    Effect.acquireUseRelease(
      Effect.flatMap(DateTime.now, (now) =>
        DateTime.lessThan(now, login.record.expiresAt)
          ? Ref.modify(login.redemption, (r) => (r.expired ? [false, r] : [true, { ...r, underWay: r.underWay + 1 }]))
          : Effect.as(expireRecorded(login, lease), false),
      ),
      (started) => (started ? work : Deferred.await(login.result)),
      (started) =>
        started
          ? Effect.zipRight(
              Ref.update(login.redemption, (r) => ({ ...r, underWay: r.underWay - 1 })),
              // Its time ran out meanwhile, and it left the login pending (a forged redirect).
              Effect.flatMap(DateTime.now, (now) =>
                DateTime.lessThan(now, login.record.expiresAt) ? Effect.void : expireRecorded(login, lease),
              ),
            )
          : Effect.void,
    )

  /** What a recorded outcome means here: the tokens another process saved, or its error. */
  const fromOutcome = (login: Login, outcome: PendingLogin.Outcome): Effect.Effect<Finished, ToolError> =>
    outcome._tag === "Failed"
      ? Effect.fail(outcome.error)
      : Effect.flatMap(
          tokenStore.get(keyOf(login)),
          Option.match({
            onNone: () =>
              Effect.fail(
                new OAuthError.NotLoggedIn({
                  ...keyOf(login),
                  reason: "the login finished, but the account was logged out since",
                }),
              ),
            onSome: (entry) => Effect.succeed({ ...keyOf(login), token: entry.token }),
          }),
        )

  const settleFrom = (login: Login, outcome: PendingLogin.Outcome) =>
    Effect.flatMap(Effect.exit(fromOutcome(login, outcome)), (exit) => Deferred.done(login.result, exit))

  /**
   * Writes how the login ended, unless an outcome is there already (the
   * first one stays). Under `lease` when the caller holds the record's.
   */
  const recordOutcome = (login: Login, outcome: PendingLogin.Outcome, lease?: TokenStore.RecordLease) =>
    Effect.gen(function* () {
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = yield* records.get(login.record.id)
        if (Option.isNone(current) || current.value.login.outcome !== undefined) return
        const written = yield* Effect.either(
          records.put({ ...current.value.login, outcome }, { ifVersion: current.value.version, lease }),
        )
        if (Either.isRight(written)) return
        if (written.left._tag !== "StoreConflict") return yield* written.left
        // Superseded: the lease's new holder settles the login.
        if (written.left.reason === "lease") return
      }
    }).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`How login ${login.record.id} ended could not be recorded: ${error.message}`),
      ),
    )

  /**
   * A login taken over from a process that died after saving its tokens but
   * before recording the outcome redeems its code again, and the provider
   * answers `invalid_grant`. When the record says when the code brought
   * tokens (`redeemedAt`), those the account received since are its
   * outcome (they, or a refresh of them); without that mark the refusal is
   * the outcome. Not since the login started: a refresh of the account's
   * earlier login while the user approved would pass for this login's.
   */
  const savedBefore = (login: Login) => (error: ToolError) =>
    Option.isNone(login.started) && error._tag === "OAuthProtocolError" && error.error === "invalid_grant"
      ? Effect.gen(function* () {
          const current = yield* Effect.orElseSucceed(records.get(login.record.id), () => Option.none())
          const redeemedAt = Option.flatMapNullable(current, (entry) => entry.login.redeemedAt)
          const stored = yield* Effect.either(accounts.get(keyOf(login)))
          return Option.isSome(redeemedAt) &&
            Either.isRight(stored) &&
            DateTime.greaterThanOrEqualTo(stored.right.receivedAt, redeemedAt.value)
            ? stored.right
            : yield* error
        })
      : Effect.fail(error)

  /**
   * Marks the record redeemed under `lease`, once the code brought `token`
   * and before it is saved (`redeemedAt`: when it was received, so that
   * the mark and the saved tokens compare); or finds that the login ended
   * meanwhile (a logout, a newer login, here or in another process): then
   * its outcome, and the tokens are not saved. A store failure is logged:
   * the tokens matter more than the mark.
   */
  const claim = (login: Login, lease: TokenStore.RecordLease | undefined, token: Token.TokenSet) =>
    Effect.gen(function* () {
      if (yield* Deferred.isDone(login.result)) return Option.some(yield* Effect.exit(Deferred.await(login.result)))
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = yield* records.get(login.record.id)
        if (Option.isNone(current)) return Option.none()
        const ended = current.value.login.outcome
        if (ended !== undefined) return Option.some(yield* Effect.exit(fromOutcome(login, ended)))
        if (lease === undefined || current.value.login.redeemedAt !== undefined) return Option.none()
        const written = yield* Effect.either(
          records.put(
            { ...current.value.login, redeemedAt: token.receivedAt },
            { ifVersion: current.value.version, lease },
          ),
        )
        // A conflict of versions: someone wrote the record meanwhile (an outcome?); read it again.
        if (Either.isRight(written) || written.left._tag !== "StoreConflict" || written.left.reason === "lease")
          return Option.none()
      }
      return Option.none()
    }).pipe(
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning(`That login ${login.record.id} was redeemed could not be recorded: ${error.message}`),
          Option.none(),
        ),
      ),
    )

  /** Revokes tokens no login keeps, where the provider can; a failure is logged, never the caller's. */
  const revokeUnsaved = (provider: string, token: Token.TokenSet): Effect.Effect<void> =>
    Effect.flatMap(providers.get(provider), (p) => p.revoke(token)).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`Tokens of ${provider} that no login keeps could not be revoked: ${error.message}`),
      ),
      Effect.asVoid,
    )

  /**
   * Saves the tokens, records the outcome for other processes, then settles
   * the login's result, which is what the caller gets: a login that ended
   * while its code was redeemed keeps that ending, and its tokens are not saved.
   */
  const commit = (login: Login, exchange: Effect.Effect<Token.TokenSet, ToolError>, lease?: TokenStore.RecordLease) =>
    Effect.gen(function* () {
      const exchanged = yield* Effect.exit(exchange)
      const ended = Exit.isSuccess(exchanged) ? yield* claim(login, lease, exchanged.value) : Option.none()
      if (Option.isSome(ended)) {
        // Ended (a logout, a newer login) while its code was redeemed: the tokens it
        // brought are saved nowhere, so they must not stay live at the provider either.
        if (Exit.isSuccess(exchanged)) yield* revokeUnsaved(login.record.provider, exchanged.value)
        yield* Deferred.done(login.result, ended.value)
        return yield* Deferred.await(login.result)
      }
      const exit = yield* Effect.exit(
        exchanged.pipe(
          Effect.catchAll(savedBefore(login)),
          Effect.tap((token) => accounts.save(keyOf(login), token)),
          Effect.map((token): Finished => ({ ...keyOf(login), token })),
        ),
      )
      yield* Option.match(outcomeOf(exit), { onNone: () => Effect.void, onSome: (o) => recordOutcome(login, o, lease) })
      yield* Deferred.done(login.result, exit)
      return yield* Deferred.await(login.result)
    })

  /** Exchanges the redirect's code: with `startLogin`'s completion, or one rebuilt from the record. */
  const exchangeRedirect = (login: Login, redirectUrl: string): Effect.Effect<Token.TokenSet, ToolError> => {
    const started = login.started
    if (Option.isSome(started) && started.value._tag === "RedirectPending") return started.value.complete(redirectUrl)
    const { provider, state, redirectUri, codeVerifier, scope } = login.record
    if (state === undefined || redirectUri === undefined) {
      return Effect.fail(
        new OAuthError.InvalidInput({ provider, reason: "this login's record is incomplete; start a new login." }),
      )
    }
    return Effect.flatMap(providers.get(provider), (p) =>
      p.resumeRedirect({ state, redirectUri, codeVerifier, scope }, redirectUrl),
    )
  }

  /**
   * Keeps a device login's longer interval (after a `slow_down`) in its
   * record, under `lease`: a process that takes the polling over starts
   * from it instead of polling sooner. A store failure is logged; the
   * polling goes on.
   */
  const recordInterval =
    (login: Login, lease: TokenStore.RecordLease) =>
    (interval: Duration.Duration): Effect.Effect<void> =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < 5; attempt++) {
          const current = yield* records.get(login.record.id)
          if (Option.isNone(current) || current.value.login.outcome !== undefined) return
          const written = yield* Effect.either(
            records.put({ ...current.value.login, interval }, { ifVersion: current.value.version, lease }),
          )
          if (Either.isRight(written)) return
          // Another write came between (a redemption mark?): read the record again.
          if (written.left._tag === "StoreConflict" && written.left.reason === "version") continue
          return yield* written.left
        }
      }).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(
            `The longer polling interval of login ${login.record.id} could not be recorded: ${error.message}`,
          ),
        ),
      )

  /**
   * Polls the device code: with `startLogin`'s completion, or one rebuilt
   * from `record` (the login's latest record, read under its lease). The
   * record wins when it holds a longer interval than the completion
   * started with: another process polled meanwhile and was told to slow
   * down (RFC 8628 §3.5: the longer interval holds for all later polls).
   */
  const pollDevice = (login: Login, record: PendingLogin.PendingLogin): Effect.Effect<Token.TokenSet, ToolError> => {
    const started = login.started
    if (
      Option.isSome(started) &&
      started.value._tag === "DevicePending" &&
      !(record.interval !== undefined && Duration.greaterThan(record.interval, started.value.interval))
    )
      return started.value.complete
    const { provider, deviceCode, interval, expiresAt, scope } = record
    if (deviceCode === undefined) {
      return Effect.fail(
        new OAuthError.InvalidInput({ provider, reason: "this login's record is incomplete; start a new login." }),
      )
    }
    return Effect.flatMap(providers.get(provider), (p) =>
      p.resumeDevice({ deviceCode, interval: interval ?? DeviceFlow.defaultInterval, expiresAt, scope }),
    )
  }

  /**
   * Runs `work` under the record's lease, with the record as read under it,
   * unless the record already holds an outcome (then that is the login's
   * result). Another process holding the lease makes this wait.
   */
  const underLease = (
    login: Login,
    work: (lease: TokenStore.RecordLease, record: PendingLogin.PendingLogin) => Effect.Effect<Finished, ToolError>,
  ): Effect.Effect<Finished, ToolError> =>
    Effect.scoped(
      Effect.gen(function* () {
        const lease = yield* records.acquire(login.record.id)
        const current = yield* records.get(login.record.id)
        if (Option.isNone(current)) {
          yield* Deferred.fail(login.result, unknown(login.record.id))
          return yield* Deferred.await(login.result)
        }
        const outcome = current.value.login.outcome
        if (outcome !== undefined) {
          yield* settleFrom(login, outcome)
          return yield* Deferred.await(login.result)
        }
        return yield* redeeming(login, lease, work(lease, current.value.login))
      }),
    )

  const find = (loginId: string) =>
    Effect.gen(function* () {
      const known = (yield* Ref.get(logins)).get(loginId)
      if (known !== undefined) return known
      // Started by another process on this store (before a restart, or another replica).
      const stored = yield* Effect.orElseSucceed(records.get(loginId), () => Option.none())
      if (Option.isNone(stored)) return yield* unknown(loginId)
      // Its code or redirect would go to this server's origins, which are not the ones that issued it.
      if (yield* startedElsewhere(stored.value.login))
        return yield* new UnknownLogin({ loginId, otherSettings: stored.value.login.provider })
      return yield* adopt(stored.value.login)
    })

  /**
   * Forgets logins finished or expired long ago. Pending ones past their
   * time are left to their `watch`, which expires them under the lease, so
   * that a redemption under way elsewhere is waited for.
   */
  const sweep = Effect.gen(function* () {
    const now = yield* DateTime.now
    for (const login of (yield* Ref.get(logins)).values()) {
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
   * Runs `work` to its end, whoever interrupts the caller: once a code is
   * sent it is spent, so the registry's close (a stop) waits for its tokens
   * to be saved (within the HTTP time limit) rather than drop them. The
   * work itself stays interruptible, in a fiber of its own, so that its
   * time limits and races still end what they must.
   */
  const toTheEnd = <A, E>(work: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.forkDaemon(restore(work)), Fiber.join))

  /**
   * Delivers a redirect to its login. Deliveries queue on the login's
   * permit and on its record's lease, and the first that reaches the
   * provider settles the login, so a code is redeemed at most once and
   * later deliveries (here or in another process) get that outcome. The
   * exchange runs in the registry's scope: a waiter that gives up does not
   * stop it, nor does the registry's close, and its tokens are saved.
   */
  const deliver = (login: Login, redirectUrl: string) =>
    login.redeem
      .withPermits(1)(
        Effect.gen(function* () {
          const done = yield* Deferred.poll(login.result)
          if (Option.isSome(done)) return yield* done.value
          return yield* underLease(login, (lease) =>
            Effect.gen(function* () {
              const exchanged = yield* Effect.either(exchangeRedirect(login, redirectUrl))
              if (Either.isLeft(exchanged) && leavesPending(exchanged.left)) return yield* exchanged.left
              return yield* commit(login, exchanged, lease)
            }).pipe(toTheEnd),
          )
        }),
      )
      .pipe(Effect.forkIn(scope), Effect.flatMap(Fiber.join))

  /**
   * Polls a device login in the background under its record's lease: of
   * all processes that know the login, the one holding the lease polls; the
   * others wait for it and take over only when its lease is taken over
   * (its holder died or stopped renewing). Ends when the login is settled.
   */
  const poll = (login: Login) =>
    Effect.gen(function* () {
      // A process not configured for this provider leaves the polling of a login it took over to one that is.
      const configured =
        Option.isSome(login.started) || Either.isRight(yield* Effect.either(providers.get(login.record.provider)))
      if (!configured) return
      while (!(yield* Deferred.isDone(login.result))) {
        const attempt = yield* Effect.exit(
          underLease(login, (lease, record) =>
            commit(
              login,
              Effect.provideService(pollDevice(login, record), DeviceFlow.SlowDowns, {
                record: recordInterval(login, lease),
              }),
              lease,
            ),
          ),
        )
        // A store failure (a lease still held elsewhere after the wait): try again.
        if (Exit.isFailure(attempt) && !(yield* Deferred.isDone(login.result))) yield* Effect.sleep("1 second")
      }
    }).pipe(Effect.raceFirst(Effect.exit(Deferred.await(login.result))), Effect.asVoid, Effect.forkIn(scope))

  /** The loopback listener's handler: the waiting login whose `state` the callback carries, or none. */
  const onCallback = ({ provider, url }: CallbackListener.Callback): Effect.Effect<Pages.Page> =>
    Effect.gen(function* () {
      const repeated = AuthorizationCode.repeatedParameter(url.searchParams)
      if (repeated !== undefined) return Pages.unusable(provider, `it carries "${repeated}" more than once.`)
      const state = url.searchParams.get("state")
      if (state === null) return Pages.notPending(provider)
      const matching = Effect.map(Ref.get(logins), (all) =>
        [...all.values()].find(
          (l) =>
            l.listening &&
            l.record.provider === provider &&
            l.record.flow === "authorization_code" &&
            l.record.state !== undefined &&
            AuthorizationCode.sameState(state, l.record.state),
        ),
      )
      // Not known here: perhaps started by another process on this store.
      const login = (yield* matching) ?? (yield* Effect.zipRight(sync, matching))
      if (login === undefined) return Pages.notPending(provider)
      const exit = yield* Effect.exit(deliver(login, url.toString()))
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

  /** Settles the login from an outcome another process recorded, as soon as it is there. */
  const follow = (login: Login) =>
    Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(followEvery)
        const current = yield* Effect.orElseSucceed(records.get(login.record.id), () => Option.none())
        const outcome = Option.flatMapNullable(current, (entry) => entry.login.outcome)
        if (Option.isSome(outcome)) return yield* settleFrom(login, outcome.value)
      }
    })

  /**
   * Ends the login when its result is settled (here or, as its record
   * says, elsewhere) or its time is up, and then lets go of the listener it
   * held (which stops once no login holds it).
   */
  const watch = (login: Login, held: Scope.CloseableScope) =>
    Effect.gen(function* () {
      const untilExpiry = Math.max(0, DateTime.distance(yield* DateTime.now, login.record.expiresAt))
      yield* Effect.raceAll([
        Effect.asVoid(Effect.exit(Deferred.await(login.result))),
        // A redemption under way at the expiry settles the login when it ends, or this does after the grace.
        Effect.sleep(Duration.millis(untilExpiry)).pipe(
          Effect.zipRight(
            Effect.raceFirst(
              Effect.zipRight(expireUnderLease(login), Effect.exit(Deferred.await(login.result))),
              Effect.zipRight(Effect.sleep(redemptionGrace), expire(login, true)),
            ),
          ),
          Effect.asVoid,
        ),
        Effect.asVoid(follow(login)),
      ])
    }).pipe(
      Effect.ensuring(Scope.close(held, Exit.void)),
      // Started from an uninterruptible region: the registry's close must still end it.
      Effect.interruptible,
      Effect.forkIn(scope),
    )

  const makeLogin = (
    record: PendingLogin.PendingLogin,
    started: Login["started"],
    listening: boolean,
  ): Effect.Effect<Login> =>
    Effect.map(
      Effect.all({
        result: Deferred.make<Finished, ToolError>(),
        redeem: Effect.makeSemaphore(1),
        redemption: Ref.make({ underWay: 0, expired: false }),
      }),
      ({ result, redeem, redemption }) => ({ record, started, result, redeem, redemption, listening }),
    )

  const remember = (login: Login) => Ref.update(logins, (all) => new Map(all).set(login.record.id, login))

  /**
   * Takes over a login another process started on this store: listens
   * again on its redirect URI's loopback port when it can, polls its device
   * code (under the lease), and settles it from the record's outcome.
   */
  const adopt = (record: PendingLogin.PendingLogin): Effect.Effect<Login> =>
    adoption.withPermits(1)(
      Effect.gen(function* () {
        const known = (yield* Ref.get(logins)).get(record.id)
        if (known !== undefined) return known
        const held = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const redirectPort =
          record.flow === "authorization_code"
            ? listenerPort(callbackOf(record), record.provider)
            : Option.none<number>()
        const login = yield* makeLogin(record, Option.none(), Option.isSome(redirectPort))
        yield* remember(login)
        if (record.outcome !== undefined) {
          yield* settleFrom(login, record.outcome)
          yield* Scope.close(held, Exit.void)
          return login
        }
        const now = yield* DateTime.now
        if (Option.isSome(redirectPort) && DateTime.lessThan(now, record.expiresAt)) {
          // The exact port the authorization URL named, or none: a free one would receive nothing.
          const listening = yield* Scope.fork(held, ExecutionStrategy.sequential)
          const listener = yield* Effect.either(listenerOn(redirectPort.value, listening))
          if (Either.isLeft(listener) || !receives(listener.right, redirectPort.value, record.redirectUri)) {
            yield* Scope.close(listening, Exit.void)
            yield* Effect.logInfo(
              `Port ${redirectPort.value} of login ${record.id}'s redirect URI is taken (on 127.0.0.1, or on ::1 for localhost): its redirect goes to whoever holds it, or is pasted into complete_login.`,
            )
          }
        }
        yield* watch(login, held)
        if (record.flow === "device_code") yield* poll(login)
        return login
      }),
    )

  /** Takes over every login of this store not known here, and removes records long past their expiry. */
  const sync = Effect.gen(function* () {
    const entries = yield* records.list
    const now = yield* DateTime.now
    const known = yield* Ref.get(logins)
    for (const { login, version } of entries) {
      if (DateTime.greaterThan(now, DateTime.addDuration(login.expiresAt, keepFinished))) {
        yield* Effect.ignore(records.remove(login.id, { ifVersion: version }))
      } else if (!known.has(login.id) && !(yield* startedElsewhere(login))) {
        yield* adopt(login)
      }
    }
  }).pipe(
    Effect.catchAll((error) => Effect.logWarning(`Pending logins could not be read from the store: ${error.message}`)),
  )

  /** Ends, for everyone, the logins of an account still waiting, with `why`. */
  const endWaiting = (
    account: { readonly provider: string; readonly account: string },
    why: (login: Login) => UnknownLogin,
  ) =>
    Effect.gen(function* () {
      yield* sync
      for (const old of (yield* Ref.get(logins)).values()) {
        if (old.record.provider !== account.provider || old.record.account !== account.account) continue
        const ended = why(old)
        if (yield* Deferred.fail(old.result, ended)) yield* recordOutcome(old, { _tag: "Failed", error: ended })
      }
    })

  /**
   * Adds a login this process started. One login waits per provider and
   * account: an older one still pending (asked with another request, here
   * or in another process) ends, for everyone, and its device poller
   * stops, so an agent that starts over leaves no pollers behind.
   */
  const register = (login: Login, held: Scope.CloseableScope) =>
    Effect.gen(function* () {
      yield* endWaiting(login.record, (old) => new UnknownLogin({ loginId: old.record.id, replaced: true }))
      yield* records
        .put(login.record, { ifVersion: 0 })
        .pipe(Effect.catchTag("StoreConflict", (conflict) => Effect.die(conflict)))
      yield* remember(login)
      yield* watch(login, held)
      yield* sweep
    })

  /**
   * Takes the listener this login's redirect comes to, in `held`: the
   * configured port or, when another program holds it, a free one; a
   * pinned loopback redirect URI only on its own port. The redirect URI to
   * ask for, and whether the listener receives it.
   */
  const takeListener = (target: RedirectTarget, held: Scope.Scope) =>
    Effect.gen(function* () {
      if (Option.isSome(target.pinned)) {
        const pinnedPort = listenerPort(Provider.loopbackCallback(target.pinned.value), target.provider)
        if (Option.isNone(pinnedPort)) return { redirectUri: undefined, listening: false }
        const listener = yield* Effect.either(listenerOn(pinnedPort.value, held))
        const holds = Either.isRight(listener) && receives(listener.right, pinnedPort.value, target.pinned.value)
        if (Either.isRight(listener) && listener.right.port === pinnedPort.value && !holds) {
          yield* Effect.logWarning(
            `Another program holds [::1]:${pinnedPort.value}, where a browser may send the redirect to the configured localhost redirect URI: the user pastes the URL they land on into complete_login (use 127.0.0.1 in the redirect URI to avoid this).`,
          )
        } else if (!holds) {
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
      return { redirectUri: Settings.loopbackRedirectUri(target.provider, listener.right.port), listening: true }
    })

  /**
   * Refuses a login of `flow` while `max` others of it wait (one this login
   * replaces, for the same provider and account, does not count). Expired
   * logins are let go first.
   */
  const admit = (key: { readonly provider: string; readonly account: string }, flow: Flow, max: number) =>
    Effect.gen(function* () {
      yield* sweep
      const others = [...(yield* Ref.get(logins)).values()].filter(
        (l) => l.record.flow === flow && (l.record.provider !== key.provider || l.record.account !== key.account),
      )
      const waiting = yield* Effect.filter(others, (l) => Effect.map(Deferred.isDone(l.result), (done) => !done))
      if (waiting.length < max) return
      return yield* new OAuthError.InvalidInput({
        provider: key.provider,
        reason:
          flow === "device_code"
            ? `${max} device logins are already waiting for their users. Finish one with complete_login or let one expire, then call login again.`
            : `${max} sign-in links are already waiting for their users. Finish one with complete_login or let one expire, then call login again.`,
      })
    })

  /**
   * Runs `start` holding the store's lease on the starts for this provider
   * and account, so that another process on this store (a replica) starting
   * a login for them at the same moment waits for this one's record and
   * finds it, as a second start in this process does. A store that cannot
   * give the lease leaves the start unordered across processes, as a start
   * was before: it is logged, and the start goes on.
   */
  const acrossProcesses = <A, E, R>(
    account: { readonly provider: string; readonly account: string },
    start: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Scope.make(),
      (leased) =>
        Effect.zipRight(
          records.acquire(startLeaseId(account)).pipe(
            Scope.extend(leased),
            Effect.catchAll((error) =>
              Effect.logWarning(
                `The store's lease on logins starting for ${account.provider} could not be taken (${error.message}): another server on this store may start one at the same moment.`,
              ),
            ),
          ),
          start,
        ),
      (leased, exit) => Scope.close(leased, exit),
    )

  const pendingOf = (login: Login): Pending => ({
    loginId: login.record.id,
    started: shownOf(login.record),
    listening: login.listening,
  })

  const service: Service = {
    exclusive: (account) => (start) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const name = JSON.stringify([account.provider, account.account])
          const held = startLocks.get(name) ?? { lock: Effect.unsafeMakeSemaphore(1), users: 0 }
          held.users++
          startLocks.set(name, held)
          return { name, held }
        }),
        ({ held }) => held.lock.withPermits(1)(acrossProcesses(account, start)),
        ({ name, held }) =>
          Effect.sync(() => {
            if (--held.users === 0) startLocks.delete(name)
          }),
      ),
    pending: (key) =>
      Effect.gen(function* () {
        yield* sync
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
        const record: PendingLogin.PendingLogin = {
          id: yield* newId,
          ...key,
          scope: askedScope(key.scope),
          flow: "device_code",
          deviceCode: started.deviceCode,
          interval: started.interval,
          userCode: started.userCode,
          verificationUri: started.verificationUri,
          verificationUriComplete: started.verificationUriComplete,
          expiresAt: started.expiresAt,
          startedAt: yield* DateTime.now,
        }
        const login = yield* makeLogin(record, Option.some(started), false)
        yield* deviceAdmission.withPermits(1)(
          Effect.zipRight(
            admit(key, "device_code", maxDevicePollers),
            Effect.flatMap(Scope.fork(scope, ExecutionStrategy.sequential), (held) => register(login, held)),
          ),
        )
        // Polls in the background until the code is redeemed, refused or
        // expired, or the login is replaced (its result settled elsewhere).
        yield* poll(login)
        return pendingOf(login)
      }),
    startRedirect: (key, target, start) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          yield* admit(key, "authorization_code", maxPendingRedirects)
          const held = yield* Scope.fork(scope, ExecutionStrategy.sequential)
          const built = yield* restore(
            Effect.flatMap(takeListener(target, held), ({ redirectUri, listening }) =>
              Effect.map(start(redirectUri), (started) => ({ started, listening })),
            ),
          ).pipe(Effect.onError(() => Scope.close(held, Exit.void)))
          const { started } = built
          const record: PendingLogin.PendingLogin = {
            id: yield* newId,
            ...key,
            scope: askedScope(key.scope),
            flow: "authorization_code",
            state: started.state,
            codeVerifier: started.codeVerifier,
            redirectUri: started.redirectUri,
            callback: started.callback,
            authorizationUrl: started.authorizationUrl,
            expiresAt: started.expiresAt,
            startedAt: yield* DateTime.now,
          }
          const login = yield* makeLogin(record, Option.some(started), built.listening)
          yield* register(login, held).pipe(Effect.onError(() => Scope.close(held, Exit.void)))
          return pendingOf(login)
        }).pipe(redirectAdmission.withPermits(1)),
      ),
    end: (account) => endWaiting(account, (old) => new UnknownLogin({ loginId: old.record.id, loggedOut: true })),
    finishRedirect: (loginId, redirectUrl) =>
      Effect.gen(function* () {
        yield* sweep
        const login = yield* find(loginId)
        if (login.record.flow !== "authorization_code") {
          return yield* new OAuthError.InvalidInput({
            provider: login.record.provider,
            reason:
              "this is a device-code login: it finishes when the user enters the code; call complete_login without redirect_url.",
          })
        }
        return yield* deliver(login, redirectUrl)
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

  // Logins started before this process (a restart, another replica) are taken over at once.
  yield* sync
  return service
})

export const layer: Layer.Layer<Logins, never, Accounts.Accounts | TokenStore.TokenStore | Providers> = Layer.scoped(
  Logins,
  make,
)
