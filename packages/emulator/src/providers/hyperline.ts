/**
 * hyperline: authorization code with state, a JSON-only token endpoint,
 * refresh-token revocation, companies chosen by `Hyperline-CompanyId`, a
 * sample resource, and the Apps API that manages OAuth clients.
 */
import {
  anyMethod,
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  escapeHtml,
  formBody,
  html,
  invalidToken,
  json,
  jsonBody,
  oauthError,
  oauthParameters,
  type ProviderParts,
  redirect,
} from "../Http.js"
import { type Clock, defaultUser, Forgetful, opaque, type Tokens } from "../State.js"
import { sameCallback, sameSecret } from "./clientAuth.js"
import {
  cannotContinue,
  consentDecision,
  consentForm,
  noDecision,
  page,
  redirectBack,
  Unredirectable,
} from "./pages.js"

/**
 * The client registered with the emulated hyperline unless
 * `HyperlineOptions` names another; `Emulator.env` carries it.
 *
 * @example
 * ```ts
 * import { defaultHyperlineClient } from "@hyperauth/emulator"
 *
 * defaultHyperlineClient.clientSecret // "hyperline-secret"
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHyperlineClient = { clientId: "hyperline-client", clientSecret: "hyperline-secret" } as const

/**
 * The callback the emulated default app registers unless `HyperlineOptions`
 * names others: hyperauth's default loopback redirect URI, which matches on
 * any port (RFC 8252 §7.3).
 *
 * @example
 * ```ts
 * import { defaultHyperlineCallback } from "@hyperauth/emulator"
 *
 * defaultHyperlineCallback // "http://127.0.0.1:8976/callback/hyperline"
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultHyperlineCallback = "http://127.0.0.1:8976/callback/hyperline"
/**
 * The Apps API key the emulated hyperline accepts unless `HyperlineOptions`
 * names another.
 *
 * @example
 * ```ts
 * import { defaultHyperlineApiKey, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const apps = await fetch(`${emulator.origins.hyperline}/v1/apps`, {
 *   headers: { authorization: `Bearer ${defaultHyperlineApiKey}` },
 * })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHyperlineApiKey = "hyperline-api-key"

/** Seed: access tokens live 24 h; refresh tokens do not expire. */
const accessLifetime = 24 * 3600

/**
 * hyperline's options: its client, the Apps API key and refresh-token
 * rotation.
 *
 * @example
 * ```ts
 * import { type HyperlineOptions, start } from "@hyperauth/emulator"
 *
 * const hyperline: HyperlineOptions = { apiKey: "my-test-key", rotateRefreshTokens: true }
 * const emulator = await start({ hyperline })
 * emulator.env.HYPERLINE_API_KEY // "my-test-key"
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperlineOptions {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  /** The Apps API key. */
  readonly apiKey?: string | undefined
  /**
   * The redirect URIs the default app registers (its `callbacks`):
   * `[defaultHyperlineCallback]` when absent. The seed has a redirect URI
   * "match the URL you set when registering your app"; every other is
   * refused, a loopback IP one (`127.0.0.1`, `[::1]`) on any port (RFC
   * 8252 §7.3) but with the same scheme, host, path and query.
   */
  readonly callbacks?: ReadonlyArray<string> | undefined
  /**
   * Strict refresh-token rotation with reuse detection: each refresh
   * answers a new refresh token, the old one works no more, and one
   * presented again revokes the whole login. (The seed's refresh tokens
   * neither expire nor rotate; this is the stricter provider to test against.)
   */
  readonly rotateRefreshTokens?: boolean | undefined
}

/**
 * What a test does in the user's place on hyperline's authorization page,
 * and the companies the user can reach.
 *
 * @example
 * ```ts
 * import { type HyperlineControl, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const hyperline: HyperlineControl = emulator.hyperline
 * const companyIds = hyperline.companies.map((company) => company.id) // what GET /v1/companies lists
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperlineControl {
  /** Acts as the user on the authorization page; returns where the browser is sent. */
  readonly authorize: (authorizationUrl: string, decision?: "approve" | "deny") => string
  /** The companies the emulated user can reach, oldest first. */
  readonly companies: ReadonlyArray<Company>
}

interface App {
  readonly id: string
  name: string
  description: string | null
  logo_uri: string | null
  callbacks: Array<string>
  readonly client_id: string
  readonly client_secret: string
}

interface Company {
  readonly id: string
  readonly name: string
  readonly created_at: string
}

interface Code {
  readonly clientId: string
  readonly redirectUri: string
  readonly expiresAt: number
  /** The login it was redeemed for: a second use revokes it (RFC 6749 §4.1.2). */
  grant: string | undefined
}

const companies: ReadonlyArray<Company> = [
  { id: "cmp_acme", name: "Acme Billing", created_at: "2023-02-01T10:00:00.000Z" },
  { id: "cmp_globex", name: "Globex Subscriptions", created_at: "2024-06-15T08:30:00.000Z" },
]

