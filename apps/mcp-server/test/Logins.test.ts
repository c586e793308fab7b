/** The pending-login registry on its own, with the TestClock. */

import { assert, describe, it } from "@effect/vitest"
import { Accounts, AuthorizationCode, DeviceFlow, OAuthError, type Provider, Token, TokenStore } from "@hyperauth/core"
import {
  Cause,
  ConfigProvider,
  DateTime,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Redacted,
  Scope,
  TestClock,
} from "effect"
import * as Logins from "../src/Logins.js"
import * as PendingLogin from "../src/PendingLogin.js"
import * as Providers from "../src/Providers.js"
import { freePort } from "./support/harness.js"

const token = Effect.map(
  DateTime.now,
  (now) => new Token.TokenSet({ accessToken: Redacted.make("at"), tokenType: "Bearer", receivedAt: now }),
)

/** Access tokens the providers were asked to revoke: a login ended while its code was redeemed revokes what it brought. */
const revoked: Array<string> = []

/** A provider that only revokes: every login here is started in this process, with its own completion. */
const revokingOnly: Provider.Provider = {
  id: "hyperid",
  flow: "authorization_code",
  apiBaseUrl: "https://id.example",
  startLogin: () => Effect.die("not used"),
  resumeDevice: () => Effect.die("not used"),
  resumeRedirect: () => Effect.die("not used"),
  refresh: () => Effect.die("not used"),
  introspect: () => Effect.die("not used"),
  revoke: (token) => Effect.sync(() => revoked.push(Redacted.value(token.accessToken)) > 0),
  decorate: (request) => request,
}

const layer = Logins.layer.pipe(
  Layer.provideMerge(
    Layer.effect(
      Accounts.Accounts,
      Accounts.make(() => Effect.die("no provider needed")),
    ),
  ),
  Layer.provideMerge(TokenStore.layerMemory),
  Layer.provideMerge(
    Layer.succeed(Providers.Providers, {
      entries: [],
      get: () => Effect.succeed(revokingOnly),
      pinnedRedirectUri: () => Option.none(),
    }),
  ),
)

/** An authorization-code login whose redirect this server does not receive. */
const pendingRedirect = Effect.map(DateTime.now, (now) => ({
  _tag: "RedirectPending" as const,
  authorizationUrl: "https://id.example/auth?state=s1",
  redirectUri: "https://app.example/callback",
  state: "s1",
  expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
  complete: () => token,
}))

/** A redirect this server does not receive: no listener is taken. */
const elsewhere = { provider: "hyperid", pinned: Option.some("https://app.example/callback") }

const loginKey = (provider: string, account: string, request = "{}") => ({ provider, account, request })

