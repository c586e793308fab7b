/**
 * Token introspection answers (RFC 7662 §2.2).
 *
 * @since 0.1.0
 */
import * as wire from "./internal/wire.js"

/**
 * `active` always; `scope`, `exp`, `iat` and the other RFC 7662 members when
 * the server sent them; any other member kept as sent. `active: false` is an
 * answer ("this token is not valid"), not an error.
 *
 * @since 0.1.0
 * @category models
 */
export const IntrospectionResponse = wire.IntrospectionResponse

/**
 * @since 0.1.0
 * @category models
 */
export type IntrospectionResponse = wire.IntrospectionResponse
