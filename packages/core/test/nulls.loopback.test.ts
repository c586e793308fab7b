/**
 * Independent servers write `null` for an optional member they have no value
 * for, arrays included. Every API model reads such a `null` as absent (or,
 * where the model already admits `null`, as `null`), answered over real
 * loopback HTTP by the emulator's fault switchboard, which replaces the
 * route's body: nothing here depends on how the emulator itself answers.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { defaultHyperlineApiKey, defaultHyperlineClient, defaultHyperproofClient } from "@hyperauth/emulator"
import { Cause, Effect, Exit, Redacted } from "effect"
import * as Hyperline from "../src/Hyperline.js"
import * as HyperlineApps from "../src/HyperlineApps.js"
import * as Hyperproof from "../src/Hyperproof.js"
import { useEmulator } from "./support/emulator.js"

const emulator = useEmulator()

const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, FetchHttpClient.layer)

const succeeded = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  return assert.fail(Cause.pretty(exit.cause))
}

const user = {
  id: "usr_1",
  email: null,
  givenName: null,
  surname: null,
  profilePhotoName: null,
  userId: null,
  roleIds: null,
  state: null,
}

describe("null for an absent optional member of an API model", () => {
  it.live("a hyperproof control with null arrays, users and texts is a control", () =>
    live(
      Effect.gen(function* () {
        const body = JSON.stringify({
          id: "ctl_nulls",
          orgId: "org_1",
          controlIdentifier: null,
          name: "Nulls everywhere",
          description: null,
          notes: null,
          domainId: null,
          domainName: null,
          workStatus: null,
          owner: user,
          freshnessPolicy: null,
          freshForDuration: null,
          createdBy: null,
          createdOn: null,
          updatedBy: { ...user, id: "usr_2", roleIds: ["role_admin"] },
          updatedOn: null,
          status: null,
          permissions: null,
        })
        emulator.current.faults.inject({ origin: "hyperproofApi", path: "/v1/controls/ctl_nulls", status: 200, body })
        const hyperproof = yield* Hyperproof.make({
          clientId: defaultHyperproofClient.clientId,
          clientSecret: Redacted.make(defaultHyperproofClient.clientSecret),
          authUrl: emulator.current.origins.hyperproofAccounts,
          apiUrl: emulator.current.origins.hyperproofApi,
        })
        const control = succeeded(yield* Effect.exit(hyperproof.getControl("ctl_nulls")))
        assert.strictEqual(control.name, "Nulls everywhere")
        assert.isUndefined(control.permissions)
        assert.isUndefined(control.owner?.roleIds)
        assert.deepStrictEqual(control.updatedBy?.roleIds, ["role_admin"])
        assert.isNull(control.createdBy)
      }),
    ),
  )

  it.live("a hyperline company with a null name is a company", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyperline",
          path: "/v1/companies",
          status: 200,
          body: '{"data":[{"id":"cmp_1","name":null},{"id":"cmp_2","name":"Globex"}],"meta":null}',
        })
        const hyperline = yield* Hyperline.make({
          origin: emulator.current.origins.hyperline,
          clientId: defaultHyperlineClient.clientId,
          clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
          redirectUri: "http://127.0.0.1:8976/callback/hyperline",
        })
        const companies = succeeded(
          yield* Effect.exit(hyperline.listCompanies(Redacted.make("at-any-0123456789-the-fault-answers"))),
        )
        assert.deepStrictEqual(
          companies.map((company) => [company.id, company.name]),
          [
            ["cmp_1", undefined],
            ["cmp_2", "Globex"],
          ],
        )
      }),
    ),
  )

  it.live("a hyperline list answer with null data is an empty list", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyperline",
          path: "/v1/companies",
          status: 200,
          body: '{"data":null,"meta":{"total":0}}',
          times: 1,
        })
        const hyperline = yield* Hyperline.make({
          origin: emulator.current.origins.hyperline,
          clientId: defaultHyperlineClient.clientId,
          clientSecret: Redacted.make(defaultHyperlineClient.clientSecret),
          redirectUri: "http://127.0.0.1:8976/callback/hyperline",
        })
        const companies = succeeded(
          yield* Effect.exit(hyperline.listCompanies(Redacted.make("at-any-0123456789-the-fault-answers"))),
        )
        assert.deepStrictEqual(companies, [])
      }),
    ),
  )

  it.live("a hyperline app with null callbacks, client_id, description and logo_uri is an app", () =>
    live(
      Effect.gen(function* () {
        emulator.current.faults.inject({
          origin: "hyperline",
          path: "/v1/apps",
          method: "GET",
          status: 200,
          body: '{"data":[{"id":"app_1","name":"Bot","description":null,"logo_uri":null,"callbacks":null,"client_id":null,"client_secret":null}]}',
        })
        const api = yield* HyperlineApps.make({
          origin: emulator.current.origins.hyperline,
          apiKey: Redacted.make(defaultHyperlineApiKey),
        })
        const [app] = succeeded(yield* Effect.exit(api.list))
        assert.strictEqual(app?.name, "Bot")
        assert.deepStrictEqual(app?.callbacks, [])
        assert.isUndefined(app?.clientId)
        assert.isUndefined(app?.clientSecret)
      }),
    ),
  )
})