const failureCode = <A, E extends { readonly code: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error.code : undefined

describe("Logins", () => {
  it.scoped("refuses a device login past the cap on background pollers, and admits one again once a poller ends", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const now = yield* DateTime.now
      const device = (minutes: number) => ({
        _tag: "DevicePending" as const,
        userCode: "BCDF-GHJK",
        verificationUri: "https://device.example",
        deviceCode: Redacted.make("device-code"),
        expiresAt: DateTime.addDuration(now, Duration.minutes(minutes)),
        interval: Duration.seconds(5),
        complete: Effect.never,
      })
      // One expires soon; the rest wait ten minutes.
      yield* logins.startDevice(loginKey("hyper", "soon"), device(1))
      for (let i = 1; i < Logins.maxDevicePollers; i++) {
        yield* logins.startDevice(loginKey("hyper", `user-${i}`), device(10))
      }
      const refused = yield* Effect.exit(logins.startDevice(loginKey("hyper", "one-too-many"), device(10)))
      assert.strictEqual(failureCode(refused), "invalid_input")
      if (Exit.isFailure(refused)) assert.include(Cause.pretty(refused.cause), "complete_login")
      // Its poller never ends: the login is expired at most a grace (twice the HTTP time limit) past its expiry.
      yield* TestClock.adjust("3 minutes")
      const admitted = yield* Effect.exit(logins.startDevice(loginKey("hyper", "one-too-many"), device(10)))
      assert.isTrue(Exit.isSuccess(admitted))
    }).pipe(Effect.provide(layer)),
  )

  it.scoped(
    "refuses an authorization-code login past the cap on waiting ones, and admits one again once one ends",
    () =>
      Effect.gen(function* () {
        const logins = yield* Logins.Logins
        const redirect = (account: string) =>
          logins.startRedirect(loginKey("hyperid", account), elsewhere, () => pendingRedirect)
        const first = yield* redirect("first")
        for (let i = 1; i < Logins.maxPendingRedirects; i++) yield* redirect(`user-${i}`)
        const refused = yield* Effect.exit(redirect("one-too-many"))
        assert.strictEqual(failureCode(refused), "invalid_input")
        if (Exit.isFailure(refused)) assert.include(Cause.pretty(refused.cause), "complete_login")
        // Asking again for a waiting account replaces its login: not one more.
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(redirect("user-1"))))
        yield* logins.finishRedirect(first.loginId, "https://app.example/callback?code=c&state=s1")
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(redirect("one-too-many"))))
      }).pipe(Effect.provide(layer)),
  )

  it.scoped("a login ended (by a logout) while its code is being redeemed saves nothing", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const accounts = yield* Accounts.Accounts
      const answered = yield* Deferred.make<void>()
      const exchanging = yield* Deferred.make<void>()
      const started = yield* logins.startRedirect(loginKey("hyperid", "leaving"), elsewhere, () =>
        Effect.map(pendingRedirect, (p) => ({
          ...p,
          // The provider is slow to answer the code exchange.
          complete: () =>
            Effect.zipRight(Deferred.succeed(exchanging, undefined), Effect.zipRight(Deferred.await(answered), token)),
        })),
      )
      const finishing = yield* Effect.fork(
        Effect.either(logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")),
      )
      yield* Deferred.await(exchanging)
      yield* logins.end({ provider: "hyperid", account: "leaving" })
      yield* Deferred.succeed(answered, undefined)
      const outcome = yield* Fiber.join(finishing)
      assert.isTrue(Either.isLeft(outcome) && outcome.left._tag === "UnknownLogin")
      const stored = yield* Effect.either(accounts.get({ provider: "hyperid", account: "leaving" }))
      assert.isTrue(Either.isLeft(stored), "the tokens of a login ended meanwhile were saved")
      assert.deepStrictEqual(revoked.splice(0), ["at"], "the tokens it brought are revoked")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a pending login that runs past its expiry is expired_token", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "default"), elsewhere, () => pendingRedirect)
      assert.isFalse(started.listening)
      const waiting = yield* Effect.fork(logins.await(started.loginId, Duration.minutes(2), () => Effect.void))
      yield* TestClock.adjust("2 minutes")
      assert.isTrue(Option.isNone(yield* waiting))
      yield* TestClock.adjust("9 minutes")
      const late = yield* Effect.exit(logins.await(started.loginId, Duration.seconds(5), () => Effect.void))
      assert.strictEqual(failureCode(late), "expired_token")
      const tooLate = yield* Effect.exit(logins.finishRedirect(started.loginId, "https://app.example/callback?code=c"))
      assert.strictEqual(failureCode(tooLate), "expired_token")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a redirect that came before the expiry keeps its tokens when the provider answers after it", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const accounts = yield* Accounts.Accounts
      const slow = Effect.map(pendingRedirect, (p) => ({
        ...p,
        // The provider redeems the code at once, but its answer takes 5 s to come back.
        complete: () => Effect.zipRight(Effect.sleep("5 seconds"), token),
      }))
      const started = yield* logins.startRedirect(loginKey("hyperid", "just-in-time"), elsewhere, () => slow)
      yield* TestClock.adjust(Duration.seconds(9 * 60 + 58))
      const finishing = yield* Effect.fork(
        Effect.exit(logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")),
      )
      yield* TestClock.adjust("10 seconds")
      const finished = yield* Fiber.join(finishing)
      assert.isTrue(Exit.isSuccess(finished), `the spent code's tokens were dropped: ${failureCode(finished)}`)
      const stored = yield* Effect.either(accounts.get({ provider: "hyperid", account: "just-in-time" }))
      assert.isTrue(Either.isRight(stored), "the tokens the provider issued were not saved")
      assert.isTrue(Option.isSome(yield* logins.await(started.loginId, Duration.seconds(0), () => Effect.void)))
      // A redirect that comes after the expiry is refused, and its code is not sent.
      const late = yield* logins.startRedirect(loginKey("hyperid", "too-late"), elsewhere, () => slow)
      yield* TestClock.adjust("10 minutes")
      const refused = yield* Effect.exit(
        logins.finishRedirect(late.loginId, "https://app.example/callback?code=c&state=s1"),
      )
      assert.strictEqual(failureCode(refused), "expired_token")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a device login's last poll, sent before the expiry and answered after it, keeps its tokens", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const accounts = yield* Accounts.Accounts
      const now = yield* DateTime.now
      const started = yield* logins.startDevice(loginKey("hyper", "last-poll"), {
        _tag: "DevicePending",
        userCode: "BCDF-GHJK",
        verificationUri: "https://hyper.example/device",
        deviceCode: Redacted.make("device-code"),
        expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
        interval: Duration.seconds(5),
        // The user approves at the last moment: the poll sent at 9:59 is answered at 10:02.
        complete: Effect.zipRight(Effect.sleep(Duration.seconds(10 * 60 + 2)), token),
      })
      yield* TestClock.adjust(Duration.seconds(9 * 60 + 59))
      const waiting = yield* Effect.fork(
        Effect.exit(logins.await(started.loginId, Duration.minutes(2), () => Effect.void)),
      )
      yield* TestClock.adjust("1 minute")
      const finished = yield* Fiber.join(waiting)
      assert.isTrue(
        Exit.isSuccess(finished) && Option.isSome(finished.value),
        `the issued tokens were dropped: ${failureCode(finished)}`,
      )
      const stored = yield* Effect.either(accounts.get({ provider: "hyper", account: "last-poll" }))
      assert.isTrue(Either.isRight(stored), "the tokens the provider issued were not saved")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("waiting sends a progress tick every second", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "default"), elsewhere, () => pendingRedirect)
      const ticks: Array<number> = []
      const waiting = yield* Effect.fork(
        logins.await(started.loginId, Duration.seconds(5), (elapsed) =>
          Effect.sync(() => ticks.push(Duration.toSeconds(elapsed))),
        ),
      )
      yield* TestClock.adjust("5 seconds")
      yield* waiting
      // One tick a second; one may coincide with the end of the wait.
      assert.deepStrictEqual(ticks.slice(0, 4), [1, 2, 3, 4])
      assert.isAtMost(ticks.length, 5)
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("the same login asked again is the one under way; another for that account ends it and its poller", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      let polls = 0
      const now = yield* DateTime.now
      // A device login whose user never answers: it polls every 5 s until replaced.
      const device = {
        _tag: "DevicePending" as const,
        userCode: "BCDF-GHJK",
        verificationUri: "https://hyper.example/device",
        expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
        interval: Duration.seconds(5),
        deviceCode: Redacted.make("device-code"),
        complete: Effect.forever(
          Effect.zipRight(
            Effect.sleep("5 seconds"),
            Effect.sync(() => polls++),
          ),
        ),
      }
      const asked = loginKey("hyper", "default")
      const first = yield* logins.startDevice(asked, device)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(polls, 2)
      // The same request again finds the login under way, code and all.
      const again = yield* logins.pending(asked)
      assert.strictEqual(Option.map(again, (p) => p.loginId).pipe(Option.getOrNull), first.loginId)
      const other = yield* logins.startDevice(loginKey("hyper", "other"), device)
      const second = yield* logins.startDevice(loginKey("hyper", "default", '{"scope":"more"}'), device)
      const replaced = yield* Effect.exit(logins.await(first.loginId, Duration.seconds(0), () => Effect.void))
      assert.strictEqual(failureCode(replaced), "unknown_login")
      if (Exit.isFailure(replaced)) assert.include(Cause.pretty(replaced.cause), "replaced by a newer login")
      assert.isTrue(Option.isNone(yield* logins.pending(asked)))
      yield* TestClock.adjust("10 seconds")
      // Two pollers left, "other" and the second "default": 2 polls each.
      assert.strictEqual(polls, 2 + 4)
      assert.isTrue(Option.isNone(yield* logins.await(second.loginId, Duration.seconds(0), () => Effect.void)))
      assert.isTrue(Option.isNone(yield* logins.await(other.loginId, Duration.seconds(0), () => Effect.void)))
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a finished login is saved to Accounts and remembered for late callers", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const started = yield* logins.startRedirect(loginKey("hyperid", "work"), elsewhere, () => pendingRedirect)
      yield* logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")
      const accounts = yield* Accounts.Accounts
      assert.strictEqual(
        Redacted.value((yield* accounts.get({ provider: "hyperid", account: "work" })).accessToken),
        "at",
      )
      const again = yield* logins.await(started.loginId, Duration.seconds(0), () => Effect.void)
      assert.isTrue(Option.isSome(again))
      const unknown = yield* Effect.exit(logins.await("login_nope", Duration.seconds(0), () => Effect.void))
      assert.strictEqual(failureCode(unknown), "unknown_login")
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a redirect delivered many times at once redeems its code once; all get the first outcome", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      let exchanges = 0
      const slow = Effect.map(pendingRedirect, (p) => ({
        ...p,
        complete: () =>
          Effect.zipRight(
            Effect.sync(() => exchanges++),
            Effect.zipRight(Effect.sleep("2 seconds"), token),
          ),
      }))
      const started = yield* logins.startRedirect(loginKey("hyperid", "twice"), elsewhere, () => slow)
      const url = "https://app.example/callback?code=c&state=s1"
      const deliveries = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 5 }, () => Effect.exit(logins.finishRedirect(started.loginId, url))),
          { concurrency: "unbounded" },
        ),
      )
      yield* TestClock.adjust("10 seconds")
      const exits = yield* deliveries
      assert.strictEqual(exchanges, 1)
      for (const exit of exits) assert.isTrue(Exit.isSuccess(exit))
      // And once more, after it finished.
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(logins.finishRedirect(started.loginId, url))))
      assert.strictEqual(exchanges, 1)
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a waiter that gives up mid-exchange does not stop it: the tokens are saved, the login finished", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const slow = Effect.map(pendingRedirect, (p) => ({
        ...p,
        complete: () => Effect.zipRight(Effect.sleep("2 seconds"), token),
      }))
      const started = yield* logins.startRedirect(loginKey("hyperid", "cancelled"), elsewhere, () => slow)
      const waiter = yield* Effect.fork(
        logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1"),
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(waiter)
      yield* TestClock.adjust("2 seconds")
      const accounts = yield* Accounts.Accounts
      assert.strictEqual(
        Redacted.value((yield* accounts.get({ provider: "hyperid", account: "cancelled" })).accessToken),
        "at",
      )
      assert.isTrue(Option.isSome(yield* logins.await(started.loginId, Duration.seconds(0), () => Effect.void)))
    }).pipe(Effect.provide(layer)),
  )

  it.scoped("a redirect with the wrong state or a repeated parameter leaves the login waiting", () =>
    Effect.gen(function* () {
      const logins = yield* Logins.Logins
      const strict = Effect.map(pendingRedirect, (p) => ({
        ...p,
        complete: (url: string) =>
          Effect.flatMap(
            AuthorizationCode.parseRedirect(url, { expectedState: "s1", provider: "hyperid" }),
            () => token,
          ),
      }))
      const started = yield* logins.startRedirect(loginKey("hyperid", "forged"), elsewhere, () => strict)
      const forged = yield* Effect.exit(
        logins.finishRedirect(started.loginId, "https://app.example/callback?error=access_denied&state=nope"),
      )
      assert.strictEqual(failureCode(forged), "state_mismatch")
      const repeated = yield* Effect.exit(
        logins.finishRedirect(started.loginId, "https://app.example/callback?code=a&code=b&state=s1"),
      )
      assert.strictEqual(failureCode(repeated), "invalid_input")
      assert.isTrue(Option.isNone(yield* logins.await(started.loginId, Duration.seconds(0), () => Effect.void)))
      yield* logins.finishRedirect(started.loginId, "https://app.example/callback?code=a&state=s1")
    }).pipe(Effect.provide(layer)),
  )

  it.effect("a pending login is a plain record that survives encoding", () =>
    Effect.gen(function* () {
      const record: PendingLogin.PendingLogin = {
        id: "login_x",
        provider: "hyperid",
        account: "default",
        request: "{}",
        flow: "authorization_code",
        state: "s1",
        codeVerifier: Redacted.make("verifier"),
        redirectUri: "http://127.0.0.1:8976/callback/hyperid",
        callback: { port: 8976, path: "/callback/hyperid" },
        expiresAt: yield* DateTime.now,
      }
      const written = JSON.parse(JSON.stringify(yield* PendingLogin.encode(record)))
      const read = yield* PendingLogin.decode(written)
      assert.strictEqual(read.state, "s1")
      assert.deepStrictEqual(read.callback, { port: 8976, path: "/callback/hyperid" })
      assert.strictEqual(read.codeVerifier === undefined ? undefined : Redacted.value(read.codeVerifier), "verifier")
      assert.isTrue(DateTime.Equivalence(read.expiresAt, record.expiresAt))
    }),
  )

  it.scoped("a login that expires lets go of the listener: it stops without any tool call", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const run = Effect.gen(function* () {
        const logins = yield* Logins.Logins
        const started = yield* logins.startRedirect(
          loginKey("hyperline", "late"),
          { provider: "hyperline", pinned: Option.none() },
          (redirectUri) => Effect.map(pendingRedirect, (p) => ({ ...p, redirectUri: redirectUri ?? "" })),
        )
        assert.isTrue(started.listening)
        const callback = started.started._tag === "RedirectPending" ? started.started.redirectUri : ""
        assert.strictEqual(callback, `http://127.0.0.1:${port}/callback/hyperline`)
        const answers = Effect.promise(() =>
          fetch(callback).then(
            (r) => r.status,
            () => 0,
          ),
        )
        assert.strictEqual(yield* answers, 400)
        yield* TestClock.adjust("11 minutes")
        assert.strictEqual(yield* answers, 0)
      })
      yield* run.pipe(
        Effect.provide(layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_CALLBACK_PORT", String(port)]]))),
      )
    }),
  )
})

