import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted, TestClock } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { ConnectionError, NotSupported, OAuthProtocolError, type RequestFailure } from "../src/OAuthError.js"
import type { Provider } from "../src/Provider.js"
import type * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import { hyperproofOptions, useEmulator } from "./support/emulator.js"
import { fakeProvider, tokenOf } from "./support/fakeProvider.js"

const emulator = useEmulator()
const key = { provider: "hyperid", account: "default" }

/** A refresh-grant provider whose refresh answers from a script. */
const countingProvider = (
  answer: (previous: Token.TokenSet) => Effect.Effect<Token.TokenSet, RequestFailure | NotSupported>,
) => {
  const calls = { refresh: 0 }
  const provider = fakeProvider({
    refresh: (previous) =>
      Effect.suspend(() => {
        calls.refresh++
        return answer(previous)
      }),
  })
  return { provider, calls }
}

const withAccounts = <A, E>(provider: Provider, body: (accounts: Accounts.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(
    Accounts.make(() => Effect.succeed(provider)),
    body,
  ).pipe(Effect.provide(TokenStore.layerMemory))

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe("Accounts", () => {
  it.effect("returns the stored token while it is more than 60 s from expiry", () => {
    const fake = countingProvider(() => tokenOf({ access_token: "new" }))
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 300 }))
        yield* TestClock.adjust("239 seconds")
        assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "old")
        assert.strictEqual(fake.calls.refresh, 0)
        yield* TestClock.adjust("1 second") // 60 s left
        assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "new")
        assert.strictEqual(fake.calls.refresh, 1)
      }),
    )
  })

  it.effect("a lookup that answers another provider than the login's is not_configured: nothing is sent to it", () => {
    const fake = countingProvider(() => tokenOf({ access_token: "new" }))
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        // The lookup answers hyperid whatever it is asked, as one that ignores its id would.
        const hyperline = { provider: "hyperline", account: "default" }
        yield* accounts.save(hyperline, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
        const error = failure(yield* Effect.exit(accounts.accessToken(hyperline)))
        assert.strictEqual(error._tag, "NotConfigured")
        assert.include(String(error.message), "hyperline")
        assert.strictEqual(fake.calls.refresh, 0)
      }),
    )
  })

  it.effect("the 60 s margin is kept to the millisecond", () => {
    const fake = countingProvider(() => tokenOf({ access_token: "new" }))
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 300 }))
        yield* TestClock.adjust("239999 millis")
        assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "old")
        yield* TestClock.adjust("1 millis") // exactly 60 s left
        assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "new")
        assert.strictEqual(fake.calls.refresh, 1)
      }),
    )
  })

  it.effect("a refresh answered without a refresh token keeps the old one", () => {
    const fake = countingProvider((previous) => tokenOf({ access_token: "new", expires_in: 3600 }, previous))
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
        const fresh = yield* accounts.accessToken(key)
        assert.strictEqual(fresh.refreshToken && Redacted.value(fresh.refreshToken), "r1")
        const stored = yield* accounts.get(key)
        assert.strictEqual(Redacted.value(stored.accessToken), "new")
        assert.strictEqual(stored.refreshToken && Redacted.value(stored.refreshToken), "r1")
      }),
    )
  })

  it.effect("1,000 concurrent callers on an expired token share one refresh", () => {
    const fake = countingProvider((previous) =>
      Effect.zipRight(Effect.sleep("100 millis"), tokenOf({ access_token: "new", expires_in: 3600 }, previous)),
    )
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 0 }))
        const callers = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 1000 }, () => accounts.accessToken(key)),
            { concurrency: "unbounded" },
          ),
        )
        yield* TestClock.adjust("1 second")
        const tokens = yield* callers
        assert.strictEqual(fake.calls.refresh, 1)
        assert.isTrue(tokens.every((t) => Redacted.value(t.accessToken) === "new"))
      }),
    )
  })

  it.effect("a caller that stops waiting does not cancel the refresh others wait for, nor lose its answer", () => {
    const fake = countingProvider((previous) =>
      Effect.zipRight(Effect.sleep("1 second"), tokenOf({ access_token: "new", expires_in: 3600 }, previous)),
    )
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 0 }))
        const first = yield* Effect.fork(accounts.accessToken(key))
        const second = yield* Effect.fork(accounts.accessToken(key))
        yield* TestClock.adjust("500 millis")
        yield* Fiber.interrupt(first)
        yield* TestClock.adjust("500 millis")
        assert.strictEqual(Redacted.value((yield* Fiber.join(second)).accessToken), "new")
        assert.strictEqual(fake.calls.refresh, 1)
        assert.strictEqual(Redacted.value((yield* accounts.get(key)).accessToken), "new")
      }),
    )
  })

  it.effect("callers whose token an API refused at once share one replacement; a later refusal refreshes again", () => {
    let issued = 0
    const fake = countingProvider((previous) =>
      Effect.suspend(() => tokenOf({ access_token: `new-${++issued}`, expires_in: 3600 }, previous)),
    )
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        const refused = yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 3600 })
        yield* accounts.save(key, refused)
        const tokens = yield* Effect.all(
          Array.from({ length: 200 }, () => accounts.replaceRejected(key, refused)),
          { concurrency: "unbounded" },
        )
        assert.strictEqual(fake.calls.refresh, 1)
        assert.isTrue(tokens.every((t) => Redacted.value(t.accessToken) === "new-1"))
        const again = yield* accounts.replaceRejected(key, tokens[0] ?? refused)
        assert.strictEqual(Redacted.value(again.accessToken), "new-2")
        assert.strictEqual(fake.calls.refresh, 2)
      }),
    )
  })

  // Expired, or still valid in its last 60 s: the provider's verdict ends the login either way.
  for (const expiresIn of [0, 30]) {
    it.effect(`invalid_grant on refresh (${expiresIn} s left) removes the login and says how to log in again`, () => {
      const fake = countingProvider(() =>
        Effect.fail(new OAuthProtocolError({ provider: "hyperid", error: "invalid_grant" })),
      )
      return withAccounts(fake.provider, (accounts) =>
        Effect.gen(function* () {
          yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: expiresIn }))
          const error = failure(yield* Effect.exit(accounts.accessToken(key)))
          assert.strictEqual(error.code, "not_logged_in")
          assert.include(error.message, "Log in")
          assert.strictEqual(failure(yield* Effect.exit(accounts.get(key))).code, "not_logged_in")
        }),
      )
    })
  }

  for (const [name, error] of [
    ["a connection error", new ConnectionError({ provider: "hyperid", url: "http://x", reason: "refused" })],
    ["a server error", new OAuthProtocolError({ provider: "hyperid", error: "server_error", status: 500 })],
  ] as const) {
    it.effect(`${name} on refresh keeps everything stored`, () => {
      const fake = countingProvider(() => Effect.fail(error))
      return withAccounts(fake.provider, (accounts) =>
        Effect.gen(function* () {
          yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 0 }))
          const failed = failure(yield* Effect.exit(accounts.accessToken(key)))
          assert.strictEqual(failed.code, error.code)
          const kept = yield* accounts.get(key)
          assert.strictEqual(kept.refreshToken && Redacted.value(kept.refreshToken), "r1")
        }),
      )
    })
  }

  it.effect("an expired token without a refresh token is not_logged_in, without a network call", () => {
    const fake = countingProvider(() => tokenOf({ access_token: "never" }))
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", expires_in: 0 }))
        assert.strictEqual(failure(yield* Effect.exit(accounts.accessToken(key))).code, "not_logged_in")
        assert.strictEqual(fake.calls.refresh, 0)
      }),
    )
  })

  it.effect(
    "a token in its last 60 s with no refresh token (a hyper login) is used until it expires, without a network call",
    () => {
      const fake = countingProvider(() => tokenOf({ access_token: "never" }))
      return withAccounts(fake.provider, (accounts) =>
        Effect.gen(function* () {
          yield* accounts.save(key, yield* tokenOf({ access_token: "old", expires_in: 30 }))
          assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "old")
          yield* TestClock.adjust("29 seconds")
          assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "old")
          yield* TestClock.adjust("1 second")
          assert.strictEqual(failure(yield* Effect.exit(accounts.accessToken(key))).code, "not_logged_in")
          assert.strictEqual(fake.calls.refresh, 0)
        }),
      )
    },
  )

  for (const [name, error] of [
    ["not_supported", new NotSupported({ provider: "hyperid", operation: "refreshing" })],
    ["a connection error", new ConnectionError({ provider: "hyperid", url: "http://x", reason: "refused" })],
    ["a server error", new OAuthProtocolError({ provider: "hyperid", error: "server_error", status: 500 })],
  ] as const) {
    it.effect(
      `${name} on the refresh of a token in its last 60 s hands out the token, still valid, and keeps everything`,
      () => {
        const fake = countingProvider(() => Effect.fail(error))
        return withAccounts(fake.provider, (accounts) =>
          Effect.gen(function* () {
            yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 30 }))
            assert.strictEqual(Redacted.value((yield* accounts.accessToken(key)).accessToken), "old")
            assert.strictEqual(fake.calls.refresh, 1)
            const kept = yield* accounts.get(key)
            assert.strictEqual(kept.refreshToken && Redacted.value(kept.refreshToken), "r1")
            // Once it has expired, the failure is the caller's.
            yield* TestClock.adjust("30 seconds")
            assert.strictEqual(failure(yield* Effect.exit(accounts.accessToken(key))).code, error.code)
          }),
        )
      },
    )
  }

  it.effect("an early renewal that fails after the token expired meanwhile hands out no expired token", () => {
    // The provider takes 40 s to fail: the token had 30 s left when the renewal began.
    const fake = countingProvider(() =>
      Effect.zipRight(
        Effect.sleep("40 seconds"),
        Effect.fail(new ConnectionError({ provider: "hyperid", url: "http://x", reason: "timed out" })),
      ),
    )
    return withAccounts(fake.provider, (accounts) =>
      Effect.gen(function* () {
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 30 }))
        const asked = yield* Effect.fork(Effect.exit(accounts.accessToken(key)))
        yield* TestClock.adjust("40 seconds")
        assert.strictEqual(failure(yield* Fiber.join(asked)).code, "connection_error")
        const kept = yield* accounts.get(key)
        assert.strictEqual(kept.refreshToken && Redacted.value(kept.refreshToken), "r1")
      }),
    )
  })

  it.effect(
    "invalid_grant for a login stored before logins recorded their source keeps it: it may be another server's",
    () => {
      const fake = countingProvider(() =>
        Effect.fail(new OAuthProtocolError({ provider: "hyperid", error: "invalid_grant" })),
      )
      const provider: Provider = { ...fake.provider, source: "this-server" }
      return withAccounts(provider, (accounts) =>
        Effect.gen(function* () {
          // No source: stored by an earlier version, maybe by a server with other settings (a sandbox's origin refused it).
          yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 0 }))
          const refused = failure(yield* Effect.exit(accounts.accessToken(key)))
          assert.strictEqual(refused.code, "not_logged_in")
          assert.include(refused.message, "invalid_grant")
          const kept = yield* accounts.get(key)
          assert.strictEqual(kept.refreshToken && Redacted.value(kept.refreshToken), "r1")
        }),
      )
    },
  )

  it.effect("an unknown account is not_logged_in", () =>
    withAccounts(countingProvider(() => tokenOf({ access_token: "x" })).provider, (accounts) =>
      Effect.map(Effect.exit(accounts.accessToken({ provider: "hyperid", account: "nobody" })), (exit) =>
        assert.strictEqual(failure(exit).code, "not_logged_in"),
      ),
    ),
  )
})

