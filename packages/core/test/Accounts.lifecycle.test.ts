/**
 * Accounts are linearizable per account on every backend: a logout waits
 * for the refresh in flight and nothing brings the login back; a refresh
 * result that lost its lease is never committed (and revoked if the login
 * is gone); a thousand callers cost one refresh and a handful of store
 * round trips, whatever the backend.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Context, Deferred, Effect, Exit, Fiber, Layer, ManagedRuntime, Option, Redacted, TestClock } from "effect"
import * as Accounts from "../src/Accounts.js"
import * as FileStore from "../src/internal/fileStore.js"
import * as MemoryStore from "../src/internal/memoryStore.js"
import * as RedisStore from "../src/internal/redisStore.js"
import type { RequestFailure } from "../src/OAuthError.js"
import type * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import { fakeProvider, tokenOf } from "./support/fakeProvider.js"
import { redisAvailable, useRedis } from "./support/redisServer.js"

const key = { provider: "hyperid", account: "default" }

const access = (token: Token.TokenSet) => Redacted.value(token.accessToken)

/** A provider whose refresh waits for `gate` and answers "fresh-N"; it records what it revoked. */
const gatedProvider = (gate: Deferred.Deferred<void>, started: Deferred.Deferred<void>) => {
  const calls = { refresh: 0, revoked: [] as Array<string> }
  const provider = fakeProvider({
    refresh: (): Effect.Effect<Token.TokenSet, RequestFailure> =>
      Effect.gen(function* () {
        calls.refresh++
        yield* Deferred.succeed(started, undefined)
        yield* Deferred.await(gate)
        return yield* tokenOf({
          access_token: `fresh-${calls.refresh}`,
          refresh_token: `r${calls.refresh + 1}`,
          expires_in: 3600,
        })
      }),
    revoke: (token) =>
      Effect.sync(() => {
        calls.revoked.push(access(token))
        return true
      }),
  })
  return { provider, calls }
}

const redis = redisAvailable ? useRedis() : undefined
let prefixes = 0

const stores: ReadonlyArray<readonly [string, () => Layer.Layer<TokenStore.TokenStore>, boolean]> = [
  ["memory", () => TokenStore.layerMemory, true],
  [
    "file",
    () =>
      Layer.effect(
        TokenStore.TokenStore,
        Effect.map(
          Effect.promise(() => mkdtemp(join(tmpdir(), "hyperauth-accounts-"))),
          (dir) => FileStore.make(join(dir, "tokens.json"), Redacted.make("k")),
        ),
      ),
    true,
  ],
  [
    "redis",
    () =>
      Layer.scoped(
        TokenStore.TokenStore,
        Effect.orDie(
          RedisStore.make({
            url: Redacted.make(redis?.current.url ?? ""),
            key: Redacted.make("k"),
            prefix: `accounts${++prefixes}:`,
          }),
        ),
      ),
    redisAvailable,
  ],
]

