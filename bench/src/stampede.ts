/**
 * A thousand callers asking for the token of one login the moment it has
 * expired: how many refresh requests reach the provider, and how long the
 * crowd waits compared with a lone caller. Once with the in-memory store,
 * once with the encrypted file store the MCP server uses (lock file, fsync),
 * against an ideal single flight measured in the same run: one refresh
 * request to the same emulator, the other callers waiting on one `Deferred`.
 */
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Accounts, HyperId, Settings, Token, TokenStore } from "@hyperauth/core"
import { defaultHyperIdClient } from "@hyperauth/emulator"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type { RemoteEmulator } from "./emulator.js"
import * as Http from "./http.js"
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
const crowdOn = async (emulator: RemoteEmulator, store: Layer.Layer<TokenStore.TokenStore>) => {
  const runtime = ManagedRuntime.make(Layer.merge(Http.layer, store))
  const accounts = await runtime.runPromise(
    Effect.gen(function* () {
      const hyperid = yield* HyperId.make({
        origin: emulator.origins.hyperid,
        clientId: defaultHyperIdClient.clientId,
        clientSecret: Redacted.make(defaultHyperIdClient.clientSecret),
        redirectUri: Settings.loopbackRedirectUri("hyperid", Settings.defaultCallbackPort),
      })
      const started = yield* hyperid.provider.startLogin({})
      if (started._tag !== "RedirectPending") return yield* Effect.dieMessage("hyperid logs in by redirect")
      const redirect = yield* Effect.promise(() => emulator.authorizeHyperId(started.authorizationUrl))
      const token = yield* started.complete(redirect)
      const accounts = yield* Accounts.make(() => Effect.succeed(hyperid.provider))
      yield* accounts.save(key, token)
      return accounts
    }),
  )
  const refreshes = () => emulator.count({ origin: "hyperid", path: `${HyperId.realmPath}/token` })
  const tokenUrl = `${emulator.origins.hyperid}${HyperId.realmPath}/token`

  /** Expires the stored access token (its refresh token stays good), then lets `count` callers at it. */
  const crowd = async (count: number): Promise<Trial> => {
    await runtime.runPromise(
      Effect.flatMap(accounts.get(key), (current) =>
        accounts.save(key, new Token.TokenSet({ ...current, expiresAt: DateTime.unsafeMake(Date.now() - 1_000) })),
      ),
    )
    const before = await refreshes()
    const wall = await time(() =>
      runtime.runPromise(
        Effect.all(
          Array.from({ length: count }, () => accounts.accessToken(key)),
          { concurrency: "unbounded" },
        ),
      ),
    )
    return { wall, requests: (await refreshes()) - before }
  }

  /**
   * The floor for `count` callers: one refresh request with plain `fetch`,
   * its answer read and parsed, the other `count - 1` waiting on one
   * `Deferred` it completes. No store, no lease, no decoding.
   */
  const ideal = async (count: number): Promise<Trial> => {
    const { refreshToken } = await runtime.runPromise(accounts.get(key))
    if (refreshToken === undefined) throw new Error("the hyperid login has no refresh token")
    const body = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: Redacted.value(refreshToken),
      client_id: defaultHyperIdClient.clientId,
      client_secret: defaultHyperIdClient.clientSecret,
    })
    const before = await refreshes()
    const wall = await time(() =>
      runtime.runPromise(
        Effect.gen(function* () {
          const answer = yield* Deferred.make<unknown>()
          const refresh = Effect.promise(async () => (await fetch(tokenUrl, { method: "POST", body })).json()).pipe(
            Effect.flatMap((json) => Deferred.succeed(answer, json)),
          )
          const waiters = Array.from({ length: count - 1 }, () => Deferred.await(answer))
          yield* Effect.all([refresh, ...waiters], { concurrency: "unbounded" })
        }),
      ),
    )
    return { wall, requests: (await refreshes()) - before }
  }
  return { crowd, ideal, dispose: () => runtime.dispose() }
}

