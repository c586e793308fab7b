/**
 * `defineTool` on its own: an output outside the tool's schema is a bug of
 * this server, a defect, and the defect's message names where, never what:
 * the SDK hands a handler's error message to the client (`-32603`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Schema } from "effect"
import { defineTool, type Services } from "../src/tool.js"

const context = { progress: () => Effect.void, offerUrl: () => Effect.void }

describe("defineTool", () => {
  it.effect("an output its schema refuses dies with the paths that are wrong, quoting no value", () =>
    Effect.gen(function* () {
      const leaky = defineTool({
        name: "leaky",
        title: "Leaky",
        description: "Answers with a token where a number belongs.",
        input: Schema.Struct({}),
        output: Schema.Struct({ expires_in: Schema.Number, scope: Schema.String }),
        annotations: { readOnlyHint: true },
        // A bug: a token where the schema wants a number.
        run: () => Effect.succeed({ expires_in: "at-super-secret-token" as unknown as number, scope: "read" }),
      })
      // The tool asks for no service: an empty context stands for them all.
      const exit = yield* Effect.exit(Effect.provide(leaky.call({}, context), Context.unsafeMake<Services>(new Map())))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), "a defect")
      const shown = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.include(shown, "expires_in")
      assert.notInclude(shown, "at-super-secret-token")
    }),
  )

  it.effect("a tool that takes no arguments refuses one it is given, as every other tool does", () =>
    Effect.gen(function* () {
      const none = defineTool({
        name: "none",
        title: "None",
        description: "Takes nothing.",
        input: Schema.Struct({}),
        output: Schema.Struct({ ok: Schema.Boolean }),
        annotations: { readOnlyHint: true },
        run: () => Effect.succeed({ ok: true }),
      })
      const services = Context.unsafeMake<Services>(new Map())
      const refused = yield* Effect.provide(none.call({ account: "a" }, context), services)
      assert.isTrue(refused.isError)
      assert.include(JSON.stringify(refused.content), "account is not an argument this tool takes")
      const taken = yield* Effect.provide(none.call({}, context), services)
      assert.notStrictEqual(taken.isError, true)
    }),
  )

  it.effect(
    "a record key named __proto__ (which decoding would drop) is refused, not lost; one in an unknown body is kept",
    () =>
      Effect.gen(function* () {
        const seen: Array<unknown> = []
        const echo = defineTool({
          name: "echo",
          title: "Echo",
          description: "Takes a record and a body.",
          input: Schema.Struct({
            query: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
            body: Schema.optional(Schema.Unknown),
          }),
          output: Schema.Struct({ ok: Schema.Boolean }),
          annotations: { readOnlyHint: true },
          run: (input) =>
            Effect.sync(() => {
              seen.push(input)
              return { ok: true }
            }),
        })
        const services = Context.unsafeMake<Services>(new Map())
        // As JSON.parse makes them: an own member named __proto__.
        const refused = yield* Effect.provide(
          echo.call(JSON.parse('{"query":{"a":"1","__proto__":"x"}}'), context),
          services,
        )
        assert.isTrue(refused.isError)
        assert.include(JSON.stringify(refused.content), "query.__proto__")
        assert.strictEqual(seen.length, 0)
        const body = JSON.parse('{"body":{"__proto__":{"polluted":true}}}')
        const taken = yield* Effect.provide(echo.call(body, context), services)
        assert.notStrictEqual(taken.isError, true)
        assert.strictEqual(JSON.stringify(seen[0]), '{"body":{"__proto__":{"polluted":true}}}')
      }),
  )
})
