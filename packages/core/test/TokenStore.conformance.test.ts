/**
 * One contract, three backends: every test here runs against memory, the
 * encrypted file and a real Redis. Several handles on one store stand for
 * several processes sharing it; lease time is TestClock time.
 */
import { spawnSync } from "node:child_process"
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Duration, Effect, Exit, Fiber, Option, Redacted, Schema, type Scope, TestClock } from "effect"
import * as FileStore from "../src/internal/fileStore.js"
import { type Identity, thisProcess } from "../src/internal/leases.js"
import * as MemoryStore from "../src/internal/memoryStore.js"
import * as RedisStore from "../src/internal/redisStore.js"
import type { WithLeaseBackend } from "../src/internal/storeRecords.js"
import { TokenResponse } from "../src/internal/wire.js"
import type { TokenStoreError } from "../src/OAuthError.js"
import * as Token from "../src/Token.js"
import type * as TokenStore from "../src/TokenStore.js"
import { redisAvailable, useRedis } from "./support/redisServer.js"

const tokenOf = (access: string, refresh?: string) =>
  Effect.flatMap(
    Schema.decodeUnknown(TokenResponse)({ access_token: access, refresh_token: refresh, expires_in: 3600 }),
    (response) => Token.fromResponse(response),
  )
const key = { provider: "hyperid", account: "default" }
const other = { provider: "hyperline", account: "work" }
const access = (entry: Option.Option<TokenStore.Entry>) =>
  Option.map(entry, (e) => Redacted.value(e.token.accessToken)).pipe(Option.getOrNull)

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
}

/** I/O of the file and Redis backends runs on real time; let it finish after moving the TestClock. */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
const advance = (ms: number) =>
  Effect.gen(function* () {
    for (let moved = 0; moved < ms; moved += 500) {
      yield* TestClock.adjust(Math.min(500, ms - moved))
      yield* settle
    }
  })

/** A process that has exited: its pid is free. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
  return Number(child.stdout.toString())
}

interface OpenOptions {
  readonly key?: string | undefined
  /** Open without any key. */
  readonly plain?: boolean | undefined
  readonly identity?: Identity | undefined
}

interface Fixture {
  /** A handle on the shared store, as another process opens it. */
  readonly open: (options?: OpenOptions) => Effect.Effect<WithLeaseBackend, TokenStoreError, Scope.Scope>
  /** Every byte the backend keeps, to look for secrets at rest. */
  readonly raw: Effect.Effect<string>
  /** Overwrites the record of `key` (or the whole store) with damaged data. */
  readonly damage?: Effect.Effect<void>
  /** Writes a plaintext record, as someone who can write the store could. */
  readonly plantPlain?: (token: Token.TokenSet) => Effect.Effect<void>
  readonly encrypted: boolean
  /** What the backend keeps for good (Redis: the keys with no expiry). */
  readonly lasting?: Effect.Effect<ReadonlyArray<string>>
  /** Whether leases expire by the server's own clock (Redis), not the caller's: the TestClock does not move it. */
  readonly serverClock?: boolean
}

const secret = "correct horse battery staple"

const memoryFixture = Effect.sync((): Fixture => {
  const state = MemoryStore.makeState()
  return {
    open: (options) => Effect.succeed(MemoryStore.make(state, options?.identity)),
    raw: Effect.succeed(""),
    encrypted: false,
  }
})

