/**
 * Replicas on other hosts sharing one Redis, while one of them is at the
 * provider with the login's refresh token, which a provider that rotates
 * strictly has spent on receipt: no other replica may send it again,
 * whatever its clock says or the Redis does to its keys meanwhile.
 */
import { assert, describe, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Clock, Deferred, Effect, Exit, Fiber, Option, Redacted } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as RedisStore from "../src/internal/redisStore.js"
import { OAuthProtocolError } from "../src/OAuthError.js"
import * as TokenStore from "../src/TokenStore.js"
import { fakeProvider, tokenOf } from "./support/fakeProvider.js"
import { redisAvailable, useRedis } from "./support/redisServer.js"

const redis = redisAvailable ? useRedis() : undefined
const key = { provider: "hyperid", account: "default" }
let prefixes = 0

/**
 * A provider that rotates strictly: each refresh token once, spent on
 * receipt; one presented again is invalid_grant. Each refresh tells it
 * has arrived, then waits to be let through.
 */
const gatedProvider = Effect.gen(function* () {
  const arrived = yield* Deferred.make<void>()
  const proceed = yield* Deferred.make<void>()
  const state = { valid: "r1" as string | undefined, refreshes: 0, reused: [] as Array<string>, revoked: 0 }
  const provider = fakeProvider({
    refresh: (previous) =>
      Effect.gen(function* () {
        const presented = previous.refreshToken === undefined ? "" : Redacted.value(previous.refreshToken)
        state.refreshes++
        const good = presented === state.valid
        if (!good) state.reused.push(presented)
        state.valid = undefined
        yield* Deferred.succeed(arrived, undefined)
        yield* Deferred.await(proceed)
        if (!good) return yield* new OAuthProtocolError({ provider: "hyperid", error: "invalid_grant", status: 400 })
        state.valid = `r${state.refreshes + 1}`
        return yield* tokenOf({ access_token: `a${state.refreshes + 1}`, refresh_token: state.valid, expires_in: 3600 })
      }),
    revoke: () =>
      Effect.sync(() => {
        state.revoked++
        return true
      }),
  })
  return { provider, state, arrived, proceed }
})

/** A clock `skewMs` off the real one, as a host whose clock is wrong (NTP not yet synced, a VM resumed). */
const skewed = (skewMs: number): Clock.Clock => {
  const real = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + skewMs,
    currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + skewMs),
    unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + BigInt(skewMs) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + BigInt(skewMs) * 1_000_000n),
    sleep: (duration) => real.sleep(duration),
  }
}

/** Two replicas on two hosts, each with its own clock, on a fresh prefix of the test Redis; the login's token expired. */
const replicas = (skewA: number, skewB: number) =>
  Effect.gen(function* () {
    const url = Redacted.make(redis?.current.url ?? "")
    const prefix = `replicas${++prefixes}:`
    const fake = yield* gatedProvider
    const replica = (pid: number, host: string, skewMs: number) =>
      Effect.gen(function* () {
        const store = yield* RedisStore.make({ url, key: Redacted.make("k"), prefix }, { pid, host })
        const accounts = yield* Accounts.make(Accounts.lookupIn([fake.provider])).pipe(
          Effect.provideService(TokenStore.TokenStore, store),
        )
        const accessToken = Effect.map(accounts.accessToken(key), (token) => Redacted.value(token.accessToken)).pipe(
          Effect.withClock(skewed(skewMs)),
        )
        return { store, accounts, accessToken }
      })
    const a = yield* replica(1, "host-a", skewA)
    const b = yield* replica(2, "host-b", skewB)
    yield* a.accounts.save(key, yield* tokenOf({ access_token: "a1", refresh_token: "r1", expires_in: 0 }))
    return { a, b, fake, prefix }
  })

/** Deletes every key under `prefix`, as a restart without persistence, or a failover to an empty replica, leaves it. */
const loseData = (prefix: string) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const admin = createClient({ url: redis?.current.url ?? "" })
      await admin.connect()
      return admin
    }),
    (admin) =>
      Effect.promise(async () => {
        for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
          if (keys.length > 0) await admin.del(keys)
      }),
    (admin) => Effect.promise(() => admin.close()),
  )

/** While A is at the provider: B asks, and is given time to do wrong; then A is let through. */
const raceWhileAtProvider = (
  setup: Effect.Effect.Success<ReturnType<typeof replicas>>,
  meanwhile: Effect.Effect<void> = Effect.void,
) =>
  Effect.gen(function* () {
    const { a, b, fake } = setup
    const first = yield* Effect.fork(Effect.exit(a.accessToken))
    yield* Deferred.await(fake.arrived)
    yield* meanwhile
    const second = yield* Effect.fork(Effect.exit(b.accessToken))
    // Long enough for B to take the lease and reach the provider, were it let.
    yield* Effect.sleep("500 millis")
    yield* Deferred.succeed(fake.proceed, undefined)
    return { first: yield* Fiber.join(first), second: yield* Fiber.join(second) }
  })

