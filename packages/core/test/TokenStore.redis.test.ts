/**
 * A Redis whose data was damaged or lost under the replicas using it: what
 * each finds must be told as damage (or repaired), never as a conflict or a
 * server out of reach, and a key check lost with the data must come back.
 */
import { assert, describe, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Effect, Exit, Logger, Option, Redacted, Schema } from "effect"
import * as RedisStore from "../src/internal/redisStore.js"
import { TokenResponse } from "../src/internal/wire.js"
import * as Token from "../src/Token.js"
import { redisAvailable, useRedis } from "./support/redisServer.js"

const redis = redisAvailable ? useRedis() : undefined
const key = { provider: "hyperid", account: "default" }
const secret = Redacted.make("correct horse battery staple")
let prefixes = 0

const tokenOf = (access: string) =>
  Effect.flatMap(Effect.orDie(Schema.decodeUnknown(TokenResponse)({ access_token: access, refresh_token: "r" })), (r) =>
    Token.fromResponse(r),
  )

/** A fresh prefix on the test Redis, a raw client on it, and stores opened there (with the key unless told). */
const setUp = Effect.gen(function* () {
  const url = redis?.current.url ?? ""
  const prefix = `damage${++prefixes}:`
  const client = createClient({ url })
  yield* Effect.acquireRelease(
    Effect.promise(() => client.connect()),
    () => Effect.promise(() => client.close()),
  )
  const open = (withKey = true) =>
    RedisStore.make({ url: Redacted.make(url), key: withKey ? secret : undefined, prefix })
  const lose = Effect.promise(async () => {
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(keys)
  })
  return { client, prefix, open, lose }
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe.skipIf(!redisAvailable)("the Redis store, damaged or lost under it", () => {
  it.scoped("a record whose version is not a number is damage, not a conflict that would drop the write", () =>
    Effect.gen(function* () {
      const { client, prefix, open } = yield* setUp
      const store = yield* open()
      yield* store.set(key, yield* tokenOf("a1"))
      yield* Effect.promise(() => client.hSet(`${prefix}account:hyperid/default`, "version", "abc"))
      const error = failureOf(yield* Effect.exit(store.set(key, yield* tokenOf("a2"), { ifVersion: 1 })))
      assert.strictEqual(error._tag, "TokenStoreError")
      assert.include(error.message, "damaged")
    }),
  )

  it.scoped("a key of the wrong type is damage, not a server out of reach", () =>
    Effect.gen(function* () {
      const { client, prefix, open } = yield* setUp
      const store = yield* open()
      yield* Effect.promise(() => client.set(`${prefix}account:hyperid/default`, "garbage"))
      const error = failureOf(yield* Effect.exit(store.get(key, { fresh: true })))
      assert.strictEqual(error._tag, "TokenStoreError")
      assert.strictEqual(error.code, "not_configured")
      assert.include(error.message, "damaged")
    }),
  )

  it.scoped(
    "data lost under a keyed replica (FLUSHALL, a restart without persistence): its next write restores the key check",
    () =>
      Effect.gen(function* () {
        const { open, lose } = yield* setUp
        const keyed = yield* open()
        yield* keyed.set(key, yield* tokenOf("a1"))
        yield* lose
        yield* keyed.set(key, yield* tokenOf("a2"))
        // A replica without the key is refused, as it was before the loss: it would write plaintext.
        const keyless = failureOf(yield* Effect.exit(open(false)))
        assert.strictEqual(keyless.reason, "key_required")
        // A replica with the key opens the store and reads what the first wrote.
        const another = yield* open()
        const entry = yield* another.get(key, { fresh: true })
        assert.deepStrictEqual(
          Option.map(entry, ({ token }) => Redacted.value(token.accessToken)),
          Option.some("a2"),
        )
      }),
  )
})

describe.skipIf(!redisAvailable)("the Redis store on a server that may evict keys", () => {
  it.scoped("says so at start under an allkeys-* policy, naming the policy and the fix; not under noeviction", () =>
    Effect.gen(function* () {
      const { client, open } = yield* setUp
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      const opened = Effect.provide(open(), Logger.replace(Logger.defaultLogger, logger))
      yield* Effect.acquireRelease(
        Effect.promise(() => client.configSet("maxmemory-policy", "allkeys-lru")),
        () => Effect.promise(() => client.configSet("maxmemory-policy", "noeviction")),
      )
      yield* opened
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "allkeys-lru")
      assert.include(warnings[0], "noeviction")
      yield* Effect.promise(() => client.configSet("maxmemory-policy", "volatile-lru"))
      yield* opened
      assert.strictEqual(warnings.length, 1)
    }),
  )
})

describe.skipIf(!redisAvailable)("replicas with other keys opening a new Redis store at once", () => {
  it.live("exactly one of a replica with key K1, one with K2 and one with none gets to write", () =>
    Effect.gen(function* () {
      const url = Redacted.make(redis?.current.url ?? "")
      const outcomes: Array<string> = []
      for (let round = 0; round < 30; round++) {
        const prefix = `keysrace${++prefixes}:`
        const write = (key: string | undefined) =>
          Effect.scoped(
            Effect.gen(function* () {
              const store = yield* RedisStore.make({
                url,
                key: key === undefined ? undefined : Redacted.make(key),
                prefix,
              })
              yield* store.set({ provider: "hyperid", account: key ?? "plain" }, yield* tokenOf("a"))
            }),
          ).pipe(
            Effect.as("written"),
            Effect.catchAll((error) => Effect.succeed(error._tag === "TokenStoreError" ? error.reason : error._tag)),
          )
        const results = yield* Effect.all([write("K1"), write("K2"), write(undefined)], { concurrency: "unbounded" })
        outcomes.push(results.join(","))
      }
      assert.deepStrictEqual(
        outcomes.filter((outcome) => outcome.split(",").filter((result) => result === "written").length !== 1),
        [],
      )
    }),
  )
})

describe.skipIf(!redisAvailable)("a keyed replica after the Redis lost its data", () => {
  it.scoped("does not seal the store anew over a plaintext record a replica without the key wrote since", () =>
    Effect.gen(function* () {
      const { client, prefix, open, lose } = yield* setUp
      const keyed = yield* open()
      yield* keyed.set({ provider: "hyperid", account: "k" }, yield* tokenOf("k1"))
      yield* lose
      const plain = yield* open(false)
      yield* plain.set({ provider: "hyperid", account: "p" }, yield* tokenOf("p1"))
      const refused = failureOf(
        yield* Effect.exit(keyed.set({ provider: "hyperid", account: "k" }, yield* tokenOf("k2"))),
      )
      assert.strictEqual(refused._tag === "TokenStoreError" ? refused.reason : refused._tag, "unencrypted")
      // The store is as the replica without the key left it: no key check, and it writes on.
      assert.strictEqual(Number(yield* Effect.promise(() => client.hExists(`${prefix}meta`, "check"))), 0)
      yield* plain.set({ provider: "hyperid", account: "p" }, yield* tokenOf("p2"))
    }),
  )
})

describe.skipIf(!redisAvailable)("a pending login's lease on Redis", () => {
  it.scoped(
    "held by a holder that died, or one that renews it, does not outlast the login's record removed without it",
    () =>
      Effect.gen(function* () {
        const { client, prefix, open } = yield* setUp
        const store = yield* open()
        yield* store.logins.set("login_crashed", { state: "st" })
        // Taken and never let go: the holder was killed.
        const holder = { owner: "killed", pid: 1, host: "elsewhere" }
        const taken = yield* store.leaseBackend.tryAcquire("login:login_crashed", holder, 2_000, 0, undefined)
        yield* store.logins.remove("login_crashed")
        const ttl = () => Effect.promise(() => client.pTTL(`${prefix}lease:login:login_crashed`))
        assert.isAbove(yield* ttl(), 0)
        // A holder still alive renews it, and it keeps its end: the login it was for is gone.
        const fence = taken._tag === "Acquired" ? taken.fence : 0
        assert.isTrue(yield* store.leaseBackend.renew({ key: "login:login_crashed", owner: "killed", fence }, 2_000, 0))
        assert.isAbove(yield* ttl(), 0)
      }),
  )
})