const fileFixture = Effect.gen(function* () {
  const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "hyperauth-conformance-")))
  const path = join(dir, "tokens.json")
  return {
    open: (options) =>
      Effect.succeed(
        FileStore.make(path, options?.plain === true ? undefined : Redacted.make(options?.key ?? secret), {
          identity: options?.identity,
        }),
      ),
    raw: Effect.promise(async () => {
      const names = await readdir(dir)
      const texts = await Promise.all(names.map((name) => readFile(join(dir, name), "utf8").catch(() => "")))
      return names.join("\n") + texts.join("\n")
    }),
    damage: Effect.promise(async () => {
      const text = await readFile(path, "utf8")
      const document = JSON.parse(text) as { data: string }
      const bytes = Buffer.from(document.data, "base64")
      bytes[0] = (bytes[0] ?? 0) ^ 0xff
      await writeFile(path, JSON.stringify({ ...document, data: bytes.toString("base64") }))
    }),
    plantPlain: (token) =>
      Effect.promise(async () => {
        const plain = FileStore.make(join(dir, "plain.json"), undefined)
        await Effect.runPromise(plain.set(key, token))
        await writeFile(path, await readFile(join(dir, "plain.json"), "utf8"))
      }),
    encrypted: true,
  } satisfies Fixture
})

const redis = redisAvailable ? useRedis() : undefined
let prefixes = 0

const redisFixture = Effect.gen(function* () {
  const url = redis?.current.url ?? ""
  const prefix = `test${++prefixes}:`
  const client = createClient({ url })
  yield* Effect.acquireRelease(
    Effect.promise(() => client.connect()),
    () => Effect.promise(() => client.close()),
  )
  return {
    open: (options) =>
      RedisStore.make(
        {
          url: Redacted.make(url),
          key: options?.plain === true ? undefined : Redacted.make(options?.key ?? secret),
          prefix,
        },
        options?.identity,
      ),
    raw: Effect.promise(async () => {
      const keys = await client.keys(`${prefix}*`)
      const values = await Promise.all(
        keys.map(async (k) => JSON.stringify((await client.type(k)) === "hash" ? await client.hGetAll(k) : k)),
      )
      return keys.join("\n") + values.join("\n")
    }),
    damage: Effect.promise(async () => {
      const value = await client.hGet(`${prefix}account:${key.provider}/${key.account}`, "value")
      const sealed = JSON.parse(value ?? "{}") as { data: string }
      const bytes = Buffer.from(sealed.data, "base64")
      bytes[0] = (bytes[0] ?? 0) ^ 0xff
      await client.hSet(
        `${prefix}account:${key.provider}/${key.account}`,
        "value",
        JSON.stringify({ ...sealed, data: bytes.toString("base64") }),
      )
    }),
    plantPlain: (token) =>
      Effect.promise(async () => {
        const { encodeToken } = await import("../src/internal/storeRecords.js")
        await client.hSet(`${prefix}account:${key.provider}/${key.account}`, {
          version: "1",
          value: encodeToken(token),
        })
        await client.sAdd(`${prefix}accounts`, `${key.provider}/${key.account}`)
      }),
    encrypted: true,
    lasting: Effect.promise(async () => {
      const keys = await client.keys(`${prefix}*`)
      const ttls = await Promise.all(keys.map((k) => client.pTTL(k)))
      return keys.filter((_, i) => ttls[i] === -1).map((k) => k.slice(prefix.length))
    }),
    serverClock: true,
  } satisfies Fixture
})

const backends: ReadonlyArray<readonly [string, Effect.Effect<Fixture, never, Scope.Scope>, boolean]> = [
  ["memory", memoryFixture, true],
  ["file", fileFixture, true],
  ["redis", redisFixture, redisAvailable],
]