/** A hyperid that only finishes redirect logins taken over from a record, as `resumeRedirect` says. */
const redirectProvider = (resumeRedirect: Provider.Provider["resumeRedirect"]): Provider.Provider => ({
  id: "hyperid",
  flow: "authorization_code",
  apiBaseUrl: "https://id.example",
  startLogin: () => Effect.die("not used"),
  resumeDevice: () => Effect.die("not used"),
  resumeRedirect,
  refresh: () => Effect.die("not used"),
  introspect: () => Effect.die("not used"),
  revoke: () => Effect.succeed(false),
  decorate: (request) => request,
})

/** One process on `store`: its own registry and accounts, with `provider` for every id. */
const processOn = (store: TokenStore.Service, provider: Provider.Provider) =>
  Logins.layer.pipe(
    Layer.provideMerge(
      Layer.effect(
        Accounts.Accounts,
        Accounts.make(() => Effect.succeed(provider)),
      ),
    ),
    Layer.provideMerge(Layer.succeed(TokenStore.TokenStore, store)),
    Layer.provideMerge(
      Layer.succeed(Providers.Providers, {
        entries: [],
        get: () => Effect.succeed(provider),
        pinnedRedirectUri: () => Option.none(),
      }),
    ),
  )

/**
 * A hyperid login started by one process on `store` that then dies, after
 * `steps`, a second apart: marking the code redeemed (`mark`), and tokens
 * saved to the account (`save`: this login's after a `mark`, else a
 * refresh of an earlier login's); a second process, whose provider refuses
 * the code again (`invalid_grant`), takes the redirect.
 */