describe.skipIf(!redisAvailable)("replicas sharing one Redis, one of them at the provider", () => {
  for (const [name, skewA, skewB] of [
    ["a replica whose clock is 20 s ahead", 0, 20_000],
    ["a replica whose clock is 20 s behind holding the lease", -20_000, 0],
  ] as const) {
    it.live(`${name}: the other waits for the lease and sends no spent refresh token`, () =>
      Effect.gen(function* () {
        const setup = yield* replicas(skewA, skewB)
        const { first, second } = yield* raceWhileAtProvider(setup)
        assert.deepStrictEqual(setup.fake.state.reused, [])
        assert.strictEqual(setup.fake.state.refreshes, 1)
        assert.deepStrictEqual(first, Exit.succeed("a2"))
        assert.deepStrictEqual(second, Exit.succeed("a2"))
      }).pipe(Effect.scoped),
    )
  }

  it.live("memory pressure under a volatile-* policy does not evict a held lease", () =>
    Effect.gen(function* () {
      const setup = yield* replicas(0, 0)
      const admin = createClient({ url: redis?.current.url ?? "" })
      yield* Effect.acquireRelease(
        Effect.promise(() => admin.connect()),
        () =>
          Effect.promise(async () => {
            await admin.configSet({ maxmemory: "0", "maxmemory-policy": "noeviction" })
            for await (const keys of admin.scanIterator({ MATCH: "cache:*", COUNT: 1000 }))
              if (keys.length > 0) await admin.del(keys)
            await admin.close()
          }),
      )
      // Another application's cache entries, each with a time to live, fill the memory.
      const fill = Effect.promise(async () => {
        const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1] ?? "0")
        await admin.configSet({ maxmemory: String(used + 4 * 1024 * 1024), "maxmemory-policy": "volatile-lru" })
        for (let i = 0; i < 400; i++) await admin.set(`cache:${i}`, "v".repeat(20_000), { EX: 3600 })
      })
      const { first, second } = yield* raceWhileAtProvider(setup, fill)
      assert.deepStrictEqual(setup.fake.state.reused, [])
      assert.deepStrictEqual(first, Exit.succeed("a2"))
      assert.deepStrictEqual(second, Exit.succeed("a2"))
    }).pipe(Effect.scoped),
  )

  it.live("a login removed from the store during a refresh stays removed, and the new tokens are revoked", () =>
    Effect.gen(function* () {
      const setup = yield* replicas(0, 0)
      const first = yield* Effect.fork(Effect.exit(setup.a.accessToken))
      yield* Deferred.await(setup.fake.arrived)
      // Straight at the store, as a tool outside Accounts would: no lease is waited for.
      assert.isTrue(yield* setup.b.store.remove(key))
      yield* Deferred.succeed(setup.fake.proceed, undefined)
      const exit = yield* Fiber.join(first)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(setup.fake.state.revoked, 1)
      assert.isTrue(Option.isNone(yield* setup.a.store.get(key, { fresh: true })))
    }).pipe(Effect.scoped),
  )

  it.live("a Redis that lost its data during a refresh gets the new tokens back, none revoked", () =>
    Effect.gen(function* () {
      const setup = yield* replicas(0, 0)
      const first = yield* Effect.fork(Effect.exit(setup.a.accessToken))
      yield* Deferred.await(setup.fake.arrived)
      yield* loseData(setup.prefix)
      yield* Deferred.succeed(setup.fake.proceed, undefined)
      assert.deepStrictEqual(yield* Fiber.join(first), Exit.succeed("a2"))
      assert.strictEqual(setup.fake.state.revoked, 0)
      const stored = yield* setup.a.store.get(key, { fresh: true })
      assert.deepStrictEqual(
        Option.map(stored, ({ token }) => Redacted.value(token.accessToken)),
        Option.some("a2"),
      )
    }).pipe(Effect.scoped),
  )

  it.live("a Redis that lost its data during a refresh, then a new login: the refresh does not overwrite it", () =>
    Effect.gen(function* () {
      const setup = yield* replicas(0, 0)
      const first = yield* Effect.fork(Effect.exit(setup.a.accessToken))
      yield* Deferred.await(setup.fake.arrived)
      yield* loseData(setup.prefix)
      // A new login on B: its record starts again at the version the lost one had.
      yield* setup.b.accounts.save(
        key,
        yield* tokenOf({ access_token: "new-login", refresh_token: "rn", expires_in: 3600 }),
      )
      yield* Deferred.succeed(setup.fake.proceed, undefined)
      assert.deepStrictEqual(yield* Fiber.join(first), Exit.succeed("new-login"))
      const stored = yield* setup.a.store.get(key, { fresh: true })
      assert.deepStrictEqual(
        Option.map(stored, ({ token }) => Redacted.value(token.accessToken)),
        Option.some("new-login"),
      )
    }).pipe(Effect.scoped),
  )
})
