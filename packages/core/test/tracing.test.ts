/** Spans only under an installed tracer: the rule every provider operation and the pipeline share. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import { traced } from "../src/internal/tracing.js"

const spanName = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.map((span) => span.name),
)

/** The native tracer, with the names and attributes of the spans it is asked for. */
const recording = (started: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }>) =>
  Effect.map(Effect.tracer, (native) =>
    Tracer.make({
      span: (name, ...rest) => {
        const span = native.span(name, ...rest)
        started.push({ name, attributes: span.attributes })
        return span
      },
      context: native.context,
    }),
  )

describe("traced", () => {
  it.effect("opens no span under the native tracer, and never builds the span's options", () =>
    Effect.gen(function* () {
      let built = 0
      const name = yield* traced(spanName, "test.op", () => {
        built++
        return { attributes: { a: 1 } }
      })
      assert.isTrue(Option.isNone(name))
      assert.strictEqual(built, 0)
    }),
  )

  it.effect("opens the span, with its attributes, under an installed tracer", () =>
    Effect.gen(function* () {
      const started: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const tracer = yield* recording(started)
      const name = yield* spanName.pipe(
        traced("test.op", () => ({ attributes: { provider: "test" } })),
        Effect.withTracer(tracer),
      )
      assert.deepStrictEqual(name, Option.some("test.op"))
      assert.deepStrictEqual(
        started.map((s) => s.name),
        ["test.op"],
      )
      assert.strictEqual(started[0]?.attributes.get("provider"), "test")
    }),
  )
})