for (const [name, storeLayer, available] of stores) {
  describe.skipIf(!available)(`Accounts over the ${name} store`, () => {
    it.live("a logout during a refresh waits for it, revokes its result, and the login stays removed", () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const fake = gatedProvider(gate, started)
        const accounts = yield* Accounts.make(() => Effect.succeed(fake.provider))
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))

        const refreshing = yield* Effect.fork(accounts.accessToken(key))
        yield* Deferred.await(started)
        const loggingOut = yield* Effect.fork(accounts.logout(key))
        yield* Effect.sleep("50 millis")
        // The logout waits for the lease; the refresh then commits, and the logout ends what it committed.
        assert.isNull(loggingOut.unsafePoll())
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(access(yield* Fiber.join(refreshing)), "fresh-1")
        const result = yield* Fiber.join(loggingOut)
        assert.deepStrictEqual({ revoked: result.revoked, removed: result.removed }, { revoked: true, removed: true })
        assert.deepStrictEqual(fake.calls.revoked, ["fresh-1"])
        const after = yield* Effect.exit(accounts.accessToken(key))
        assert.isTrue(Exit.isFailure(after))
        assert.strictEqual((yield* Effect.flip(accounts.get(key))).code, "not_logged_in")
      }).pipe(Effect.provide(storeLayer())),
    )

    it.live("closing the Accounts layer waits for a refresh in flight to be stored, for at most waitOnClose", () =>
      Effect.gen(function* () {
        // The store outlives the layer, as another process's view of it would.
        const stored = yield* Layer.build(storeLayer())
        const store = Context.get(stored, TokenStore.TokenStore)
        const open = (fake: ReturnType<typeof gatedProvider>, options?: Accounts.Options) =>
          ManagedRuntime.make(
            Accounts.layer(() => Effect.succeed(fake.provider), options).pipe(
              Layer.provide(Layer.succeedContext(stored)),
            ),
          )
        /** Saves a login about to expire in `runtime`, then asks for its token: a refresh starts, and nobody waits for it. */
        const refreshingIn = (runtime: ManagedRuntime.ManagedRuntime<Accounts.Accounts, never>) =>
          Effect.promise(() =>
            runtime.runPromise(
              Effect.flatMap(Accounts.Accounts, (accounts) =>
                Effect.flatMap(tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }), (token) =>
                  accounts.save(key, token),
                ),
              ),
            ),
          ).pipe(
            Effect.zipRight(
              Effect.sync(() => {
                runtime.runFork(Effect.flatMap(Accounts.Accounts, (accounts) => accounts.accessToken(key)))
              }),
            ),
          )
        const closedWhile = (runtime: ManagedRuntime.ManagedRuntime<Accounts.Accounts, never>) => {
          const closing = { done: false, promise: runtime.dispose() }
          void closing.promise.then(() => {
            closing.done = true
          })
          return closing
        }

        const gate = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const fake = gatedProvider(gate, started)
        const runtime = open(fake)
        // The caller gives up at once (a client that went away); its refresh goes on.
        yield* refreshingIn(runtime)
        yield* Deferred.await(started)
        const closing = closedWhile(runtime)
        yield* Effect.sleep("50 millis")
        assert.isFalse(closing.done, "the layer closed while its refresh was at the provider")
        yield* Deferred.succeed(gate, undefined)
        yield* Effect.promise(() => closing.promise)
        const after = yield* store.get(key, { fresh: true })
        assert.strictEqual(Option.map(after, (entry) => access(entry.token)).pipe(Option.getOrUndefined), "fresh-1")

        // A refresh that never ends holds the close up only so long.
        const stuck = gatedProvider(yield* Deferred.make<void>(), yield* Deferred.make<void>())
        const patient = open(stuck, { waitOnClose: "100 millis" })
        yield* refreshingIn(patient)
        yield* Effect.sleep("20 millis")
        yield* Effect.promise(() => closedWhile(patient).promise).pipe(Effect.timeout("5 seconds"), Effect.orDie)
      }).pipe(Effect.scoped),
    )

    it.live("1,000 callers on an expired token: one refresh, and store round trips that do not grow with callers", () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const fake = gatedProvider(gate, started)
        const store = yield* TokenStore.TokenStore
        const calls = { get: 0, set: 0, acquire: 0 }
        const counted: TokenStore.Service = {
          ...store,
          get: (k, o) =>
            Effect.zipRight(
              Effect.sync(() => calls.get++),
              store.get(k, o),
            ),
          set: (k, t, o) =>
            Effect.zipRight(
              Effect.sync(() => calls.set++),
              store.set(k, t, o),
            ),
          acquire: (k, o) =>
            Effect.zipRight(
              Effect.sync(() => calls.acquire++),
              store.acquire(k, o),
            ),
        }
        const accounts = yield* Accounts.make(() => Effect.succeed(fake.provider)).pipe(
          Effect.provideService(TokenStore.TokenStore, counted),
        )
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
        const before = { ...calls }
        const crowd = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 1000 }, () => accounts.accessToken(key)),
            { concurrency: "unbounded" },
          ),
        )
        yield* Deferred.await(started)
        yield* Deferred.succeed(gate, undefined)
        const tokens = yield* Fiber.join(crowd)
        assert.isTrue(tokens.every((t) => access(t) === "fresh-1"))
        assert.strictEqual(fake.calls.refresh, 1)
        // One lease, one fresh read and one write for the refresh itself.
        assert.strictEqual(calls.acquire - before.acquire, 1)
        assert.strictEqual(calls.set - before.set, 1)
      }).pipe(Effect.provide(storeLayer())),
    )

    it.live("callers that come while the token is renewed wait for it without reading the store", () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const fake = gatedProvider(gate, started)
        const store = yield* TokenStore.TokenStore
        let reads = 0
        const counted: TokenStore.Service = {
          ...store,
          get: (k, o) =>
            Effect.zipRight(
              Effect.sync(() => reads++),
              store.get(k, o),
            ),
        }
        const accounts = yield* Accounts.make(() => Effect.succeed(fake.provider)).pipe(
          Effect.provideService(TokenStore.TokenStore, counted),
        )
        yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
        const first = yield* Effect.fork(accounts.accessToken(key))
        yield* Deferred.await(started)
        const before = reads
        let arrived = 0
        const late = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 100 }, () =>
              Effect.zipRight(
                Effect.sync(() => arrived++),
                accounts.accessToken(key),
              ),
            ),
            { concurrency: "unbounded" },
          ),
        )
        // Each late caller goes on from `arrived++` to wait, in the same run of its fiber.
        while (arrived < 100) yield* Effect.yieldNow()
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(access(yield* Fiber.join(first)), "fresh-1")
        assert.isTrue((yield* Fiber.join(late)).every((t) => access(t) === "fresh-1"))
        assert.strictEqual(reads, before)
        assert.strictEqual(fake.calls.refresh, 1)
      }).pipe(Effect.provide(storeLayer())),
    )
  })
}

