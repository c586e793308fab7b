/**
 * Confidential-client authentication at a token endpoint (RFC 6749 §2.3.1):
 * `client_secret_basic` or `client_secret_post`, compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { type EmulatorRequest, type EmulatorResponse, oauthError } from "../Http.js"

export interface RegisteredClient {
  readonly clientId: string
  readonly clientSecret: string
}

const digest = (text: string) => createHash("sha256").update(text).digest()

export const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b))

/**
 * One half of Basic credentials, decoded as RFC 6749 §2.3.1 has them
 * encoded: `application/x-www-form-urlencoded` (Appendix B), where `+` is a
 * space. Undefined when it is not validly encoded: the client is not
 * authenticated, rather than the request failing.
 */
const formDecoded = (encoded: string): string | undefined => {
  try {
    return decodeURIComponent(encoded.replaceAll("+", " "))
  } catch {
    return undefined
  }
}

/** The client id and secret the request presents, from the Basic header or the body. */
export const presentedClient = (
  request: EmulatorRequest,
  fields: { readonly get: (name: string) => string | null | undefined },
): { readonly id: string | undefined; readonly secret: string | undefined } => {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? "")
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    // No colon: no secret presented.
    if (colon < 0) return { id: undefined, secret: undefined }
    return { id: formDecoded(decoded.slice(0, colon)), secret: formDecoded(decoded.slice(colon + 1)) }
  }
  return { id: fields.get("client_id") ?? undefined, secret: fields.get("client_secret") ?? undefined }
}

/**
 * Why the request does not authenticate as `client`: `invalid_request` when
 * it uses Basic and the body both (RFC 6749 §2.3: one method a request),
 * else `invalid_client`. Undefined when it does.
 */
export const clientRefusal = (
  request: EmulatorRequest,
  fields: { readonly get: (name: string) => string | null | undefined },
  client: RegisteredClient,
): EmulatorResponse | undefined => {
  if (/^Basic\s/i.test(request.headers.authorization ?? "") && (fields.get("client_secret") ?? null) !== null) {
    return oauthError(400, "invalid_request", "Authenticate one way: the Basic header or client_secret in the body")
  }
  const presented = presentedClient(request, fields)
  const authenticated =
    presented.id === client.clientId &&
    presented.secret !== undefined &&
    sameSecret(presented.secret, client.clientSecret)
  return authenticated ? undefined : oauthError(401, "invalid_client", "Invalid client credentials")
}

/** Loopback redirect URIs are allowed on any port (RFC 8252 §7.3). */
export const isLoopbackRedirect = (uri: string): boolean => {
  if (!URL.canParse(uri)) return false
  const url = new URL(uri)
  return (
    url.protocol === "http:" &&
    (url.hostname === "127.0.0.1" || url.hostname === "[::1]" || url.hostname === "localhost")
  )
}

/** The loopback IP literals whose redirect URIs match on any port (RFC 8252 §7.3; `localhost` is §8.3's NOT RECOMMENDED). */
const loopbackIps = new Set(["127.0.0.1", "[::1]"])

/**
 * Whether `uri` is the registered redirect URI: the same string, or for a
 * loopback IP one the same but for the port (RFC 8252 §7.3).
 */
export const sameCallback = (registered: string, uri: string): boolean => {
  if (registered === uri) return true
  if (!URL.canParse(registered) || !URL.canParse(uri)) return false
  const a = new URL(registered)
  const b = new URL(uri)
  return (
    a.protocol === "http:" &&
    b.protocol === "http:" &&
    loopbackIps.has(a.hostname) &&
    a.hostname === b.hostname &&
    a.pathname === b.pathname &&
    a.search === b.search &&
    b.hash === "" &&
    a.username === b.username &&
    a.password === b.password
  )
}
