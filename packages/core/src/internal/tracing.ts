/**
 * Spans only where a tracer records them. Under Effect's native tracer,
 * which keeps nothing, a span is an object, a context change and (by
 * default) a captured stack per call that nobody reads: every provider
 * operation and the pipeline open theirs through `traced`, so the rule is
 * kept in one place.
 */
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Tracer from "effect/Tracer"

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** A span's options, or a function that makes them: attributes cost nothing when nothing records them. */
export type Options = Tracer.SpanOptions | (() => Tracer.SpanOptions)

/**
 * `self` in a span called `name` when the tracer in use is not the native
 * one; `self` alone otherwise. The span's stack is not captured unless
 * asked: it is always the line that named the span.
 */
export const traced: {
  (name: string, options?: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Options): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Options): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) =>
      tracer === nativeTracer
        ? self
        : Effect.withSpan(self, name, {
            captureStackTrace: false,
            ...(typeof options === "function" ? options() : options),
          }),
    ),
)
