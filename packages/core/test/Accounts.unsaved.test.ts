/**
 * A refresh the provider answered, whose tokens the store then would not
 * take (Redis out of memory or restarting, a full disk): the provider has
 * spent the old refresh token, so the new tokens are all the login has
 * left. They must not be dropped.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Redacted, TestClock } from "effect"
import * as Accounts from "../src/Accounts.js"
import type * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import { fakeProvider, tokenOf } from "./support/fakeProvider.js"

const key = { provider: "hyperid", account: "default" }

/** A provider that rotates refresh tokens strictly: r1 → r2 → r3 …; a spent one is invalid_grant. */
const rotatingProvider = () => {
  const calls = { refresh: 0, spentReused: 0, revoked: [] as Array<string> }
  const provider = fakeProvider({
    refresh: (previous) =>
      Effect.suspend(() => {
        const presented = previous.refreshToken === undefined ? "" : Redacted.value(previous.refreshToken)
        if (presented !== `r${calls.refresh + 1}`) calls.spentReused++
        calls.refresh++
        return tokenOf({
          access_token: `a${calls.refresh + 1}`,
          refresh_token: `r${calls.refresh + 1}`,
          expires_in: 3600,
        })
      }),
    revoke: (token) =>
      Effect.sync(() => {
        calls.revoked.push(token.refreshToken === undefined ? "" : Redacted.value(token.refreshToken))
        return true
      }),
  })
  return { provider, calls }
}

/** The memory store, whose writes fail while `failing.on`: as Redis refusing them (OOM) would. */
const flakyStore = Effect.map(TokenStore.makeMemory, (store) => {
  const failing = { on: false, refused: 0 }
  const service: TokenStore.Service = {
    ...store,
    // Decided at each run, not when the effect is made: a retry runs the same effect again.
    set: (k, token, options) =>
      Effect.suspend(() => {
        if (!failing.on || k.provider !== key.provider) return store.set(k, token, options)
        failing.refused++
        return Effect.fail(
          new TokenStore.TokenStoreError({ path: "redis://127.0.0.1:1", reason: "unreachable", detail: "OOM" }),
        )
      }),
  }
  return { service, failing }
})

const setUp = Effect.gen(function* () {
  const { service, failing } = yield* flakyStore
  const fake = rotatingProvider()
  const accounts = yield* Accounts.make(Accounts.lookupIn([fake.provider])).pipe(
    Effect.provideService(TokenStore.TokenStore, service),
  )
  yield* accounts.save(key, yield* tokenOf({ access_token: "a1", refresh_token: "r1", expires_in: 0 }))
  const stored = Effect.map(service.get(key), (entry) =>
    Option.map(entry, ({ token }) => Redacted.value(token.accessToken)),
  )
  return { accounts, fake, failing, stored }
})

const access = (token: Token.TokenSet) => Redacted.value(token.accessToken)

describe("Accounts, a store that refuses the refreshed tokens", () => {
  it.effect("a write refused for a moment is tried again: the new tokens are stored, once refreshed", () =>
    Effect.gen(function* () {
      const { accounts, fake, failing, stored } = yield* setUp
      failing.on = true
      const caller = yield* Effect.fork(accounts.accessToken(key))
      yield* TestClock.adjust("100 millis")
      failing.on = false
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(access(yield* Fiber.join(caller)), "a2")
      assert.isAbove(failing.refused, 0)
      assert.deepStrictEqual(yield* stored, Option.some("a2"))
      assert.strictEqual(fake.calls.refresh, 1)
    }),
  )

  it.effect(
    "a write refused for long: the new tokens serve from memory, no spent token is sent, and they are stored once the store takes them",
    () =>
      Effect.gen(function* () {
        const { accounts, fake, failing, stored } = yield* setUp
        failing.on = true
        const first = yield* Effect.fork(accounts.accessToken(key))
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(access(yield* Fiber.join(first)), "a2")
        // Still refused: the next caller gets the same new token, with no second refresh.
        const second = yield* Effect.fork(accounts.accessToken(key))
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(access(yield* Fiber.join(second)), "a2")
        assert.deepStrictEqual(yield* stored, Option.some("a1"))
        failing.on = false
        assert.strictEqual(access(yield* accounts.accessToken(key)), "a2")
        assert.deepStrictEqual(yield* stored, Option.some("a2"))
        assert.strictEqual(fake.calls.refresh, 1)
        assert.strictEqual(fake.calls.spentReused, 0)
      }),
  )

  it.effect("the new tokens kept in memory are stored when Accounts closes, if the store takes them then", () =>
    Effect.gen(function* () {
      const { service, failing } = yield* flakyStore
      const fake = rotatingProvider()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const accounts = yield* Accounts.makeScoped(Accounts.lookupIn([fake.provider])).pipe(
            Effect.provideService(TokenStore.TokenStore, service),
          )
          yield* accounts.save(key, yield* tokenOf({ access_token: "a1", refresh_token: "r1", expires_in: 0 }))
          failing.on = true
          const caller = yield* Effect.fork(accounts.accessToken(key))
          yield* TestClock.adjust("1 minute")
          assert.strictEqual(access(yield* Fiber.join(caller)), "a2")
          failing.on = false
        }),
      )
      const entry = yield* service.get(key)
      assert.deepStrictEqual(
        Option.map(entry, ({ token }) => access(token)),
        Option.some("a2"),
      )
    }),
  )

  it.effect("a logout revokes the new tokens kept in memory too, and forgets them", () =>
    Effect.gen(function* () {
      const { accounts, fake, failing } = yield* setUp
      failing.on = true
      const caller = yield* Effect.fork(accounts.accessToken(key))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(access(yield* Fiber.join(caller)), "a2")
      failing.on = false
      yield* accounts.logout(key)
      // r1 was spent at the provider: r2, held only in memory, is the login's live refresh token.
      assert.include(fake.calls.revoked, "r2")
      const after = yield* Effect.flip(accounts.accessToken(key))
      assert.strictEqual(after._tag, "NotLoggedIn")
    }),
  )

  it.effect("a 401 on the new tokens kept in memory renews them with their own refresh token, not the spent one", () =>
    Effect.gen(function* () {
      const { accounts, fake, failing } = yield* setUp
      failing.on = true
      const caller = yield* Effect.fork(accounts.accessToken(key))
      yield* TestClock.adjust("1 minute")
      const kept = yield* Fiber.join(caller)
      assert.strictEqual(access(kept), "a2")
      failing.on = false
      // The API refuses a2: the replacement is a3, from r2; a1 (spent, expired) would be refused again.
      const replaced = yield* accounts.replaceRejected(key, kept)
      assert.strictEqual(access(replaced), "a3")
      assert.strictEqual(fake.calls.spentReused, 0)
      assert.strictEqual(access(yield* accounts.get(key)), "a3")
    }),
  )

  it.effect("get and a new login see past the tokens kept in memory", () =>
    Effect.gen(function* () {
      const { accounts, failing } = yield* setUp
      failing.on = true
      const caller = yield* Effect.fork(accounts.accessToken(key))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(caller)
      // What this process uses is what get shows.
      assert.strictEqual(access(yield* accounts.get(key)), "a2")
      failing.on = false
      yield* accounts.save(key, yield* tokenOf({ access_token: "b1", refresh_token: "s1", expires_in: 3600 }))
      assert.strictEqual(access(yield* accounts.accessToken(key)), "b1")
    }),
  )
})