const customers: Record<string, ReadonlyArray<{ readonly id: string; readonly name: string }>> = {
  cmp_acme: [
    { id: "cus_wile", name: "Wile E. Coyote" },
    { id: "cus_road", name: "Road Runner" },
  ],
  cmp_globex: [{ id: "cus_hank", name: "Hank Scorpio" }],
}

export const hyperline = (
  clock: Clock,
  tokens: Tokens,
  options: HyperlineOptions = {},
): ProviderParts<HyperlineControl> => {
  const apiKey = options.apiKey ?? defaultHyperlineApiKey
  const apps = new Map<string, App>()
  const register = (app: App) => apps.set(app.client_id, app)
  register({
    id: "app_default",
    name: "hyperauth",
    description: "The default app of the emulator",
    logo_uri: null,
    callbacks: [...(options.callbacks ?? [defaultHyperlineCallback])],
    client_id: options.clientId ?? defaultHyperlineClient.clientId,
    client_secret: options.clientSecret ?? defaultHyperlineClient.clientSecret,
  })
  // Forgotten once expired; until then a redeemed code is kept, as using it again revokes its tokens.
  const codes = new Forgetful<string, Code>((code) => code.expiresAt <= clock.now())

  const callbackAllowed = (app: App, uri: string) => app.callbacks.some((registered) => sameCallback(registered, uri))

  /** Validates an authorization request: its app, the way back, and the error redirect that refuses it, if one does. */
  const validate = (fields: URLSearchParams) => {
    const parameters = oauthParameters(fields)
    const repeated = parameters instanceof URLSearchParams ? undefined : parameters.repeated
    if (repeated === "client_id" || repeated === "redirect_uri")
      throw new Unredirectable(`${repeated} is given more than once`)
    const query = parameters instanceof URLSearchParams ? parameters : fields
    const app = apps.get(query.get("client_id") ?? "")
    if (app === undefined) throw new Unredirectable("Unknown client_id")
    const redirectUri = query.get("redirect_uri") ?? ""
    if (!callbackAllowed(app, redirectUri)) throw new Unredirectable("redirect_uri is not one of the app's callbacks")
    const back = redirectBack(redirectUri, query.get("state"))
    const refused =
      repeated !== undefined
        ? back.error("invalid_request", `${repeated} is given more than once`)
        : query.get("response_type") !== "code"
          ? back.error("unsupported_response_type", "response_type must be code")
          : query.get("state") === null
            ? back.error("invalid_request", "state is required")
            : undefined
    return { app, redirectUri, back, refused }
  }

  /** The redirect that answers an authorization request the user decided. */
  const decide = (query: URLSearchParams, decision: "approve" | "deny"): string => {
    const { app, redirectUri, back, refused } = validate(query)
    if (refused !== undefined) return refused
    if (decision === "deny") return back.error("access_denied", "The user denied access")
    const code = opaque("hyperline_code")
    codes.set(code, { clientId: app.client_id, redirectUri, expiresAt: clock.now() + 60_000, grant: undefined })
    return back.success({ code })
  }

  const authorizePage = (request: EmulatorRequest): EmulatorResponse => {
    let app: App
    try {
      const validated = validate(request.query)
      // A request it would refuse goes straight back with the error (RFC 6749 §4.1.2.1).
      if (validated.refused !== undefined) return redirect(validated.refused)
      app = validated.app
    } catch (error) {
      return html(400, cannotContinue("Hyperline", error))
    }
    return html(
      200,
      page(
        `Connect ${escapeHtml(app.name)} to Hyperline`,
        `<p>Signed in as <strong>${defaultUser.email}</strong>. The app will reach all your companies.</p>` +
          consentForm("/v1/oauth/authorize", request.query),
      ),
    )
  }

  const authorizeDecision = (request: EmulatorRequest): EmulatorResponse => {
    const form = formBody(request) ?? new URLSearchParams()
    const decision = consentDecision(form)
    if (decision === undefined) return html(400, noDecision("Hyperline"))
    try {
      return redirect(decide(form, decision))
    } catch (error) {
      return html(400, cannotContinue("Hyperline", error))
    }
  }

  /** A string member of a JSON body; an empty one counts as omitted, as in a form (RFC 6749 §3.1). */
  const str = (body: Record<string, unknown>, name: string): string | undefined => {
    const value = body[name]
    return typeof value === "string" && value !== "" ? value : undefined
  }

  /** The app a JSON token/revoke body authenticates as, or an error answer. */
  const authenticated = (request: EmulatorRequest): { app: App; body: Record<string, unknown> } | EmulatorResponse => {
    if (request.contentType !== "application/json") {
      return {
        status: 415,
        body: { error: "invalid_request", error_description: "Send a JSON body (application/json)" },
      }
    }
    const body = jsonBody(request)
    if (body === undefined) return oauthError(400, "invalid_request", "The body is not a JSON object")
    const app = apps.get(str(body, "client_id") ?? "")
    const secret = str(body, "client_secret")
    if (app === undefined || secret === undefined || !sameSecret(secret, app.client_secret)) {
      return oauthError(401, "invalid_client", "Invalid client credentials")
    }
    return { app, body }
  }

  const issue = (app: App, grant: string, refresh: string) => {
    const access = tokens.issue("access", {
      provider: "hyperline",
      clientId: app.client_id,
      subject: defaultUser.sub,
      scope: "",
      grant,
      lifetime: accessLifetime,
    })
    return json(200, {
      access_token: access.value,
      refresh_token: refresh,
      expires_in: accessLifetime,
      token_type: "bearer",
    })
  }

  const token = (request: EmulatorRequest): EmulatorResponse => {
    const auth = authenticated(request)
    if ("status" in auth) return auth
    const { app, body } = auth
    const grantType = str(body, "grant_type")
    if (grantType === "authorization_code") {
      const value = str(body, "code") ?? ""
      const code = codes.get(value)
      if (code === undefined || code.expiresAt <= clock.now() || code.clientId !== app.client_id) {
        return oauthError(400, "invalid_grant", "The code is invalid, expired or already used")
      }
      if (code.grant !== undefined) {
        // A code used twice may have been stolen: what it issued is revoked (RFC 6749 §4.1.2).
        tokens.revokeGrant(code.grant)
        return oauthError(400, "invalid_grant", "The code is invalid, expired or already used")
      }
      if (str(body, "redirect_uri") !== code.redirectUri)
        return oauthError(400, "invalid_grant", "redirect_uri mismatch")
      const grant = opaque("hyperline_grant")
      code.grant = grant
      const refresh = tokens.issue("refresh", {
        provider: "hyperline",
        clientId: app.client_id,
        subject: defaultUser.sub,
        scope: "",
        grant,
      })
      return issue(app, grant, refresh.value)
    }
    if (grantType === "refresh_token") {
      const rotate = options.rotateRefreshTokens === true
      const refresh = tokens.redeemRefresh(str(body, "refresh_token"), "hyperline", app.client_id, rotate)
      if (refresh === "reused") return oauthError(400, "invalid_grant", "The refresh token was already used")
      if (refresh === "invalid") return oauthError(400, "invalid_grant", "The refresh token is invalid or revoked")
      const next = rotate
        ? tokens.issue("refresh", {
            provider: "hyperline",
            clientId: app.client_id,
            subject: defaultUser.sub,
            scope: "",
            grant: refresh.grant,
          }).value
        : refresh.value
      return issue(app, refresh.grant, next)
    }
    if (grantType === undefined) return oauthError(400, "invalid_request", "grant_type is required")
    return oauthError(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
  }

  const revoke = (request: EmulatorRequest): EmulatorResponse => {
    const auth = authenticated(request)
    if ("status" in auth) return auth
    const value = str(auth.body, "token")
    if (value === undefined || value === "") return oauthError(400, "invalid_request", "token is required")
    const refresh = tokens.valid(value, "refresh", "hyperline")
    // RFC 7009 §2.2: an unknown (or already revoked) token is not an error.
    if (refresh === undefined) return json(200, {})
    // RFC 7009 §2.1: the server verifies the token was issued to the client
    // asking, and refuses the request otherwise (the seed is silent). The
    // error is RFC 6749 §5.2's, with its status: 400.
    if (refresh.clientId !== auth.app.client_id)
      return oauthError(400, "unauthorized_client", "The token was not issued to this client")
    tokens.revoke(refresh.value)
    return json(200, {})
  }

  const user = (request: EmulatorRequest) => tokens.valid(bearerToken(request), "access", "hyperline")

  /** The company a call acts on: the header's, or the oldest. */
  const company = (request: EmulatorRequest): Company | EmulatorResponse => {
    const header = request.headers["hyperline-companyid"]
    const id = Array.isArray(header) ? header[0] : header
    if (id === undefined) return companies[0] ?? json(403, { message: "No company" })
    return companies.find((c) => c.id === id) ?? json(403, { message: `No access to company ${id}` })
  }

  const listCompanies = (request: EmulatorRequest): EmulatorResponse =>
    user(request) === undefined
      ? invalidToken(request)
      : json(200, { meta: { total: companies.length }, data: companies })

  const listCustomers = (request: EmulatorRequest): EmulatorResponse => {
    if (user(request) === undefined) return invalidToken(request)
    const served = company(request)
    if ("status" in served) return served
    const data = customers[served.id] ?? []
    return json(
      200,
      { meta: { total: data.length }, company_id: served.id, data },
      { "hyperline-companyid": served.id },
    )
  }

  const otherApi = (request: EmulatorRequest): EmulatorResponse =>
    user(request) === undefined ? invalidToken(request) : json(404, { message: `No resource at ${request.path}` })

  const withApiKey = (handler: (request: EmulatorRequest) => EmulatorResponse) => (request: EmulatorRequest) => {
    const key = bearerToken(request)
    return key !== undefined && sameSecret(key, apiKey)
      ? handler(request)
      : json(401, { message: "Invalid API key" }, { "www-authenticate": 'Bearer realm="hyperline-apps"' })
  }

  const publicApp = ({ client_secret: _secret, ...app }: App) => app

  const appFields = (body: Record<string, unknown>, partial: boolean): Partial<App> | string => {
    const fields: Partial<App> = {}
    if (body.name !== undefined || !partial) {
      if (typeof body.name !== "string" || body.name === "") return "name is required"
      fields.name = body.name
    }
    for (const name of ["description", "logo_uri"] as const) {
      const value = body[name]
      if (value === undefined) continue
      if (value !== null && typeof value !== "string") return `${name} must be a string`
      fields[name] = value
    }
    if (body.callbacks !== undefined || !partial) {
      const callbacks = body.callbacks
      if (!Array.isArray(callbacks) || !callbacks.every((c) => typeof c === "string" && URL.canParse(c))) {
        return "callbacks must be a list of URLs"
      }
      fields.callbacks = callbacks
    }
    return fields
  }

  const createApp = (request: EmulatorRequest): EmulatorResponse => {
    const body = jsonBody(request)
    if (body === undefined) return json(400, { message: "Send a JSON object" })
    const fields = appFields(body, false)
    if (typeof fields === "string") return json(400, { message: fields })
    const app: App = {
      id: opaque("app"),
      name: fields.name ?? "",
      description: fields.description ?? null,
      logo_uri: fields.logo_uri ?? null,
      callbacks: fields.callbacks ?? [],
      client_id: opaque("hyperline_client"),
      client_secret: opaque("hyperline_secret"),
    }
    register(app)
    return json(201, app)
  }

  const findApp = (id: string | undefined) => [...apps.values()].find((app) => app.id === id)

  const updateApp = (request: EmulatorRequest): EmulatorResponse => {
    const app = findApp(request.params.appId)
    if (app === undefined) return json(404, { message: "App not found" })
    const body = jsonBody(request)
    if (body === undefined) return json(400, { message: "Send a JSON object" })
    const fields = appFields(body, true)
    if (typeof fields === "string") return json(400, { message: fields })
    Object.assign(app, fields)
    return json(200, publicApp(app))
  }

  const deleteApp = (request: EmulatorRequest): EmulatorResponse => {
    const app = findApp(request.params.appId)
    if (app === undefined) return json(404, { message: "App not found" })
    apps.delete(app.client_id)
    return { status: 204 }
  }

  return {
    env: {
      HYPERLINE_CLIENT_ID: options.clientId ?? defaultHyperlineClient.clientId,
      HYPERLINE_CLIENT_SECRET: options.clientSecret ?? defaultHyperlineClient.clientSecret,
      HYPERLINE_API_KEY: apiKey,
    },
    routes: [
      { origin: "hyperline", method: "GET", path: "/v1/oauth/authorize", handler: authorizePage },
      { origin: "hyperline", method: "POST", path: "/v1/oauth/authorize", handler: authorizeDecision },
      { origin: "hyperline", method: "POST", path: "/v1/oauth/tokens", handler: token },
      { origin: "hyperline", method: "POST", path: "/v1/oauth/revoke", handler: revoke },
      { origin: "hyperline", method: "GET", path: "/v1/companies", handler: listCompanies, sharesPath: true },
      { origin: "hyperline", method: "GET", path: "/v1/customers", handler: listCustomers, sharesPath: true },
      { origin: "hyperline", method: "POST", path: "/v1/apps", handler: withApiKey(createApp) },
      {
        origin: "hyperline",
        method: "GET",
        path: "/v1/apps",
        handler: withApiKey(() => json(200, { data: [...apps.values()].map(publicApp) })),
      },
      { origin: "hyperline", method: "PUT", path: "/v1/apps/:appId", handler: withApiKey(updateApp) },
      { origin: "hyperline", method: "PATCH", path: "/v1/apps/:appId", handler: withApiKey(updateApp) },
      { origin: "hyperline", method: "DELETE", path: "/v1/apps/:appId", handler: withApiKey(deleteApp) },
      ...anyMethod("hyperline", "/v1/*", otherApi),
    ],
    control: {
      authorize: (authorizationUrl, decision = "approve") => decide(new URL(authorizationUrl).searchParams, decision),
      companies,
    },
    retained: () => ({ hyperlineCodes: codes.size }),
  }
}