const takenOverAfterCrash = (steps: ReadonlyArray<"mark" | "save">) =>
  Effect.gen(function* () {
    const store = yield* TokenStore.makeMemory
    const process = processOn(
      store,
      redirectProvider(() =>
        Effect.fail(new OAuthError.OAuthProtocolError({ provider: "hyperid", error: "invalid_grant" })),
      ),
    )
    const first = yield* Layer.build(process)
    const started = yield* Effect.provide(
      Effect.flatMap(Logins.Logins, (logins) =>
        Effect.flatMap(pendingRedirect, (p) =>
          logins.startRedirect(loginKey("hyperid", "default"), elsewhere, () => Effect.succeed(p)),
        ),
      ),
      first,
    )
    for (const step of steps) {
      yield* TestClock.adjust("1 second")
      if (step === "mark") {
        const records = PendingLogin.store(store.logins)
        const pending = Option.getOrThrow(yield* records.get(started.loginId))
        yield* records.put({ ...pending.login, redeemedAt: yield* DateTime.now }, { ifVersion: pending.version })
      } else {
        yield* Effect.provide(
          Effect.flatMap(Accounts.Accounts, (accounts) =>
            Effect.flatMap(token, (t) => accounts.save({ provider: "hyperid", account: "default" }, t)),
          ),
          first,
        )
      }
    }
    const second = yield* Layer.build(process)
    return yield* Effect.provide(
      Effect.flatMap(Logins.Logins, (logins) =>
        Effect.either(logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")),
      ),
      second,
    )
  })

describe("Logins two processes know", () => {
  it.scoped("one whose code is redeemed by the other when its time runs out gets that redemption's outcome", () =>
    Effect.gen(function* () {
      const store = yield* TokenStore.makeMemory
      const process = processOn(
        store,
        redirectProvider(() => Effect.die("the code is redeemed once, by the process that received it")),
      )
      const first = yield* Layer.build(process)
      const second = yield* Layer.build(process)
      const on =
        (built: typeof first) =>
        <A, E>(use: (logins: Logins.Service) => Effect.Effect<A, E>) =>
          Effect.provide(Effect.flatMap(Logins.Logins, use), built)
      const slow = Effect.map(pendingRedirect, (p) => ({
        ...p,
        // The provider redeems the code at once, but its answer takes 5 s to come back.
        complete: () => Effect.zipRight(Effect.sleep("5 seconds"), token),
      }))
      const started = yield* on(first)((logins) =>
        logins.startRedirect(loginKey("hyperid", "default"), elsewhere, () => slow),
      )
      // The agent waits on the second process; the browser's redirect reaches the first at 9:58.
      assert.isTrue(
        Option.isNone(
          yield* on(second)((logins) => logins.await(started.loginId, Duration.seconds(0), () => Effect.void)),
        ),
      )
      yield* TestClock.adjust(Duration.seconds(9 * 60 + 58))
      const finishing = yield* Effect.fork(
        Effect.exit(
          on(first)((logins) => logins.finishRedirect(started.loginId, "https://app.example/callback?code=c&state=s1")),
        ),
      )
      const waiting = yield* Effect.fork(
        Effect.exit(on(second)((logins) => logins.await(started.loginId, Duration.minutes(1), () => Effect.void))),
      )
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(finishing)))
      const waited = yield* Fiber.join(waiting)
      assert.isTrue(
        Exit.isSuccess(waited) && Option.isSome(waited.value),
        `the other process said ${failureCode(waited)} of a login that finished`,
      )
    }),
  )
})

