/**
 * Which request headers may go on the wire: names that are RFC 9110
 * tokens, values of visible Latin-1 text (no CR, LF or other control
 * characters, which fetch refuses or which would split the request), and
 * none of the hop-by-hop or framing headers (RFC 9110 §7.6.1) that belong to
 * the connection, not to the caller. Checked before anything is sent, so a
 * bad header is the caller's `invalid_input`, never a retried transport
 * failure.
 */

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Tab, visible ASCII, space and obs-text (0x80-0xFF); fetch sends nothing else. */
const fieldValue = /^[\t\u0020-\u007e\u0080-\u00ff]*$/

/** Headers of the connection and its framing, which the HTTP client sets itself. */
const connectionHeaders = new Set([
  "connection",
  "content-length",
  "expect",
  "host",
  // RFC 9113 §3.2: connection-specific in HTTP/2's upgrade.
  "http2-settings",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
])

/** Why the header `name: value` may not be sent, or undefined when it may. The value is never quoted: it may be a secret. */
export const headerProblem = (name: string, value: string): string | undefined => {
  if (!token.test(name)) return `header name ${JSON.stringify(name)} is not a valid HTTP header name`
  const lower = name.toLowerCase()
  if (connectionHeaders.has(lower) || lower.startsWith("proxy-"))
    return `header ${name} belongs to the connection and is set by the HTTP client; leave it out`
  // A JavaScript caller's number or missing value would reach the transport, and fail there as a connection_error.
  if (typeof value !== "string") return `header ${name} has no text value; send its value as text`
  if (!fieldValue.test(value))
    return `header ${name} has a value with a line break, control character or character beyond Latin-1; send plain text (encode anything else)`
  return undefined
}

/** The first problem among `headers`, or undefined when all of them may be sent. */
export const headersProblem = (headers: Readonly<Record<string, string>>): string | undefined => {
  for (const [name, value] of Object.entries(headers)) {
    const problem = headerProblem(name, value)
    if (problem !== undefined) return problem
  }
  return undefined
}
