import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Option, Redacted, Schema, TestClock } from "effect"
import * as FileStore from "../src/internal/fileStore.js"
import { thisProcess } from "../src/internal/leases.js"
import { TokenResponse } from "../src/internal/wire.js"
import * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"

const tempDir = Effect.promise(() => mkdtemp(join(tmpdir(), "hyperauth-store-")))
/** The file store at `path` locked by a process that runs (this one, under another owner). */
const lockedByLiveProcess = (path: string) =>
  Effect.promise(() =>
    writeFile(
      `${path}.lock`,
      JSON.stringify({ owner: "alive", pid: process.pid, host: thisProcess().host, at: Date.now() }),
    ),
  )
const tokenOf = (access: string, refresh?: string) =>
  Effect.flatMap(
    Schema.decodeUnknown(TokenResponse)({ access_token: access, refresh_token: refresh, expires_in: 3600 }),
    (response) => Token.fromResponse(response),
  )
const key = { provider: "hyperid", account: "default" }
const key2 = { provider: "hyperline", account: "work" }

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  return assert.fail("expected a typed failure")
}

describe("TokenStore (memory)", () => {
  it.effect("sets, gets, lists and removes", () =>
    Effect.gen(function* () {
      const store = yield* TokenStore.makeMemory
      yield* store.set(key, yield* tokenOf("a1"))
      yield* store.set(key2, yield* tokenOf("a2"))
      const got = yield* store.get(key)
      assert.strictEqual(Option.map(got, (e) => Redacted.value(e.token.accessToken)).pipe(Option.getOrNull), "a1")
      assert.deepStrictEqual((yield* store.list).map((e) => `${e.provider}/${e.account}`).sort(), [
        "hyperid/default",
        "hyperline/work",
      ])
      assert.isTrue(yield* store.remove(key))
      assert.isFalse(yield* store.remove(key))
      assert.isTrue(Option.isNone(yield* store.get(key)))
    }),
  )
})