describe("Logins taken over from a process that crashed", () => {
  it.scoped(
    "after it saved the tokens but before it recorded the outcome, the second redemption's invalid_grant is no failure",
    () =>
      Effect.gen(function* () {
        // It marked the code redeemed and saved the tokens, then died before recording how the login ended.
        const finished = yield* takenOverAfterCrash(["mark", "save"])
        assert.isTrue(Either.isRight(finished) && finished.right.account === "default")
      }),
  )

  it.scoped(
    "a code refused after the restart is the error, though the account's earlier login was refreshed since it started",
    () =>
      Effect.gen(function* () {
        const outcome = yield* takenOverAfterCrash(["save"])
        assert.isTrue(Either.isLeft(outcome) && outcome.left._tag === "OAuthProtocolError")
      }),
  )

  it.scoped(
    "after it redeemed the code but before it saved the tokens, the refusal is the error, though an earlier login was refreshed in between",
    () =>
      Effect.gen(function* () {
        // A login asked for an account logged in already: its earlier login refreshed while the user approved.
        const outcome = yield* takenOverAfterCrash(["save", "mark"])
        assert.isTrue(
          Either.isLeft(outcome) && outcome.left._tag === "OAuthProtocolError",
          "the earlier login's refreshed tokens were taken for the new login's",
        )
      }),
  )

  it.scoped("a record of the version before callbacks were recorded is listened for on its redirect URI's port", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const store = yield* TokenStore.makeMemory
      const finishes = redirectProvider((login, redirectUrl) =>
        login.state === "s-old" && redirectUrl.includes("code=c") ? token : Effect.die("unexpected redirect"),
      )
      // Written by the previous version: a redirect URI and no `callback`.
      const old = {
        id: "login_old",
        provider: "hyperid",
        account: "default",
        request: "{}",
        flow: "authorization_code",
        state: "s-old",
        codeVerifier: "verifier",
        redirectUri: `http://127.0.0.1:${port}/callback/hyperid`,
        authorizationUrl: "https://id.example/auth?state=s-old",
        expiresAt: DateTime.formatIso(DateTime.addDuration(yield* DateTime.now, Duration.minutes(10))),
      }
      yield* store.logins.set(old.id, old)
      yield* Layer.build(processOn(store, finishes))
      const status = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/callback/hyperid?code=c&state=s-old`).then((r) => r.status),
      )
      assert.strictEqual(status, 200)
    }),
  )
})

/** A hyper whose device logins, taken over from a record, report the interval they resume at. */
const deviceProvider = (resumedAt: (interval: Duration.Duration) => void): Provider.Provider => ({
  id: "hyper",
  flow: "device_code",
  apiBaseUrl: "https://api.hyper.example",
  startLogin: () => Effect.die("not used"),
  resumeDevice: (login) =>
    Effect.zipRight(
      Effect.sync(() => resumedAt(login.interval)),
      Effect.never,
    ),
  resumeRedirect: () => Effect.die("not used"),
  refresh: () => Effect.die("not used"),
  introspect: () => Effect.die("not used"),
  revoke: () => Effect.succeed(false),
  decorate: (request) => request,
})

/** A hyper device login started in this process, polling every 5 s for 10 minutes with `complete`. */
const startHyperLogin = (complete: Effect.Effect<Token.TokenSet, OAuthError.RequestFailure>) =>
  Effect.gen(function* () {
    const logins = yield* Logins.Logins
    return yield* logins.startDevice(loginKey("hyper", "default"), {
      _tag: "DevicePending",
      userCode: "BCDF-GHJK",
      verificationUri: "https://hyper.example/device",
      deviceCode: Redacted.make("device-code"),
      expiresAt: DateTime.addDuration(yield* DateTime.now, Duration.minutes(10)),
      interval: Duration.seconds(5),
      complete,
    })
  })

describe("Device logins taken over by another process", () => {
  it.scoped("poll at the interval slow_down answers raised, not the one the login started with", () =>
    Effect.gen(function* () {
      const store = yield* TokenStore.makeMemory
      const resumed: Array<Duration.Duration> = []
      const process = processOn(
        store,
        deviceProvider((interval) => resumed.push(interval)),
      )
      const now = yield* DateTime.now
      // The server answers every poll with slow_down: RFC 8628 §3.5 adds 5 s each time.
      const complete = DeviceFlow.poll({
        request: Effect.fail(new OAuthError.OAuthProtocolError({ provider: "hyper", error: "slow_down" })),
        interval: Duration.seconds(5),
        expiresAt: DateTime.addDuration(now, Duration.minutes(10)),
        provider: "hyper",
      })
      const firstScope = yield* Scope.make()
      const first = yield* Layer.buildWithScope(process, firstScope)
      const started = yield* Effect.provide(startHyperLogin(complete), first)
      // Polls at 5 s and 15 s, each answered slow_down: the interval is 15 s after them.
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("10 seconds")
      const records = PendingLogin.store(store.logins)
      const recorded = Option.getOrThrow(yield* records.get(started.loginId)).login.interval
      assert.deepStrictEqual(recorded, Duration.seconds(15))
      // The first process stops; the second takes the polling over from the record.
      yield* Scope.close(firstScope, Exit.void)
      const second = yield* Layer.build(process)
      yield* Effect.provide(
        Effect.flatMap(Logins.Logins, (logins) =>
          logins.await(started.loginId, Duration.seconds(0), () => Effect.void),
        ),
        second,
      )
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(resumed, [Duration.seconds(15)])
    }),
  )
})

describe("Device logins this process started", () => {
  it.scoped("poll at the interval their record holds when it is longer than the one they started with", () =>
    Effect.gen(function* () {
      const memory = yield* TokenStore.makeMemory
      // The poller's first take of the record's lease waits for `go`, as it would behind another
      // process polling this login (a takeover after a stall), which raises the interval meanwhile.
      const go = yield* Deferred.make<void>()
      const store: TokenStore.Service = {
        ...memory,
        logins: {
          ...memory.logins,
          acquire: (id, options) => Effect.zipRight(Deferred.await(go), memory.logins.acquire(id, options)),
        },
      }
      const resumed: Array<Duration.Duration> = []
      const process = processOn(
        store,
        deviceProvider((interval) => resumed.push(interval)),
      )
      const polledFromStart = yield* Deferred.make<void>()
      const started = yield* Effect.provide(
        // Its own completion polls from the interval it started with.
        startHyperLogin(Effect.zipRight(Deferred.succeed(polledFromStart, undefined), Effect.never)),
        yield* Layer.build(process),
      )
      const records = PendingLogin.store(memory.logins)
      const pending = Option.getOrThrow(yield* records.get(started.loginId))
      yield* records.put({ ...pending.login, interval: Duration.seconds(15) }, { ifVersion: pending.version })
      yield* Deferred.succeed(go, undefined)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(resumed, [Duration.seconds(15)])
      assert.isFalse(yield* Deferred.isDone(polledFromStart))
    }),
  )
})

describe("The scope a login asked for", () => {
  /** A hyper whose device logins, taken over from a record, report the scope they resume with. */
  const scopeProvider = (resumedWith: (scope: string | undefined) => void): Provider.Provider => ({
    ...deviceProvider(() => undefined),
    resumeDevice: (login) =>
      Effect.zipRight(
        Effect.sync(() => resumedWith(login.scope)),
        Effect.never,
      ),
  })

  const takenOver = (started: (store: TokenStore.Service) => Effect.Effect<string, unknown, Scope.Scope>) =>
    Effect.gen(function* () {
      const store = yield* TokenStore.makeMemory
      const loginId = yield* started(store)
      const resumed: Array<string | undefined> = []
      yield* Layer.build(
        processOn(
          store,
          scopeProvider((scope) => resumed.push(scope)),
        ),
      )
      yield* TestClock.adjust("1 minute")
      return { resumed, record: yield* PendingLogin.store(store.logins).get(loginId) }
    })

  it.scoped("is kept in the record and given to the process that takes the login over", () =>
    Effect.gen(function* () {
      const { resumed, record } = yield* takenOver((store) =>
        Effect.gen(function* () {
          const first = yield* Scope.make()
          const logins = yield* Layer.buildWithScope(
            processOn(
              store,
              scopeProvider(() => undefined),
            ),
            first,
          )
          const expiresAt = DateTime.addDuration(yield* DateTime.now, Duration.minutes(10))
          const started = yield* Effect.provide(
            Effect.flatMap(Logins.Logins, (l) =>
              l.startDevice(
                { ...loginKey("hyper", "default", '{"scope":"read"}'), scope: "read" },
                {
                  _tag: "DevicePending",
                  userCode: "BCDF-GHJK",
                  verificationUri: "https://hyper.example/device",
                  deviceCode: Redacted.make("device-code"),
                  expiresAt,
                  interval: Duration.seconds(5),
                  complete: Effect.never,
                },
              ),
            ),
            logins,
          )
          yield* Scope.close(first, Exit.void)
          return started.loginId
        }),
      )
      assert.strictEqual(Option.getOrThrow(record).login.scope, "read")
      assert.deepStrictEqual(resumed, ["read"])
    }),
  )

  it.scoped("is read from the request of a record of an earlier version, which is still taken over", () =>
    Effect.gen(function* () {
      const { resumed, record } = yield* takenOver((store) =>
        Effect.gen(function* () {
          // Written by the previous version: no `scope`.
          const old = {
            id: "login_old_device",
            provider: "hyper",
            account: "default",
            request: '{"scope":"read"}',
            flow: "device_code",
            deviceCode: "device-code",
            interval: 5000,
            userCode: "BCDF-GHJK",
            verificationUri: "https://hyper.example/device",
            expiresAt: DateTime.formatIso(DateTime.addDuration(yield* DateTime.now, Duration.minutes(10))),
          }
          yield* store.logins.set(old.id, old)
          return old.id
        }),
      )
      assert.isTrue(Option.isSome(record))
      assert.deepStrictEqual(resumed, ["read"])
    }),
  )
})
