/**
 * What `call_api` refuses before sending anything (paths that could leave
 * the provider's API base, headers that would replace or leak its
 * credentials) and which of the answer's headers it hands back.
 */

/** Why `path` is refused, or undefined when it stays on the API base. */
export const pathProblem = (path: string): string | undefined => {
  if (!path.startsWith("/")) return "path must start with /"
  if (path.startsWith("//")) return "path must not start with // (that names another host)"
  if (path.includes("\\")) return "path must not contain a backslash"
  if (/[?#]/.test(path)) return "path must not contain ? or #; pass query parameters in query"
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f]/.test(path)) return "path must not contain spaces or control characters"
  if (/%(2f|5c|00)/i.test(path)) return "path must not contain encoded slashes, backslashes or NUL"
  if (/^\/?[a-z][a-z0-9+.-]*:/i.test(path.slice(1))) return "path must not contain a scheme"
  for (const segment of path.split("/")) {
    const dots = dotSegment(segment)
    if (dots === "invalid") return "path has invalid percent-encoding"
    if (dots === "plain") return "path must not contain . or .. segments"
    if (dots === "hidden") return "path must not contain . or .. segments, also encoded twice or with a ;parameter"
  }
  return undefined
}

/** How many times a segment is decoded to see a dot segment: a proxy and a server may each decode once. */
const decodings = 3

/**
 * Whether a segment is `.` or `..` as some server on the way may read it:
 * as it is or decoded once ("plain"), or decoded up to `decodings` times,
 * or without a `;parameter` (which Tomcat and Spring drop before they
 * resolve dot segments, `..;/`) ("hidden"); "invalid" when it is not valid
 * percent-encoding, none when it is an ordinary segment.
 */
const dotSegment = (segment: string): "plain" | "hidden" | "invalid" | undefined => {
  // Most segments hold neither an escape nor a parameter: they are what they say (this runs on every call).
  if (!segment.includes("%") && !segment.includes(";")) return segment === "." || segment === ".." ? "plain" : undefined
  let text = segment
  for (let i = 0; i < decodings; i++) {
    let decoded: string
    try {
      decoded = decodeURIComponent(text)
    } catch {
      // Once decoded, a `%` that starts no escape is text: only the segment itself must be valid.
      if (i === 0) return "invalid"
      break
    }
    if (i === 0 && (decoded === "." || decoded === "..")) return "plain"
    const name = decoded.split(";")[0]
    if (name === "." || name === "..") return "hidden"
    if (decoded === text) break
    text = decoded
  }
  return undefined
}

const forbiddenHeaders = new Set(["authorization", "cookie", "host", "proxy-authorization"])

/** The longest header name `call_api` sends (RFC 9110 sets none; servers do, far below a header section's). */
const maxHeaderNameLength = 256

/** Why these headers are refused, or undefined when they may be sent. */
export const headerProblem = (headers: Readonly<Record<string, string>>): string | undefined => {
  for (const name of Object.keys(headers)) {
    // Servers refuse far shorter names (Node's whole header section is 16 KiB): refused here, not sent and retried.
    if (name.length > maxHeaderNameLength)
      return `a header name is longer than ${maxHeaderNameLength} characters; no server takes it`
    if (forbiddenHeaders.has(name.toLowerCase()))
      return `header ${name} may not be set: the server authenticates the call itself`
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `header name ${JSON.stringify(name)} is not valid`
  }
  return undefined
}

/** The API's cookies and challenges: the server holds the credentials, the agent gets none. */
const credentialHeaders = new Set(["set-cookie", "set-cookie2", "www-authenticate"])

/**
 * Headers about this server's own connection to the API (RFC 9110 §7.6.1),
 * which an intermediary does not pass on; `Trailer` announces fields of a
 * chunked framing that is gone once the body is read. `Proxy-*` (a proxy's
 * challenge among them) is dropped by prefix.
 */
const hopByHopHeaders = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"])

/**
 * The answer's headers the agent gets: the end-to-end ones, without the
 * hop-by-hop headers, those the answer's `Connection` names, and the
 * cookies and challenges.
 */
export const forwardedResponseHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const named = new Set((headers.connection ?? "").split(",").map((name) => name.trim().toLowerCase()))
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => {
      const lower = name.toLowerCase()
      return !(
        credentialHeaders.has(lower) ||
        hopByHopHeaders.has(lower) ||
        named.has(lower) ||
        lower.startsWith("proxy-")
      )
    }),
  )
}
