/** A tracer for tests: the native one, recording the name of every span it is asked for. */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

export const recordingTracer = (started: Array<string>): Effect.Effect<Tracer.Tracer> =>
  Effect.map(Effect.tracer, (native) =>
    Tracer.make({
      span: (name, ...rest) => {
        started.push(name)
        return native.span(name, ...rest)
      },
      context: native.context,
    }),
  )