for (const [name, makeFixture, available] of backends) {
  describe.skipIf(!available)(`TokenStore conformance (${name})`, () => {
    const withStore = <A, E>(body: (fixture: Fixture) => Effect.Effect<A, E, Scope.Scope>) =>
      Effect.scoped(Effect.flatMap(makeFixture, body))

    it.effect("versions grow with every write and survive a removal", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const store = yield* fixture.open()
          assert.strictEqual((yield* store.set(key, yield* tokenOf("a1"))).version, 1)
          assert.strictEqual((yield* store.set(key, yield* tokenOf("a2"))).version, 2)
          yield* store.set(other, yield* tokenOf("b1"))
          const got = yield* store.get(key)
          assert.strictEqual(access(got), "a2")
          assert.strictEqual(Option.getOrThrow(got).version, 2)
          assert.deepStrictEqual((yield* store.list).map((e) => `${e.provider}/${e.account}@${e.version}`).sort(), [
            "hyperid/default@2",
            "hyperline/work@1",
          ])
          assert.isTrue(yield* store.remove(key))
          assert.isFalse(yield* store.remove(key))
          assert.isTrue(Option.isNone(yield* store.get(key)))
          // The version is kept through the removal: a writer that read version 2 cannot resurrect it.
          assert.strictEqual((yield* store.set(key, yield* tokenOf("a4"))).version, 4)
        }),
      ),
    )

    it.effect("a write conditioned on a stale version fails and changes nothing", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          yield* a.set(key, yield* tokenOf("first"), { ifVersion: 0 })
          const read = Option.getOrThrow(yield* b.get(key, { fresh: true }))
          yield* a.set(key, yield* tokenOf("second"), { ifVersion: read.version })
          const stale = failure(yield* Effect.exit(b.set(key, yield* tokenOf("stale"), { ifVersion: read.version })))
          assert.strictEqual(stale._tag, "StoreConflict")
          assert.strictEqual(access(yield* b.get(key, { fresh: true })), "second")
          // Removed after it was read: a conditional write cannot bring it back.
          const before = Option.getOrThrow(yield* b.get(key, { fresh: true })).version
          yield* a.remove(key)
          assert.strictEqual(
            failure(yield* Effect.exit(b.set(key, yield* tokenOf("back"), { ifVersion: before })))._tag,
            "StoreConflict",
          )
          assert.isTrue(Option.isNone(yield* b.get(key, { fresh: true })))
          assert.strictEqual(failure(yield* Effect.exit(b.remove(other, { ifVersion: 3 })))._tag, "StoreConflict")
        }),
      ),
    )

    it.effect("a lease is exclusive across handles, and the next holder gets a greater fence", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          const first = yield* Effect.scoped(
            Effect.gen(function* () {
              const lease = yield* a.acquire(key)
              const refused = failure(yield* Effect.exit(Effect.scoped(b.acquire(key, { wait: 0 }))))
              assert.strictEqual(refused.reason, "locked")
              assert.include(refused.message, String(process.pid))
              // Other accounts are not held up.
              yield* Effect.scoped(b.acquire(other, { wait: 0 }))
              return lease
            }),
          )
          const second = yield* Effect.scoped(b.acquire(key, { wait: 0 }))
          assert.isAbove(second.fence, first.fence)
        }),
      ),
    )

    it.effect("a wait for a lease ends as soon as the waiter is interrupted (a timeout, a cancelled call)", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* a.acquire(key)
              // The same handle waits in this process; another one at the store.
              const stillWaiting: Array<string> = []
              for (const [who, waiter] of [
                ["the holder's handle", a],
                ["another handle", b],
              ] as const) {
                const waiting = yield* Effect.fork(Effect.scoped(waiter.acquire(key, { wait: "90 seconds" })))
                yield* advance(1_000)
                const interrupting = yield* Effect.fork(Fiber.interrupt(waiting))
                yield* advance(1_000)
                if (Option.isNone(yield* Fiber.poll(interrupting))) stillWaiting.push(who)
              }
              assert.deepStrictEqual(stillWaiting, [])
            }),
          )
        }),
      ),
    )

    it.effect("a held lease is renewed while its holder works, however long", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* a.acquire(key, { ttl: "3 seconds" })
              yield* advance(10_000)
              assert.strictEqual(
                failure(yield* Effect.exit(Effect.scoped(b.acquire(key, { wait: 0 })))).reason,
                "locked",
              )
            }),
          )
          yield* Effect.scoped(b.acquire(key, { wait: 0 }))
        }),
      ),
    )

    it.effect(
      "a lease whose holder stopped renewing is taken over after it expires, and the old holder is fenced",
      () =>
        withStore((fixture) =>
          Effect.gen(function* () {
            const frozen = yield* fixture.open({ identity: { pid: 1, host: "another-host" } })
            const b = yield* fixture.open()
            yield* b.set(key, yield* tokenOf("before"))
            // Taken through the backend's own step, without the renewal a live holder runs.
            const now = yield* TestClock.currentTimeMillis
            const holder = { owner: "frozen-holder", pid: 1, host: "another-host" }
            const ttl = fixture.serverClock === true ? 1_000 : 5_000
            const taken = yield* frozen.leaseBackend.tryAcquire("hyperid/default", holder, ttl, now, undefined)
            assert.strictEqual(taken._tag, "Acquired")
            const stale = { key, owner: holder.owner, fence: taken._tag === "Acquired" ? taken.fence : 0 }
            const early = failure(yield* Effect.exit(Effect.scoped(b.acquire(key, { wait: 0 }))))
            assert.include(early.message, "another-host")
            yield* advance(6_000)
            // Redis's clock, not the TestClock, has to pass the lease's expiry.
            if (fixture.serverClock === true)
              yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_100)))
            yield* Effect.scoped(
              Effect.gen(function* () {
                const lease = yield* b.acquire(key, { wait: 0 })
                assert.isAbove(lease.fence, stale.fence)
                yield* b.set(key, yield* tokenOf("new holder"), { lease })
              }),
            )
            const fenced = failure(yield* Effect.exit(frozen.set(key, yield* tokenOf("late"), { lease: stale })))
            assert.strictEqual(fenced._tag, "StoreConflict")
            assert.strictEqual(failure(yield* Effect.exit(frozen.remove(key, { lease: stale })))._tag, "StoreConflict")
            assert.strictEqual(access(yield* b.get(key, { fresh: true })), "new holder")
          }),
        ),
    )

    it.effect("a lease held by a process of this host that has died is taken over at once", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const crashed = yield* fixture.open()
          const b = yield* fixture.open()
          const now = yield* TestClock.currentTimeMillis
          const dead = { owner: "crashed-holder", pid: deadPid(), host: thisProcess().host }
          yield* crashed.leaseBackend.tryAcquire("hyperid/default", dead, 60_000, now, undefined)
          const lease = yield* Effect.scoped(b.acquire(key, { wait: 0 }))
          assert.isAbove(lease.fence, 0)
        }),
      ),
    )

    it.effect("only its owner releases a lease", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          yield* Effect.scoped(
            Effect.gen(function* () {
              const lease = yield* a.acquire(key)
              yield* b.leaseBackend.release({ key: "hyperid/default", owner: "someone else", fence: lease.fence })
              assert.strictEqual(
                failure(yield* Effect.exit(Effect.scoped(b.acquire(key, { wait: 0 })))).reason,
                "locked",
              )
              yield* a.set(key, yield* tokenOf("still mine"), { lease })
            }),
          )
        }),
      ),
    )

    /** Takes a lease of `ttl`, writes under it, lets `holdFor` ms pass, and checks it is still held, then taken again higher. */
    const heldForItsTtl = (ttl: Duration.DurationInput, holdFor: number) =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          const first = yield* Effect.scoped(
            Effect.gen(function* () {
              const lease = yield* a.acquire(key, { ttl, wait: 0 })
              yield* a.set(key, yield* tokenOf("taken"), { lease })
              yield* advance(holdFor)
              assert.strictEqual(
                failure(yield* Effect.exit(Effect.scoped(b.acquire(key, { wait: 0 })))).reason,
                "locked",
              )
              yield* a.set(key, yield* tokenOf("still mine"), { lease })
              return lease.fence
            }),
          )
          const next = yield* Effect.scoped(b.acquire(key, { wait: 0 }))
          assert.isAbove(next.fence, first)
        }),
      )

    it.effect("a lease of a ttl that is no whole number of milliseconds is taken, renewed, released and fences", () =>
      // Past the ttl: renewed meanwhile.
      heldForItsTtl("1500.5 millis", 2_000),
    )

    it.effect("a lease of an infinite ttl is held until released, then taken again with a higher fence", () =>
      heldForItsTtl(Duration.infinity, 20_000),
    )

    it.effect("pending-login records: versioned, conditional, leased, and seen by every handle", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const a = yield* fixture.open()
          const b = yield* fixture.open()
          const record = { state: "st-1", verifier: "pkce-VERIFIER-789", expiresAt: "2026-12-01T00:10:00.000Z" }
          const first = yield* a.logins.set("login_abc", record, { ifVersion: 0 })
          assert.strictEqual(first.version, 1)
          // Accounts and records do not mix.
          yield* a.set(key, yield* tokenOf("at"))
          assert.strictEqual((yield* b.logins.list).length, 1)
          const seen = Option.getOrThrow(yield* b.logins.get("login_abc", { fresh: true }))
          assert.deepStrictEqual(seen.value, record)
          const stale = failure(
            yield* Effect.exit(b.logins.set("login_abc", { ...record, state: "x" }, { ifVersion: 0 })),
          )
          assert.strictEqual(stale._tag, "StoreConflict")
          yield* Effect.scoped(
            Effect.gen(function* () {
              const lease = yield* a.logins.acquire("login_abc")
              assert.strictEqual(
                failure(yield* Effect.exit(Effect.scoped(b.logins.acquire("login_abc", { wait: 0 })))).reason,
                "locked",
              )
              // The account's lease is another lease.
              yield* Effect.scoped(b.acquire(key, { wait: 0 }))
              yield* a.logins.set("login_abc", { ...record, state: "st-2" }, { lease, ifVersion: 1 })
            }),
          )
          assert.isTrue(yield* b.logins.remove("login_abc"))
          assert.isTrue(Option.isNone(yield* a.logins.get("login_abc", { fresh: true })))
          assert.strictEqual(Redacted.value(Option.getOrThrow(yield* a.get(key)).token.accessToken), "at")
          if (fixture.encrypted) {
            yield* a.logins.set("login_def", record)
            assert.notInclude(yield* fixture.raw, "VERIFIER")
          }
        }),
      ),
    )

    // Redis only: the file backend forgets at once (TokenStore.test.ts), the memory one with its process.
    if (name === "redis")
      it.effect("a finished login keeps nothing for good; a logged-in account does", () =>
        withStore((fixture) =>
          Effect.gen(function* () {
            const store = yield* fixture.open()
            yield* store.set(key, yield* tokenOf("at"))
            // A login that came and went, its lease taken and released, as an MCP login does.
            yield* store.logins.set("login_gone", { state: "st-1" })
            yield* Effect.scoped(store.logins.acquire("login_gone"))
            yield* store.logins.remove("login_gone")
            // A lease lasts while held (no eviction policy may take it then), and expires once let go.
            yield* Effect.scoped(
              Effect.zipRight(
                store.logins.acquire("login_polled"),
                Effect.flatMap(fixture.lasting ?? Effect.succeed([]), (lasting) =>
                  Effect.sync(() =>
                    assert.deepStrictEqual(
                      [...lasting].sort(),
                      fixture.lasting === undefined
                        ? []
                        : ["account:hyperid/default", "accounts", "lease:login:login_polled", "meta"],
                    ),
                  ),
                ),
              ),
            )
            assert.deepStrictEqual([...(yield* fixture.lasting ?? Effect.succeed([]))].sort(), [
              "account:hyperid/default",
              "accounts",
              "meta",
            ])
          }),
        ),
      )

    it.effect.skipIf(name === "memory")("with a key, nothing at rest holds a raw token", () =>
      withStore((fixture) =>
        Effect.gen(function* () {
          const store = yield* fixture.open()
          yield* store.set(key, yield* tokenOf("at-PLAINTEXT-123", "rt-PLAINTEXT-456"))
          yield* Effect.scoped(store.acquire(key))
          const raw = yield* fixture.raw
          assert.isAbove(raw.length, 0)
          assert.notInclude(raw, "PLAINTEXT")
          assert.include(raw, "aes-256-gcm")
          assert.strictEqual(access(yield* (yield* fixture.open()).get(key)), "at-PLAINTEXT-123")
        }),
      ),
    )

    it.effect.skipIf(name === "memory")(
      "a replica without the key that opened the store before the keyed ones never writes plaintext into it",
      () =>
        withStore((fixture) =>
          Effect.gen(function* () {
            // Both replicas start on an empty store; the one without a key opens it first.
            const plain = yield* fixture.open({ plain: true })
            const keyed = yield* fixture.open()
            yield* keyed.set(other, yield* tokenOf("at-keyed"))
            const before = yield* fixture.raw
            const record = { state: "st-1", verifier: "pkce-VERIFIER-789" }
            for (const attempt of [
              Effect.asVoid(plain.set(key, yield* tokenOf("at-PLAINTEXT-123", "rt-PLAINTEXT-456"))),
              Effect.asVoid(plain.remove(other)),
              Effect.asVoid(plain.logins.set("login_abc", record)),
            ]) {
              const refused = failure(yield* Effect.exit(attempt))
              assert.strictEqual(refused._tag, "TokenStoreError")
              assert.strictEqual((refused as TokenStoreError).reason, "key_required")
              assert.include(refused.message, "HYPERAUTH_STORE_KEY")
            }
            const after = yield* fixture.raw
            assert.notInclude(after, "PLAINTEXT")
            assert.notInclude(after, "VERIFIER")
            assert.strictEqual(after, before)
            assert.strictEqual(access(yield* keyed.get(other, { fresh: true })), "at-keyed")
          }),
        ),
    )

    it.effect.skipIf(name === "memory")(
      "a wrong key, damaged data or a planted plaintext record is a clear error and changes nothing",
      () =>
        withStore((fixture) =>
          Effect.gen(function* () {
            const store = yield* fixture.open()
            const token = yield* tokenOf("at")
            yield* store.set(key, token)
            const before = yield* fixture.raw
            // Another key, or none: refused at open or at the first use, and nothing is written,
            // not even an account the store does not have yet.
            for (const other of [{ key: "wrong" }, { key: undefined, plain: true }] as const) {
              const error = yield* Effect.flip(
                Effect.flatMap(fixture.open(other), (wrong) =>
                  Effect.zipRight(wrong.set({ provider: "hyperproof", account: "new" }, token), wrong.get(key)),
                ),
              )
              assert.strictEqual(error._tag, "TokenStoreError")
              if (error._tag === "TokenStoreError") {
                assert.strictEqual(error.reason, "plain" in other ? "key_required" : "wrong_key")
              }
              assert.include(error.message, "HYPERAUTH_STORE_KEY")
              assert.notInclude(error.message, "wrong")
              assert.strictEqual(yield* fixture.raw, before)
            }

            yield* fixture.damage ?? Effect.void
            const damaged = yield* fixture.raw
            const reading = failure(yield* Effect.exit((yield* fixture.open()).get(key)))
            assert.strictEqual(reading._tag, "TokenStoreError")
            assert.strictEqual(yield* fixture.raw, damaged)

            if (fixture.plantPlain !== undefined) {
              yield* fixture.plantPlain(yield* tokenOf("forged"))
              const planted = yield* fixture.raw
              const refused = failure(yield* Effect.exit((yield* fixture.open()).get(key)))
              assert.strictEqual(refused._tag, "TokenStoreError")
              assert.strictEqual((refused as TokenStoreError).reason, "unencrypted")
              assert.include(refused.message, "HYPERAUTH_STORE_KEY")
              assert.strictEqual(yield* fixture.raw, planted)
            }
          }),
        ),
    )
  })
}
