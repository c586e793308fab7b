/** Hyperline's list answers. */
import * as Schema from "effect/Schema"

/**
 * A list answer: a bare array, or wrapped in `{ data }` as Hyperline's list
 * endpoints are; `data: null` (a server's "none") is the empty list.
 */
export const listOf = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Union(
    Schema.Array(item),
    Schema.transform(
      Schema.Struct({ data: Schema.NullOr(Schema.Array(item)) }),
      Schema.Array(Schema.typeSchema(item)),
      {
        strict: true,
        decode: ({ data }) => data ?? [],
        encode: (data) => ({ data }),
      },
    ),
  )
