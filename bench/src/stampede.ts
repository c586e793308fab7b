/**
 * A thousand callers asking for the token of one login the moment it has
 * expired: how many refresh requests reach the provider, and how long the
 * crowd waits compared with a lone caller. Once with the in-memory store,
 * once with the encrypted file store the MCP server uses (lock file, fsync).
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Accounts, HyperId, Token, TokenStore } from "@hyperauth/core"
import { defaultHyperIdClient, type Emulator } from "@hyperauth/emulator"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type { Section } from "./report.js"
import type { Scale } from "./scale.js"
import { median, ms, ratio, time } from "./stats.js"

const key = { provider: "hyperid", account: "bench" }
const callers = 1000

interface Trial {
  readonly wall: number
  readonly requests: number
}

/** Logs in to hyperid with `store`, then returns a crowd of `count` callers on the expired token. */
const crowdOn = async (emulator: Emulator, store: Layer.Layer<TokenStore.TokenStore>) => {
  const runtime = ManagedRuntime.make(Layer.merge(FetchHttpClient.layer, store))
  const accounts = await runtime.runPromise(
    Effect.gen(function* () {
      const hyperid = yield* HyperId.make({
        origin: emulator.origins.hyperid,
        clientId: defaultHyperIdClient.clientId,
        clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
        redirectUri: "http://127.0.0.1:8976/callback/hyperid",
      })
      const started = yield* hyperid.provider.startLogin({})
      if (started._tag !== "RedirectPending") return yield* Effect.dieMessage("hyperid logs in by redirect")
      const token = yield* started.complete(emulator.hyperid.authorize(started.authorizationUrl))
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperid.provider))
      yield* accounts.save(key, token)
      return accounts
    }),
  )
  const refreshes = () => emulator.count({ origin: "hyperid", path: `${HyperId.realmPath}/token` })

  /** Expires the stored access token (its refresh token stays good), then lets `count` callers at it. */
  const crowd = async (count: number): Promise<Trial> => {
    await runtime.runPromise(
      Effect.flatMap(accounts.get(key), (current) =>
        accounts.save(key, new Token.TokenSet({ ...current, expiresAt: DateTime.unsafeMake(Date.now() - 1_000) })),
      ),
    )
    const before = refreshes()
    const wall = await time(() =>
      runtime.runPromise(
        Effect.all(
          Array.from({ length: count }, () => accounts.accessToken(key)),
          { concurrency: "unbounded" },
        ),
      ),
    )
    return { wall, requests: refreshes() - before }
  }
  return { crowd, dispose: () => runtime.dispose() }
}

export const stampede = async (emulator: Emulator, { trials }: Scale): Promise<Section> => {
  const directory = await mkdtemp(join(tmpdir(), "hyperauth-bench-"))
  const stores = {
    "memory store": TokenStore.layerMemory,
    "encrypted file store": Layer.succeed(
      TokenStore.TokenStore,
      TokenStore.makeFile({ path: join(directory, "tokens.json"), key: Redacted.make("bench store key") }),
    ),
  }
  const rows: Array<Array<string>> = []
  const crowds: Array<Trial> = []
  for (const [name, store] of Object.entries(stores)) {
    const { crowd, dispose } = await crowdOn(emulator, store)
    await crowd(1)
    const lone: Array<Trial> = []
    const many: Array<Trial> = []
    for (let trial = 0; trial < trials; trial++) {
      lone.push(await crowd(1))
      many.push(await crowd(callers))
    }
    await dispose()
    crowds.push(...many)
    const loneWall = median(lone.map((t) => t.wall))
    const manyWall = median(many.map((t) => t.wall))
    rows.push(
      [`${name}: one lone caller (reference)`, String(Math.max(...lone.map((t) => t.requests))), ms(loneWall), "1.00×"],
      [
        `${name}: ${callers} concurrent callers`,
        String(Math.max(...many.map((t) => t.requests))),
        ms(manyWall),
        ratio(manyWall, loneWall),
      ],
    )
  }
  return {
    title: "1,000 concurrent callers on an expired token",
    method: `hyperid login whose access token has just expired; ${callers} concurrent \`Accounts.accessToken\` calls against one lone call, ${trials} alternating trials per store, median wall time in ms.`,
    header: ["case", "refresh requests sent", "wall ms (median)", "ratio"],
    rows,
    checks: [
      {
        what: `${callers} callers sent exactly 1 refresh request in every trial`,
        ok: crowds.every((t) => t.requests === 1),
      },
    ],
  }
}