export const stampede = async (emulator: RemoteEmulator, { trials }: Scale): Promise<Section> => {
  const directory = await mkdtemp(join(tmpdir(), "hyperauth-bench-"))
  const stores = {
    "memory store": TokenStore.layerMemory,
    "encrypted file store": Layer.succeed(
      TokenStore.TokenStore,
      TokenStore.makeFile({ path: join(directory, "tokens.json"), key: Redacted.make("bench store key") }),
    ),
  }
  const cases = []
  for (const [name, store] of Object.entries(stores)) {
    cases.push({ name, ...(await crowdOn(emulator, store)), lone: [] as Array<Trial>, many: [] as Array<Trial> })
  }
  // The ideal needs no store: its samples, taken beside each store's crowd, make one reference for both.
  const ideals: Array<Trial> = []
  for (let warmup = 0; warmup < 3; warmup++) {
    for (const { crowd, ideal } of cases) {
      await crowd(1)
      await ideal(callers)
      await crowd(callers)
    }
  }
  // Every trial takes each store's three cases in turn, so that a slow moment falls on all of them alike.
  for (let trial = 0; trial < trials; trial++) {
    for (const { crowd, ideal, lone, many } of cases) {
      lone.push(await crowd(1))
      ideals.push(await ideal(callers))
      many.push(await crowd(callers))
    }
  }
  for (const { dispose } of cases) await dispose()

  const idealWall = median(ideals.map((t) => t.wall))
  const requests = (of: ReadonlyArray<Trial>) => String(Math.max(...of.map((t) => t.requests)))
  const rows: Array<Array<string>> = [
    [
      `ideal single flight, ${callers} callers (reference, beside both stores)`,
      requests(ideals),
      ms(idealWall),
      "",
      "1.00×",
    ],
  ]
  const walls = cases.map(({ name, lone, many }) => {
    const loneWall = median(lone.map((t) => t.wall))
    const manyWall = median(many.map((t) => t.wall))
    rows.push(
      [`${name}: one lone caller`, requests(lone), ms(loneWall), "1.00×", ""],
      [
        `${name}: ${callers} concurrent callers`,
        requests(many),
        ms(manyWall),
        ratio(manyWall, loneWall),
        ratio(manyWall, idealWall),
      ],
    )
    return { store: name, crowd: manyWall }
  })
  return {
    title: "1,000 concurrent callers on an expired token",
    method: [
      `hyperid login whose access token has just expired (the emulator in its own process); ${callers} concurrent \`Accounts.accessToken\` calls,`,
      `against one lone call and against an ideal single flight of ${callers} callers in the same run: one refresh request with plain \`fetch\` to the same token endpoint,`,
      `its JSON parsed, and ${callers - 1} fibers waiting on one \`Deferred\` it completes (no store, no lease, no decoding).`,
      `3 rounds of warm-up, then ${trials} trials; each trial takes the lone caller, the ideal single flight and the ${callers} callers in turn for each store.`,
      "The ideal does not depend on the store, so its samples from beside both stores make one reference (measured per store, the same procedure differed by up to 30% between the two within a run).",
      "Median wall time in ms, against the lone caller and against the ideal single flight.",
    ].join(" "),
    header: ["case", "refresh requests sent", "wall ms (median)", "ratio to one caller", "ratio to ideal"],
    rows,
    checks: [
      {
        what: `${callers} callers sent exactly 1 refresh request in every trial`,
        ok: cases.every(({ many }) => many.every((t) => t.requests === 1)),
      },
      {
        what: "the ideal single flight sent exactly 1 refresh request in every trial",
        ok: ideals.every((t) => t.requests === 1),
      },
    ],
    targets: walls.map(({ store, crowd }) => ({
      what: `${store}: ${callers} callers' wall ≤ 1.25× the ideal single flight: ${ratio(crowd, idealWall)}`,
      ok: crowd <= 1.25 * idealWall,
    })),
  }
}
