/**
 * What reading a login from the token store costs when nothing changed
 * since the last read: `TokenStore.get` many times over on the default
 * encrypted file store, next to the same file unencrypted and the memory
 * store.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { Token, TokenStore } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { median } from "./stats.js"

const key = { provider: "hyperproof", account: "bench" }
const rounds = 10

/** µs per `get`: `reads` calls in one fiber, so no `runPromise` is counted. */
const perRead = (store: TokenStore.Service, reads: number) =>
  Effect.gen(function* () {
    const started = performance.now()
    for (let i = 0; i < reads; i++) yield* store.get(key)
    return ((performance.now() - started) * 1000) / reads
  })

export const storeRead = async ({ storeReads }: Scale): Promise<Section> => {
  const directory = await mkdtemp(join(tmpdir(), "hyperauth-bench-store-"))
  const stores = {
    "memory store": await Effect.runPromise(TokenStore.makeMemory),
    "file store, unencrypted": TokenStore.makeFile({ path: join(directory, "plain.json") }),
    "encrypted file store (the default)": TokenStore.makeFile({
      path: join(directory, "sealed.json"),
      key: Redacted.make("bench store key"),
    }),
  }
  const now = await Effect.runPromise(DateTime.now)
  const token = new Token.TokenSet({
    accessToken: Redacted.make("bench-access-token"),
    tokenType: "Bearer",
    receivedAt: now,
    expiresAt: DateTime.add(now, { hours: 1 }),
    refreshToken: Redacted.make("bench-refresh-token"),
  })
  const names = Object.keys(stores) as Array<keyof typeof stores>
  const samples = Object.fromEntries(names.map((name) => [name, [] as Array<number>])) as Record<
    keyof typeof stores,
    Array<number>
  >
  const found: Array<boolean> = []
  for (const name of names) {
    await Effect.runPromise(stores[name].set(key, token))
    found.push((await Effect.runPromise(stores[name].get(key)))._tag === "Some")
    await Effect.runPromise(perRead(stores[name], storeReads))
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of names) samples[name].push(await Effect.runPromise(perRead(stores[name], storeReads / rounds)))
  }
  const us = (value: number) => value.toFixed(value < 10 ? 2 : 1)
  const sealed = median(samples["encrypted file store (the default)"])
  return {
    title: "Token store read, unchanged since the last read",
    method: [
      `One stored login; \`TokenStore.get\` of it ${storeReads} times per store, one after the other in one fiber (after as many to warm up),`,
      `in ${rounds} rounds, the stores taking turns; nothing writes the store meanwhile. Median over rounds of µs per call.`,
    ].join(" "),
    header: ["store", "µs per `get` (median of rounds)"],
    rows: names.map((name) => [name, us(median(samples[name]))]),
    checks: [{ what: "every store returned the login", ok: found.every((ok) => ok) }],
    targets: [
      {
        what: `encrypted file store ≤ 10 µs per read when unchanged: ${us(sealed)} µs`,
        ok: sealed <= 10,
      },
    ],
  }
}
