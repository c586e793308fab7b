/**
 * Turning a response body into a short excerpt that is safe to put in an
 * error message: token-like values are replaced before the text is cut.
 */
import * as Redacted from "effect/Redacted"

const REDACTED = "[redacted]"
const EXCERPT_LENGTH = 200

const secretNames = "access_token|refresh_token|id_token|device_code|code|client_secret|token|password|api_key|secret"

// "access_token": "..." in JSON, also when the closing quote was cut off.
const jsonSecret = new RegExp(`("(?:${secretNames})"\\s*:\\s*")([^"]*)`, "gi")
// access_token=... in form bodies and query strings.
const formSecret = new RegExp(`(\\b(?:${secretNames})=)([^&\\s"]*)`, "gi")
// JWTs and Bearer credentials wherever they appear.
const jwt = /eyJ[\w-]+\.[\w-]*\.?[\w-]*/g
const bearer = /(\bBearer\s+)[\w.~+/=-]+/gi
// Any other long run of letters mixed with digits looks like a credential:
// a server may echo one in free text, and an excerpt loses little without it.
const opaque = /(?=[\w.~+/=-]*\d)(?=[\w.~+/=-]*[A-Za-z])[\w.~+/=-]{16,}/g

/**
 * `text` with every `known` secret, JWT and Bearer credential replaced: for
 * fields a server wrote in prose, such as an OAuth `error_description`.
 */
export const withoutSecrets = (text: string, known: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  let scrubbed = text
  for (const secret of known) {
    const value = Redacted.value(secret)
    if (value.length > 0) scrubbed = scrubbed.split(value).join(REDACTED)
  }
  return scrubbed.replace(jwt, REDACTED).replace(bearer, `$1${REDACTED}`)
}

/**
 * The first characters of `body`, single-spaced, with token-like values and
 * every `known` secret replaced.
 */
export const excerpt = (body: string, known: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  // Only the start can reach the excerpt; scrubbing a window far larger than
  // it keeps any secret that straddles the cut whole while it is replaced.
  let text = withoutSecrets(body.slice(0, EXCERPT_LENGTH * 20), known)
  text = text
    .replace(jsonSecret, `$1${REDACTED}`)
    .replace(formSecret, `$1${REDACTED}`)
    .replace(opaque, REDACTED)
    .replace(/\s+/g, " ")
    .trim()
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}…` : text
}

/** Origin and path of a URL: never its query, fragment or user info. */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return "(invalid URL)"
  }
}
