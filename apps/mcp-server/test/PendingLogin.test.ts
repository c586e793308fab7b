/**
 * A pending login record written by an earlier version has no `scope`
 * member; what was asked for is still in its `request` (the JSON the login
 * tool wrote, `{ scope, options }`), and a process that takes the login over
 * after an upgrade reads the scope from there, so that it passes it on when
 * it polls or redeems as the process that started the login would have.
 */
import { assert, describe, it } from "@effect/vitest"
import { TokenStore } from "@hyperauth/core"
import { DateTime, Duration, Effect, Option } from "effect"
import * as PendingLogin from "../src/PendingLogin.js"

/** A record as the previous version wrote it: no `scope`. */
const oldRecord = (id: string, request: string) =>
  Effect.map(DateTime.now, (now) => ({
    id,
    provider: "hyper",
    account: "default",
    request,
    flow: "device_code",
    deviceCode: "device-code",
    interval: 5000,
    userCode: "BCDF-GHJK",
    verificationUri: "https://hyper.example/device",
    expiresAt: DateTime.formatIso(DateTime.addDuration(now, Duration.minutes(10))),
  }))

/** The scope of `record` once written to a store and read back as a pending login. */
const scopeRead = (record: Record<string, unknown> & { readonly id: string }) =>
  Effect.gen(function* () {
    const store = yield* TokenStore.makeMemory
    yield* store.logins.set(record.id, record)
    const entry = yield* PendingLogin.store(store.logins).get(record.id)
    assert.isTrue(Option.isSome(entry), "the record is read")
    return Option.getOrThrow(entry).login.scope
  })

describe("the scope of a pending login recorded by an earlier version", () => {
  it.effect("is read from the record's request when the record has no scope", () =>
    Effect.gen(function* () {
      const record = yield* oldRecord("login_old", JSON.stringify({ scope: "read write", options: { a: 1 } }))
      assert.strictEqual(yield* scopeRead(record), "read write")
    }),
  )

  it.effect("is none when the request asked for none, or a blank one (which the core leaves out)", () =>
    Effect.gen(function* () {
      for (const request of ["{}", JSON.stringify({ options: {} }), JSON.stringify({ scope: "  " })]) {
        assert.isUndefined(yield* scopeRead(yield* oldRecord("login_old", request)), request)
      }
    }),
  )

  it.effect("is none when the request is not the JSON of one, and the record is still read", () =>
    Effect.gen(function* () {
      for (const request of ["not json", "[]", '"read"', JSON.stringify({ scope: 5 }), "null"]) {
        assert.isUndefined(yield* scopeRead(yield* oldRecord("login_old", request)), request)
      }
    }),
  )

  it.effect("is the record's own scope when it has one, whatever its request says", () =>
    Effect.gen(function* () {
      const record = { ...(yield* oldRecord("login_new", JSON.stringify({ scope: "read write" }))), scope: "read" }
      assert.strictEqual(yield* scopeRead(record), "read")
    }),
  )
})
