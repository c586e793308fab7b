/**
 * Token introspection answers (RFC 7662 §2.2).
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import * as wire from "./internal/wire.js"

/**
 * `active` always; `scope`, `exp`, `iat` and the other RFC 7662 members when
 * the server sent them; any other member kept as sent. `active: false` is an
 * answer ("this token is not valid"), not an error.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Introspection } from "@hyperauth/core"
 *
 * const answer = Schema.decodeUnknownSync(Introspection.IntrospectionResponse)({ active: true, scope: "openid", exp: 1767225600 })
 * answer.active // true
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const IntrospectionResponse = wire.IntrospectionResponse

/**
 * A decoded introspection answer: `IntrospectionResponse`'s type.
 *
 * @example
 * ```ts
 * import type { Introspection } from "@hyperauth/core"
 *
 * const expiresAt = (answer: Introspection.IntrospectionResponse) =>
 *   answer.active && answer.exp !== undefined ? new Date(answer.exp * 1000) : undefined
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface IntrospectionResponse extends Schema.Schema.Type<typeof IntrospectionResponse> {}