describe("TokenStore (file)", () => {
  it.live("round-trips token sets through the file", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "hyperauth", "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("at-1", "rt-1"))
      const reread = yield* TokenStore.makeFile({ path }).get(key)
      assert.isTrue(Option.isSome(reread))
      if (Option.isSome(reread)) {
        assert.strictEqual(Redacted.value(reread.value.token.accessToken), "at-1")
        assert.strictEqual(reread.value.token.refreshToken && Redacted.value(reread.value.token.refreshToken), "rt-1")
      }
    }),
  )

  it.live("creates the file with mode 0600 in a directory with mode 0700", () =>
    Effect.gen(function* () {
      const dir = join(yield* tempDir, "hyperauth")
      const path = join(dir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("at"))
      assert.strictEqual((yield* Effect.promise(() => stat(path))).mode & 0o777, 0o600)
      assert.strictEqual((yield* Effect.promise(() => stat(dir))).mode & 0o777, 0o700)
    }),
  )

  it.live("a write interrupted before the rename leaves the old document readable and no temporary file", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("old"))
      const before = yield* Effect.promise(() => readFile(path, "utf8"))
      const crashing = FileStore.make(path, undefined, { beforeRename: Effect.die("power cut") })
      const exit = yield* Effect.exit(crashing.set(key, yield* tokenOf("new")))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* Effect.promise(() => readFile(path, "utf8")), before)
      const reread = yield* TokenStore.makeFile({ path }).get(key)
      assert.strictEqual(Option.getOrThrow(reread).token.accessToken.pipe(Redacted.value), "old")
      assert.deepStrictEqual(yield* Effect.promise(() => readdir(dir)), ["tokens.json"])
    }),
  )

  it.live("with a key, the file holds no raw token bytes and a fresh nonce per write", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      const store = TokenStore.makeFile({ path, key: Redacted.make("correct horse battery staple") })
      yield* store.set(key, yield* tokenOf("at-PLAINTEXT-123", "rt-PLAINTEXT-456"))
      const first = yield* Effect.promise(() => readFile(path, "utf8"))
      assert.notInclude(first, "PLAINTEXT")
      assert.notInclude(first, "hyperid/default")
      assert.include(first, "aes-256-gcm")
      yield* store.set(key, yield* tokenOf("at-PLAINTEXT-123", "rt-PLAINTEXT-456"))
      const second = yield* Effect.promise(() => readFile(path, "utf8"))
      const nonce = (text: string) => (JSON.parse(text) as { cipher: { nonce: string } }).cipher.nonce
      assert.notStrictEqual(nonce(first), nonce(second))
      const reread = yield* store.get(key)
      assert.strictEqual(Option.getOrThrow(reread).token.accessToken.pipe(Redacted.value), "at-PLAINTEXT-123")
    }),
  )

  it.live("a wrong key or no key is a clear error, and the file is left unchanged", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      yield* TokenStore.makeFile({ path, key: Redacted.make("right") }).set(key, yield* tokenOf("at"))
      const before = yield* Effect.promise(() => readFile(path, "utf8"))
      const wrong = TokenStore.makeFile({ path, key: Redacted.make("wrong") })
      const error = failure(yield* Effect.exit(wrong.get(key)))
      assert.strictEqual(error.reason, "wrong_key")
      assert.include(error.message, path)
      assert.include(error.message, "HYPERAUTH_STORE_KEY")
      assert.notInclude(error.message, "wrong")
      assert.strictEqual(failure(yield* Effect.exit(wrong.set(key2, yield* tokenOf("x")))).reason, "wrong_key")
      assert.strictEqual(failure(yield* Effect.exit(TokenStore.makeFile({ path }).get(key))).reason, "key_required")
      assert.strictEqual(yield* Effect.promise(() => readFile(path, "utf8")), before)
    }),
  )

  it.live("a truncated or corrupted file is a clear error, and is never overwritten", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("at"))
      const full = yield* Effect.promise(() => readFile(path, "utf8"))
      for (const damaged of [full.slice(0, full.length / 2), "garbage", '{"format":"hyperauth-token-store"}']) {
        yield* Effect.promise(() => writeFile(path, damaged))
        const store = TokenStore.makeFile({ path })
        const error = failure(yield* Effect.exit(store.get(key)))
        assert.strictEqual(error.reason, "corrupted")
        assert.include(error.message, path)
        assert.isTrue(Exit.isFailure(yield* Effect.exit(store.set(key2, yield* tokenOf("x")))))
        assert.strictEqual(yield* Effect.promise(() => readFile(path, "utf8")), damaged)
      }
    }),
  )

  it.live("a file from a newer format version is refused and kept", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      const newer = JSON.stringify({ format: "hyperauth-token-store", version: 3, revision: 1, shards: [] })
      yield* Effect.promise(() => writeFile(path, newer))
      const store = TokenStore.makeFile({ path })
      const error = failure(yield* Effect.exit(store.set(key, yield* tokenOf("x"))))
      assert.strictEqual(error.reason, "newer_version")
      assert.include(error.message, "newer hyperauth")
      assert.strictEqual(yield* Effect.promise(() => readFile(path, "utf8")), newer)
    }),
  )

  it.live("a fresh read, and any read after another process's write, never joins a read that began before it", () =>
    Effect.gen(function* () {
      // The next read, once armed, stops after reading the file until released.
      let armed = false
      const reading = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const afterRead = Effect.suspend(() => {
        if (!armed) return Effect.void
        armed = false
        return Effect.zipRight(Deferred.succeed(reading, undefined), Deferred.await(release))
      })
      const path = join(yield* tempDir, "tokens.json")
      const reader = FileStore.make(path, Redacted.make("k"), { afterRead })
      // Another process writing the same file.
      const writer = TokenStore.makeFile({ path, key: Redacted.make("k") })
      const access = (entry: Option.Option<TokenStore.Entry>) =>
        Option.map(entry, (e) => Redacted.value(e.token.accessToken)).pipe(Option.getOrNull)
      yield* writer.set(key, yield* tokenOf("old"))

      armed = true
      const early = yield* Effect.fork(reader.get(key))
      yield* Deferred.await(reading)
      const joining = yield* Effect.fork(reader.get(key))
      yield* Effect.yieldNow()
      yield* writer.set(key, yield* tokenOf("new"))
      const fresh = yield* reader.get(key, { fresh: true })
      const late = yield* Effect.fork(reader.get(key))
      yield* Deferred.succeed(release, undefined)

      assert.strictEqual(access(yield* Fiber.join(early)), "old")
      assert.strictEqual(access(yield* Fiber.join(joining)), "old")
      assert.strictEqual(access(fresh), "new")
      assert.strictEqual(access(yield* Fiber.join(late)), "new")
    }),
  )

  it.live("two writers sharing the file lose no update", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      // Two store instances stand for two processes: each has its own
      // in-process mutex, so only the lock file orders them.
      const a = TokenStore.makeFile({ path })
      const b = TokenStore.makeFile({ path })
      const token = yield* tokenOf("at")
      yield* Effect.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a : b).set({ provider: "hyperproof", account: `acct-${i}` }, token),
        ),
        { concurrency: "unbounded" },
      )
      assert.strictEqual((yield* a.list).length, 40)
      const revision = (JSON.parse(yield* Effect.promise(() => readFile(path, "utf8"))) as { revision: number })
        .revision
      assert.strictEqual(revision, 40)
    }),
  )

  it.live("layerConfig honours HYPERAUTH_STORE=memory, HYPERAUTH_STORE paths and the XDG default", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "custom.json")
      const viaConfig = (env: Record<string, string>) =>
        Effect.provide(TokenStore.TokenStore, TokenStore.layerConfig).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
        )
      const memory = yield* viaConfig({ HYPERAUTH_STORE: "memory" })
      yield* memory.set(key, yield* tokenOf("m"))
      const file = yield* viaConfig({ HYPERAUTH_STORE: path })
      yield* file.set(key, yield* tokenOf("f"))
      assert.include(yield* Effect.promise(() => readFile(path, "utf8")), "hyperid/default")
      // Unset, it is $XDG_CONFIG_HOME/hyperauth/tokens.json.
      const xdg = yield* tempDir
      const byDefault = yield* viaConfig({ XDG_CONFIG_HOME: xdg })
      yield* byDefault.set(key, yield* tokenOf("d"))
      assert.include(
        yield* Effect.promise(() => readFile(join(xdg, "hyperauth", "tokens.json"), "utf8")),
        "hyperid/default",
      )
    }),
  )

  it.effect("defaultPath: with XDG_CONFIG_HOME unset or empty, the home directory of when it is read", () =>
    Effect.gen(function* () {
      const home = process.env.HOME
      const read = (env: Record<string, string>) =>
        TokenStore.defaultPath.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      try {
        // As a program that sets HOME after importing the core (a test, a sandbox) does.
        process.env.HOME = "/home/set-later"
        assert.strictEqual(yield* read({}), "/home/set-later/.config/hyperauth/tokens.json")
        assert.strictEqual(yield* read({ XDG_CONFIG_HOME: "" }), "/home/set-later/.config/hyperauth/tokens.json")
        assert.strictEqual(yield* read({ XDG_CONFIG_HOME: "/xdg" }), "/xdg/hyperauth/tokens.json")
      } finally {
        process.env.HOME = home
      }
    }),
  )

  it.live(
    "an empty or blank HYPERAUTH_STORE_KEY is a configuration error naming it, not a silent plaintext store",
    () =>
      Effect.gen(function* () {
        const path = join(yield* tempDir, "tokens.json")
        for (const blank of ["", "   "]) {
          const exit = yield* Effect.exit(
            Effect.provide(TokenStore.TokenStore, TokenStore.layerConfig).pipe(
              Effect.withConfigProvider(
                ConfigProvider.fromMap(
                  new Map([
                    ["HYPERAUTH_STORE", path],
                    ["HYPERAUTH_STORE_KEY", blank],
                  ]),
                ),
              ),
            ),
          )
          const error = failure(exit)
          assert.include(String(error), "HYPERAUTH_STORE_KEY")
          assert.include(String(error), "empty", JSON.stringify(blank))
        }
        // Nothing was written with a key of spaces.
        assert.isFalse(existsSync(path))
      }),
  )

  it.live("a tampered revision is refused as damage, and the file is not rewritten into one nobody can read", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("at"))
      const document = JSON.parse(yield* Effect.promise(() => readFile(path, "utf8"))) as Record<string, unknown>
      for (const revision of [Number.MAX_SAFE_INTEGER, 1e308, -1, 1.5, "7"]) {
        const tampered = JSON.stringify({ ...document, revision })
        yield* Effect.promise(() => writeFile(path, tampered))
        const store = TokenStore.makeFile({ path })
        assert.strictEqual(failure(yield* Effect.exit(store.set(key2, yield* tokenOf("x")))).reason, "corrupted")
        assert.strictEqual(yield* Effect.promise(() => readFile(path, "utf8")), tampered)
      }
    }),
  )

  it.live("HYPERAUTH_STORE=redis://… is a Redis store, named without its password", () =>
    Effect.gen(function* () {
      const where = yield* TokenStore.location.pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["HYPERAUTH_STORE", "rediss://app:s3cret@cache.internal:6380/2"]])),
        ),
      )
      assert.strictEqual(where._tag, "Redis")
      const { locationOf } = yield* Effect.promise(() => import("../src/internal/redisStore.js"))
      const shown = locationOf(where._tag === "Redis" ? Redacted.value(where.url) : "")
      assert.strictEqual(shown, "rediss://cache.internal:6380/2")
      assert.notInclude(String(where), "s3cret")
    }),
  )

  it.live("a Redis URL with its secret in the query or fragment is named without them", () =>
    Effect.gen(function* () {
      const { locationOf } = yield* Effect.promise(() => import("../src/internal/redisStore.js"))
      assert.strictEqual(
        locationOf("redis://cache.internal:6379/0?password=hunter2#hunter2"),
        "redis://cache.internal:6379/0",
      )
    }),
  )

  it.live("a mistyped Redis URL or another URL is refused, not taken as a file path, and its secret not quoted", () =>
    Effect.gen(function* () {
      const at = (value: string) =>
        Effect.either(
          TokenStore.location.pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HYPERAUTH_STORE", value]]))),
          ),
        )
      for (const value of [
        " redis://:hunter2@127.0.0.1:6379",
        "redis://:hunter2@127.0.0.1:6379 ",
        "valkey://:hunter2@127.0.0.1:6379",
        "redis:/:hunter2@127.0.0.1:6379",
        "https://user:hunter2@example.com/store",
        '"redis://default:hunter2@127.0.0.1:6379"',
        "'redis://default:hunter2@127.0.0.1:6379'",
        "<redis://default:hunter2@127.0.0.1:6379>",
        "redis//default:hunter2@127.0.0.1:6379/0",
        "redis ://default:hunter2@127.0.0.1:6379",
        "/tmp/x/redis://default:hunter2@127.0.0.1",
      ]) {
        const where = yield* at(value)
        assert.isTrue(where._tag === "Left", `${JSON.stringify(value)} is refused`)
        if (where._tag === "Left") {
          assert.include(String(where.left), "HYPERAUTH_STORE")
          assert.notInclude(String(where.left), "hunter2")
        }
      }
      for (const path of [
        "C:\\Users\\me\\tokens.json",
        "./tokens:backup.json",
        "/var/lib/hyperauth/tokens.json",
        "redis-tokens.json",
        "/home/me@corp/tokens.json",
      ]) {
        const where = yield* at(path)
        assert.deepStrictEqual(where._tag === "Right" ? where.right : where.left, { _tag: "File", path })
      }
    }),
  )

  it.live("a lock and temporary files left by a writer killed with SIGKILL hold up no write, and are cleaned up", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("before"))
      // A writer that died between taking the lock and renaming its temporary file.
      const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
      const dead = Number(child.stdout.toString())
      yield* Effect.promise(() =>
        writeFile(
          `${path}.lock`,
          JSON.stringify({ owner: "killed", pid: dead, host: thisProcess().host, at: Date.now() }),
        ),
      )
      yield* Effect.promise(() => writeFile(`${path}.${dead}.0123456789ab.tmp`, "half a document"))
      yield* Effect.promise(() => writeFile(`${path}.lock.${dead}.0123456789ab.new`, "a lock never linked"))
      const started = Date.now()
      yield* TokenStore.makeFile({ path }).set(key2, yield* tokenOf("after"))
      assert.isBelow(Date.now() - started, 2_000)
      assert.deepStrictEqual((yield* Effect.promise(() => readdir(dir))).sort(), ["tokens.json"])
      assert.strictEqual((yield* TokenStore.makeFile({ path }).list).length, 2)
    }),
  )

  it.live("a lock left by a killed writer whose process id a later process took is taken over at once", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("before"))
      // The pid runs, but started at another time than the writer that wrote the lock.
      const content = { owner: "killed", pid: process.ppid, host: thisProcess().host, started: "1", at: Date.now() }
      yield* Effect.promise(() => writeFile(`${path}.lock`, JSON.stringify(content)))
      // Waited out, the lock would fail this write as locked (the wait is shorter than a lock's staleness).
      yield* TokenStore.makeFile({ path }).set(key2, yield* tokenOf("after"))
      assert.strictEqual((yield* TokenStore.makeFile({ path }).list).length, 2)
    }),
  )

  it.live(
    "a lock file left unreadable (empty, as a power loss may leave it) is taken over once it is older than a lock lasts",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const path = join(dir, "tokens.json")
        yield* TokenStore.makeFile({ path }).set(key, yield* tokenOf("before"))
        yield* Effect.promise(() => writeFile(`${path}.lock`, ""))
        const anHourAgo = new Date(Date.now() - 3_600_000)
        yield* Effect.promise(() => utimes(`${path}.lock`, anHourAgo, anHourAgo))
        yield* TokenStore.makeFile({ path }).set(key2, yield* tokenOf("after"))
        assert.strictEqual((yield* TokenStore.makeFile({ path }).list).length, 2)
        assert.deepStrictEqual((yield* Effect.promise(() => readdir(dir))).sort(), ["tokens.json"])
      }),
  )

  it.live("a lease file left unreadable is taken over once older than a lock lasts, and named while it is not", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      const store = TokenStore.makeFile({ path })
      yield* store.set(key, yield* tokenOf("before"))
      yield* Effect.scoped(store.acquire(key))
      const leases = (yield* Effect.promise(() => readdir(dir))).filter((name) => name.endsWith(".lease"))
      // Released leases may be removed; plant one as a crash would leave it, cut short.
      const lease = join(dir, leases[0] ?? `tokens.json.${"0".repeat(16)}.lease`)
      const plant = (ageMs: number) =>
        Effect.promise(async () => {
          await writeFile(lease, '{"owner":"cut sh')
          const at = new Date(Date.now() - ageMs)
          await utimes(lease, at, at)
        })
      if (leases.length === 0) return assert.fail("expected the store to keep a lease file per account")
      yield* plant(0)
      const young = yield* Effect.flip(Effect.scoped(store.acquire(key)))
      assert.include(young.message, lease)
      assert.notInclude(young.message, "logins in it are lost")
      yield* plant(3_600_000)
      yield* Effect.scoped(store.acquire(key))
      yield* store.set(key, yield* tokenOf("after"))
    }),
  )

  it.effect("sweeps files a dead writer left at the first write, then at most once a minute by the fiber's Clock", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout)
      const plant = (n: number) => Effect.promise(() => writeFile(`${path}.${dead}.00000000000${n}.tmp`, "half"))
      const leftOver = Effect.map(
        Effect.promise(() => readdir(dir)),
        (names) => names.filter((name) => name.endsWith(".tmp")).length,
      )
      const store = TokenStore.makeFile({ path })
      yield* plant(1)
      yield* store.set(key, yield* tokenOf("first"))
      assert.strictEqual(yield* leftOver, 0, "swept at the first write")
      yield* plant(2)
      yield* TestClock.adjust("30 seconds")
      yield* store.set(key, yield* tokenOf("second"))
      assert.strictEqual(yield* leftOver, 1, "not swept again within the minute")
      yield* TestClock.adjust("31 seconds")
      yield* store.set(key, yield* tokenOf("third"))
      assert.strictEqual(yield* leftOver, 0, "swept once the minute has passed on the fiber's Clock")
    }),
  )

  it.live("a removed login leaves no entry in the document, and free lease files of what is gone are swept", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      const leaseFiles = Effect.map(
        Effect.promise(() => readdir(dir)),
        (names) => names.filter((name) => name.endsWith(".lease")).length,
      )
      const store = TokenStore.makeFile({ path })
      // A login that came and went, its lease taken and released: what an MCP login leaves.
      yield* store.logins.set("login_gone", { step: 1 })
      yield* Effect.scoped(store.logins.acquire("login_gone"))
      yield* store.logins.remove("login_gone")
      // A logged-out account whose lease was released.
      const token = yield* tokenOf("x")
      yield* Effect.scoped(Effect.flatMap(store.acquire(key2), (lease) => store.set(key2, token, { lease })))
      yield* store.remove(key2)
      // A logged-in account, and a lease still held on a login not written yet: both stay.
      yield* Effect.scoped(Effect.flatMap(store.acquire(key), (lease) => store.set(key, token, { lease })))
      const holding = yield* Deferred.make<void>()
      const held = yield* Effect.fork(
        Effect.scoped(Effect.zipRight(store.logins.acquire("login_new"), Deferred.await(holding))),
      )
      yield* Effect.yieldNow()
      assert.strictEqual(yield* leaseFiles, 4)
      // The next writer (here another process, whose first write cleans up) sweeps what is gone.
      yield* TokenStore.makeFile({ path }).logins.set("login_other", { step: 1 })
      assert.strictEqual(yield* leaseFiles, 2)
      const document = JSON.parse(yield* Effect.promise(() => readFile(path, "utf8")))
      assert.deepStrictEqual(Object.keys(document.logins), ["login_other"])
      yield* Deferred.succeed(holding, undefined)
      yield* Fiber.join(held)
    }),
  )

  it.live("the sweep keeps a logged-in account's free lease, whatever form its path is given in", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      // Not in normal form: "./", "//" or ".." in it, as a user or an environment variable may give it.
      const path = `${dir}/./tokens.json`
      const store = TokenStore.makeFile({ path })
      const token = yield* tokenOf("x")
      yield* Effect.scoped(Effect.flatMap(store.acquire(key), (lease) => store.set(key, token, { lease })))
      const before = yield* Effect.scoped(store.acquire(key))
      // Another process's first write sweeps.
      yield* TokenStore.makeFile({ path }).set(key2, token)
      const after = yield* Effect.scoped(store.acquire(key))
      // The account's lease file stayed: its next holder's fence is greater, as a fence always is.
      assert.isAbove(after.fence, before.fence)
    }),
  )

  it.live("a damaged lease file holds up no sweep of the others", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = join(dir, "tokens.json")
      const leaseFiles = Effect.map(
        Effect.promise(() => readdir(dir)),
        (names) => names.filter((name) => name.endsWith(".lease")).sort(),
      )
      yield* Effect.promise(() => writeFile(`${path}.0123456789abcdef.lease`, "{not json"))
      const store = TokenStore.makeFile({ path })
      for (let i = 0; i < 10; i++) {
        yield* store.logins.set(`login_${i}`, { step: 1 })
        yield* Effect.scoped(store.logins.acquire(`login_${i}`))
        yield* store.logins.remove(`login_${i}`)
      }
      assert.strictEqual((yield* leaseFiles).length, 11)
      yield* TokenStore.makeFile({ path }).logins.set("login_other", { step: 1 })
      assert.deepStrictEqual(yield* leaseFiles, ["tokens.json.0123456789abcdef.lease"])
    }),
  )

  it.live("a path the file system refuses (under a file) is a TokenStoreError on every read, cached or fresh", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* Effect.promise(() => writeFile(join(dir, "a-file"), "not a directory"))
      const store = TokenStore.makeFile({ path: join(dir, "a-file", "tokens.json") })
      const reads: ReadonlyArray<Effect.Effect<unknown, TokenStore.TokenStoreError>> = [
        store.get(key),
        store.get(key, { fresh: true }),
        store.list,
      ]
      for (const read of reads) {
        const exit = yield* Effect.exit(read)
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", "a typed failure, not a defect")
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail")
          assert.strictEqual(exit.cause.error._tag, "TokenStoreError")
      }
    }),
  )

  it.live("layerFile is the file store, made when the layer is built", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      const layer = TokenStore.layerFile({ path, key: Redacted.make("layer key") })
      yield* Effect.provide(
        Effect.flatMap(TokenStore.TokenStore, (store) => Effect.flatMap(tokenOf("at-layer"), (t) => store.set(key, t))),
        layer,
      )
      const reread = yield* TokenStore.makeFile({ path, key: Redacted.make("layer key") }).get(key)
      assert.strictEqual(
        Option.map(reread, (entry) => Redacted.value(entry.token.accessToken)).pipe(Option.getOrUndefined),
        "at-layer",
      )
    }),
  )

  it.live("a lock held by a live process is not taken, however old it looks", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      // This process, holding it for a minute already: alive, so only the stale time could free it.
      yield* lockedByLiveProcess(path)
      const blocked = yield* Effect.fork(TokenStore.makeFile({ path }).set(key, yield* tokenOf("x")))
      yield* Effect.sleep("300 millis")
      assert.isNull(blocked.unsafePoll())
      yield* Effect.promise(() => rm(`${path}.lock`))
      yield* Fiber.join(blocked)
    }),
  )

  it.live("a write waiting for the lock ends as soon as it is interrupted", () =>
    Effect.gen(function* () {
      const path = join(yield* tempDir, "tokens.json")
      yield* lockedByLiveProcess(path)
      const blocked = yield* Effect.fork(TokenStore.makeFile({ path }).set(key, yield* tokenOf("x")))
      yield* Effect.sleep("100 millis")
      const interrupting = yield* Effect.fork(Fiber.interrupt(blocked))
      yield* Effect.sleep("100 millis")
      const ended = interrupting.unsafePoll() !== null
      yield* Effect.promise(() => rm(`${path}.lock`))
      assert.isTrue(ended, "the write still waited for the lock after it was interrupted")
      // Nothing was written.
      assert.isTrue(Option.isNone(yield* TokenStore.makeFile({ path }).get(key)))
    }),
  )
})