describe("Accounts, a refresh that waits long at the provider", () => {
  it.effect("keeps its lease past any lock time: the other process waits, never refreshes with the same token", () =>
    Effect.gen(function* () {
      const state = MemoryStore.makeState()
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const slow = gatedProvider(gate, started)
      const other = gatedProvider(gate, yield* Deferred.make<void>())
      // Two processes: two handles on one store, each with its own Accounts.
      const first = yield* Accounts.make(() => Effect.succeed(slow.provider)).pipe(
        Effect.provideService(TokenStore.TokenStore, MemoryStore.make(state)),
      )
      const second = yield* Accounts.make(() => Effect.succeed(other.provider)).pipe(
        Effect.provideService(TokenStore.TokenStore, MemoryStore.make(state)),
      )
      yield* first.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
      const refreshing = yield* Effect.fork(first.accessToken(key))
      yield* Deferred.await(started)
      const waiting = yield* Effect.fork(second.accessToken(key))
      // Two Retry-After waits of 60 s: far past the lease's 15 s, renewed all along.
      for (let s = 0; s < 120; s += 5) yield* TestClock.adjust("5 seconds")
      assert.strictEqual(other.calls.refresh, 0)
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(access(yield* Fiber.join(refreshing)), "fresh-1")
      // The other waited for the lease (or gave up with locked); it never spent r1 again.
      const outcome = yield* Fiber.await(waiting)
      assert.strictEqual(other.calls.refresh, 0)
      if (Exit.isSuccess(outcome)) assert.strictEqual(access(outcome.value), "fresh-1")
      assert.strictEqual(access(yield* second.accessToken(key)), "fresh-1")
    }),
  )
})

describe("Accounts, a refresh that lost its lease", () => {
  it.live("is not committed; with the login gone meanwhile, its tokens are revoked at the provider", () =>
    Effect.gen(function* () {
      const state = MemoryStore.makeState()
      const store = MemoryStore.make(state)
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const fake = gatedProvider(gate, started)
      const accounts = yield* Accounts.make(() => Effect.succeed(fake.provider)).pipe(
        Effect.provideService(TokenStore.TokenStore, store),
      )
      yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
      const refreshing = yield* Effect.fork(accounts.accessToken(key))
      yield* Deferred.await(started)
      // Another holder took the lease over (this one was presumed gone) and logged out.
      const held = state.leases.get("hyperid/default")
      assert.isDefined(held)
      state.leases.set("hyperid/default", {
        owner: "other",
        pid: 1,
        host: "elsewhere",
        fence: (held?.fence ?? 0) + 1,
        expiresAt: Date.now() + 60_000,
      })
      const id = "hyperid/default"
      const record = state.records.get(id)
      state.records.set(id, { version: (record?.version ?? 0) + 1, value: undefined })
      yield* Deferred.succeed(gate, undefined)
      const error = yield* Effect.flip(Fiber.join(refreshing))
      assert.strictEqual(error.code, "not_logged_in")
      assert.deepStrictEqual(fake.calls.revoked, ["fresh-1"])
      assert.isUndefined(state.records.get(id)?.value)
    }),
  )
})

describe.skipIf(!redisAvailable)("Accounts over Redis, counted at the server", () => {
  it.live("1,000 callers on an expired token send a handful of commands to Redis, not thousands", () =>
    Effect.gen(function* () {
      const url = redis?.current.url ?? ""
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const fake = gatedProvider(gate, started)
      const store = yield* Effect.orDie(RedisStore.make({ url: Redacted.make(url), prefix: "counted:" }))
      const accounts = yield* Accounts.make(() => Effect.succeed(fake.provider)).pipe(
        Effect.provideService(TokenStore.TokenStore, store),
      )
      yield* accounts.save(key, yield* tokenOf({ access_token: "old", refresh_token: "r1", expires_in: 10 }))
      const admin = createClient({ url })
      yield* Effect.acquireRelease(
        Effect.promise(() => admin.connect()),
        () => Effect.promise(() => admin.close()),
      )
      // Calls per command at the server (commands inside a script count too).
      const commands = Effect.promise(async () => {
        const stats = await admin.info("commandstats")
        const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? "0")
        return { evals: calls("eval"), hmgets: calls("hmget") }
      })
      const before = yield* commands
      const crowd = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 1000 }, () => accounts.accessToken(key)),
          { concurrency: "unbounded" },
        ),
      )
      yield* Deferred.await(started)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(crowd)
      const after = yield* commands
      // Round trips: one shared read by all 1,000; then, for the one refresh, the lease, a fresh
      // read, the fenced write and the release (each script reads its lease with one HMGET).
      const scripts = after.evals - before.evals
      assert.strictEqual(scripts, 3)
      assert.strictEqual(after.hmgets - before.hmgets - scripts, 2)
      assert.strictEqual(fake.calls.refresh, 1)
    }).pipe(Effect.scoped),
  )
})
