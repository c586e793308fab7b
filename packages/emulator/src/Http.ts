/**
 * The emulator's small HTTP layer on `node:http`: parsed requests, plain
 * response values, and routes with `:param` segments.
 */
import type { IncomingHttpHeaders } from "node:http"
import type { OriginName } from "./Origins.js"

export interface EmulatorRequest {
  readonly origin: OriginName
  readonly method: string
  readonly path: string
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  /** Media type of the body, lower case, without parameters ("" when none). */
  readonly contentType: string
  readonly body: string
}

export interface EmulatorResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Text is sent as UTF-8, bytes (a `Uint8Array`) as they are, anything else as JSON. */
  readonly body?: string | Uint8Array | object | undefined
}

export type Handler = (request: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>

export interface Route {
  readonly origin: OriginName
  readonly method: string
  /** e.g. "/v1/controls/:controlId", or "/v1/*" for everything below /v1/ */
  readonly path: string
  readonly handler: Handler
  /**
   * An API resource whose other methods the provider may serve too: they go
   * to the `/*` catch-all (a token checked, then 404), not 405.
   */
  readonly sharesPath?: boolean | undefined
}

/** What each emulated provider brings: its routes, its test controls, and its clients' settings. */
export interface ProviderParts<Control> {
  /** The hyperauth settings of the clients registered with it, e.g. `HYPERID_CLIENT_ID`. */
  readonly env: Readonly<Record<string, string>>
  readonly routes: ReadonlyArray<Route>
  readonly control: Control
  /** How many entries each store of the provider holds, for tests that check they stay bounded. */
  readonly retained?: (() => Readonly<Record<string, number>>) | undefined
}

/** The same handler for every method an API path may be called with. */
export const anyMethod = (origin: OriginName, path: string, handler: Handler): ReadonlyArray<Route> =>
  ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].map((method) => ({ origin, method, path, handler }))

/** Matches `path` against a route pattern, giving its `:params`. */
export const matchPath = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split("/")
  const got = path.split("/")
  // A trailing "*" matches the rest of the path.
  if (want.at(-1) === "*") {
    want.pop()
    if (got.length < want.length) return undefined
    got.length = want.length
  }
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (const [i, segment] of want.entries()) {
    const actual = got[i] ?? ""
    if (segment.startsWith(":")) {
      if (actual === "") return undefined
      params[segment.slice(1)] = decodeURIComponent(actual)
    } else if (segment !== actual) {
      return undefined
    }
  }
  return params
}

/** What answers a request: a route's handler with its `:params`, the methods its path takes instead, or nothing. */
export type Resolved =
  | { readonly handler: Handler; readonly params: Readonly<Record<string, string>> }
  | { readonly allow: string }
  | undefined

/**
 * The route for a request. A path a route names exactly (`:params` aside)
 * is that route's, so another method there is 405 with `Allow` (RFC 9110
 * §15.5.6) rather than falling through to a `/*` catch-all; HEAD is
 * answered as GET (§9.3.2).
 */
export const resolveRoute = (
  routes: ReadonlyArray<Route>,
  origin: OriginName,
  method: string,
  path: string,
): Resolved => {
  const matching = routes.flatMap((route) => {
    if (route.origin !== origin) return []
    const params = matchPath(route.path, path)
    return params === undefined ? [] : [{ route, params }]
  })
  const exact = matching.filter(({ route }) => !route.path.endsWith("*"))
  const withMethod = (candidates: typeof matching) =>
    candidates.find(({ route }) => route.method === method) ??
    (method === "HEAD" ? candidates.find(({ route }) => route.method === "GET") : undefined)
  const shared = exact.every(({ route }) => route.sharesPath === true)
  const found = withMethod(exact) ?? (shared ? withMethod(matching.filter((m) => !exact.includes(m))) : undefined)
  if (found !== undefined) return { handler: found.route.handler, params: found.params }
  if (exact.length === 0 || shared) return undefined
  const methods = new Set(exact.map(({ route }) => route.method))
  if (methods.has("GET")) methods.add("HEAD")
  return { allow: [...methods].join(", ") }
}

export const json = (status: number, body: object, headers?: Readonly<Record<string, string>>): EmulatorResponse => ({
  status,
  body,
  headers,
})

/** An RFC 6749 §5.2 error answer; `invalid_client` carries a challenge (§5.2). */
export const oauthError = (status: number, error: string, description?: string): EmulatorResponse =>
  json(
    status,
    description === undefined ? { error } : { error, error_description: description },
    status === 401 ? { "www-authenticate": `Basic realm="emulator", error="${error}"` } : undefined,
  )

/**
 * An RFC 6750 §3.1 Bearer challenge: `invalid_token` for a token that is
 * not valid, and no error code for a request that sent none (or sent
 * credentials of another scheme, which §3.1 counts as none).
 */
export const invalidToken = (
  request: EmulatorRequest,
  description = "The access token is invalid or expired",
): EmulatorResponse =>
  bearerToken(request) === undefined
    ? {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="emulator"' },
        body: { message: "Send an access token: Authorization: Bearer <token>" },
      }
    : {
        status: 401,
        headers: {
          "www-authenticate": `Bearer realm="emulator", error="invalid_token", error_description="${description}"`,
        },
        body: { error: "invalid_token", error_description: description },
      }

export const html = (status: number, body: string): EmulatorResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8" },
  body,
})

export const redirect = (location: string): EmulatorResponse => ({ status: 302, headers: { location } })

/** The form fields of an `application/x-www-form-urlencoded` body, if that is what was sent. */
export const formBody = (request: EmulatorRequest): URLSearchParams | undefined =>
  request.contentType === "application/x-www-form-urlencoded" ? new URLSearchParams(request.body) : undefined

/**
 * OAuth parameters as RFC 6749 §3.1 reads them: one sent without a value is
 * omitted, and the name of one sent more than once (which it forbids) is
 * given instead.
 */
export const oauthParameters = (fields: URLSearchParams): URLSearchParams | { readonly repeated: string } => {
  const kept = new URLSearchParams()
  for (const [name, value] of fields) {
    if (value === "") continue
    if (kept.has(name)) return { repeated: name }
    kept.append(name, value)
  }
  return kept
}

/** The OAuth parameters of a form body (`oauthParameters`), or the `invalid_request` answer. */
export const oauthForm = (request: EmulatorRequest): URLSearchParams | EmulatorResponse => {
  const form = formBody(request)
  if (form === undefined) return oauthError(400, "invalid_request", "Send an application/x-www-form-urlencoded body")
  const parameters = oauthParameters(form)
  return parameters instanceof URLSearchParams
    ? parameters
    : oauthError(400, "invalid_request", `${parameters.repeated} is given more than once`)
}

/** The fields of a JSON object body, if that is what was sent. */
export const jsonBody = (request: EmulatorRequest): Record<string, unknown> | undefined => {
  if (request.contentType !== "application/json") return undefined
  try {
    const value: unknown = JSON.parse(request.body)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** The token of an `Authorization: Bearer` header. */
export const bearerToken = (request: EmulatorRequest): string | undefined => {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")
  return match?.[1]
}

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