describe("Accounts with hyperproof over loopback", () => {
  it.live("1,000 callers on an expired client-credentials token cause exactly one token request", () =>
    Effect.gen(function* () {
      const hyperproof = yield* Hyperproof.make(hyperproofOptions(emulator.current))
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperproof.provider))
      const hpKey = { provider: "hyperproof", account: "default" }
      yield* accounts.save(hpKey, yield* tokenOf({ access_token: "expired", expires_in: 0 }))
      const count = () => emulator.current.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
      const before = count()
      const tokens = yield* Effect.all(
        Array.from({ length: 1000 }, () => accounts.accessToken(hpKey)),
        { concurrency: "unbounded" },
      )
      assert.strictEqual(count() - before, 1)
      assert.strictEqual(new Set(tokens.map((t) => Redacted.value(t.accessToken))).size, 1)
      const stored = yield* accounts.get(hpKey)
      assert.notStrictEqual(Redacted.value(stored.accessToken), "expired")
    }).pipe(Effect.provide(Layer.merge(TokenStore.layerMemory, FetchHttpClient.layer))),
  )

  it.live("two processes sharing a token file refresh an expired token once between them", () =>
    Effect.gen(function* () {
      const hyperproof = yield* Hyperproof.make(hyperproofOptions(emulator.current))
      const path = join(yield* Effect.promise(() => mkdtemp(join(tmpdir(), "hyperauth-accounts-"))), "tokens.json")
      // Each "process" has its own store instance and its own in-memory locks.
      const processOf = () =>
        Accounts.make(() => Effect.succeed(hyperproof.provider)).pipe(
          Effect.provideService(TokenStore.TokenStore, TokenStore.makeFile({ path })),
        )
      const [a, b] = [yield* processOf(), yield* processOf()]
      const hpKey = { provider: "hyperproof", account: "shared" }
      yield* a.save(hpKey, yield* tokenOf({ access_token: "expired", expires_in: 0 }))
      const count = () => emulator.current.count({ origin: "hyperproofAccounts", path: "/oauth/token" })
      const before = count()
      const tokens = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).accessToken(hpKey)),
        { concurrency: "unbounded" },
      )
      assert.strictEqual(count() - before, 1)
      assert.strictEqual(new Set(tokens.map((t) => Redacted.value(t.accessToken))).size, 1)
    }).pipe(Effect.provide(FetchHttpClient.layer)),
  )
})
