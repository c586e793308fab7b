/**
 * hyperid: a Keycloak-style OpenID Connect realm. Authorization page with
 * the KYC/social parameters, token endpoint (authorization code with
 * optional PKCE, refresh), introspection, logout and userinfo.
 */
import { createHash } from "node:crypto"
import {
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  escapeHtml,
  formBody,
  html,
  invalidToken,
  json,
  oauthError,
  oauthForm,
  oauthParameters,
  type ProviderParts,
  redirect,
} from "../Http.js"
import { type Clock, defaultUser, Forgetful, opaque, type Tokens } from "../State.js"
import { clientRefusal, isLoopbackRedirect, type RegisteredClient } from "./clientAuth.js"
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
 * The path of hyperid's realm endpoints under its origin.
 *
 * @example
 * ```ts
 * import { hyperidRealmPath, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const tokenEndpoint = `${emulator.origins.hyperid}${hyperidRealmPath}/token`
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const hyperidRealmPath = "/auth/realms/HyperID/protocol/openid-connect"

/**
 * The client registered with the emulated hyperid unless `HyperIdOptions`
 * names another; `Emulator.env` carries it.
 *
 * @example
 * ```ts
 * import { defaultHyperIdClient } from "@hyperauth/emulator"
 *
 * defaultHyperIdClient.clientId // "hyperid-client"
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHyperIdClient = { clientId: "hyperid-client", clientSecret: "hyperid-secret" } as const

/**
 * hyperid's options: its client, extra redirect URIs, token lifetimes and
 * refresh-token rotation.
 *
 * @example
 * ```ts
 * import { type HyperIdOptions, start } from "@hyperauth/emulator"
 *
 * // Access tokens for a minute, refresh tokens for ten, each refresh token accepted once.
 * const hyperid: HyperIdOptions = { tokenLifetime: 60, refreshTokenLifetime: 600, rotateRefreshTokens: true }
 * const emulator = await start({ hyperid })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperIdOptions {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  /** Redirect URIs allowed besides loopback ones (which are allowed on any port). */
  readonly redirectUris?: ReadonlyArray<string> | undefined
  readonly tokenLifetime?: number | undefined
  readonly refreshTokenLifetime?: number | undefined
  /**
   * Strict refresh-token rotation with reuse detection (Keycloak's "Revoke
   * Refresh Token" with no reuse): each refresh token works once, and one
   * presented again revokes the whole login.
   */
  readonly rotateRefreshTokens?: boolean | undefined
}

/**
 * What a test does in the user's place on hyperid's authorization page.
 *
 * @example
 * ```ts
 * import { type HyperIdControl, start } from "@hyperauth/emulator"
 *
 * declare const authorizationUrl: string // where a hyperid login sends the user
 * const emulator = await start()
 * const hyperid: HyperIdControl = emulator.hyperid
 * const refused = hyperid.authorize(authorizationUrl, "deny") // the redirect URI, with error=access_denied
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperIdControl {
  /**
   * Acts as the user on the authorization page: returns the URL the browser
   * is redirected to (with `code`, or `error=access_denied`).
   */
  readonly authorize: (authorizationUrl: string, decision?: "approve" | "deny") => string
}

interface Grant {
  readonly code: string
  readonly clientId: string
  readonly redirectUri: string
  readonly scope: string
  readonly codeChallenge: string | undefined
  readonly expiresAt: number
  redeemed: boolean
  /** The login its tokens belong to, once redeemed. */
  grant: string | undefined
  /** When the user approved, their `auth_time`. */
  readonly authenticatedAt: number
}

export const hyperid = (clock: Clock, tokens: Tokens, options: HyperIdOptions = {}): ProviderParts<HyperIdControl> => {
  const client: RegisteredClient = {
    clientId: options.clientId ?? defaultHyperIdClient.clientId,
    clientSecret: options.clientSecret ?? defaultHyperIdClient.clientSecret,
  }
  const tokenLifetime = options.tokenLifetime ?? 3600
  const refreshLifetime = options.refreshTokenLifetime ?? 2_592_000
  // Forgotten once expired, when it is answered as unknown; until then a redeemed code is kept, as using it again revokes its tokens.
  const codes = new Forgetful<string, Grant>((grant) => grant.expiresAt <= clock.now())
  const issuerAt = (host: string) => `http://${host}/auth/realms/HyperID`
  const issuer = (request: EmulatorRequest) => issuerAt(request.headers.host ?? "127.0.0.1")

  const redirectAllowed = (uri: string) => isLoopbackRedirect(uri) || (options.redirectUris ?? []).includes(uri)

  /**
   * Validates an authorization request: the redirect back to the client
   * with the error that refuses it, if one does, and the way back. Like
   * Keycloak, every response names its issuer (RFC 9207 `iss`).
   */
  const validate = (fields: URLSearchParams, iss: string) => {
    const parameters = oauthParameters(fields)
    const repeated = parameters instanceof URLSearchParams ? undefined : parameters.repeated
    if (repeated === "client_id" || repeated === "redirect_uri")
      throw new Unredirectable(`${repeated} is given more than once`)
    const query = parameters instanceof URLSearchParams ? parameters : fields
    const redirectUri = query.get("redirect_uri") ?? ""
    if (query.get("client_id") !== client.clientId) throw new Unredirectable("Unknown client_id")
    if (!redirectAllowed(redirectUri)) throw new Unredirectable("redirect_uri is not registered for this client")
    const back = redirectBack(redirectUri, query.get("state"), iss)
    const refusal = (): string | undefined => {
      const fail = back.error
      if (repeated !== undefined) return fail("invalid_request", `${repeated} is given more than once`)
      if (query.get("response_type") !== "code") return fail("unsupported_response_type", "response_type must be code")
      const scope = query.get("scope") ?? ""
      const level = query.get("verification_level")
      if (level !== null) {
        if (!["2", "3", "4"].includes(level)) return fail("invalid_request", "verification_level must be 2, 3 or 4")
        const scopes = scope.split(" ")
        if (level === "2" && !scopes.includes("twitter-check") && !scopes.includes("telegram-check")) {
          return fail("invalid_scope", "verification_level 2 needs twitter-check or telegram-check in scope")
        }
      }
      // Without a method the challenge is plain (RFC 7636 §4.3), which this server does not take (§4.4.1).
      if (query.get("code_challenge") !== null && query.get("code_challenge_method") !== "S256") {
        return fail("invalid_request", "code_challenge_method must be S256")
      }
      return undefined
    }
    return { query, back, refused: refusal() }
  }

  /** The redirect that answers an authorization request the user decided. */
  const decide = (fields: URLSearchParams, decision: "approve" | "deny", iss: string): string => {
    const { query, back, refused } = validate(fields, iss)
    if (refused !== undefined) return refused
    if (decision === "deny") return back.error("access_denied", "The user denied the request")
    const code = opaque("hyperid_code")
    codes.set(code, {
      code,
      clientId: client.clientId,
      redirectUri: query.get("redirect_uri") ?? "",
      scope: query.get("scope") ?? "",
      codeChallenge: query.get("code_challenge") ?? undefined,
      expiresAt: clock.now() + 60_000,
      redeemed: false,
      grant: undefined,
      authenticatedAt: clock.now(),
    })
    return back.success({ code, locale: (query.get("ui_locales") ?? "en").split(" ")[0] || "en" })
  }

  const levels: Record<string, string> = {
    "2": "Social verification (Twitter or Telegram)",
    "3": "KYC basic: identity documents, phone, selfie",
    "4": "KYC full: identity documents, proof of address, phone, selfie",
  }

  const authorizationPage = (request: EmulatorRequest): EmulatorResponse => {
    try {
      // A request it would refuse goes straight back with the error (RFC 6749 §4.1.2.1).
      const { refused } = validate(request.query, issuer(request))
      if (refused !== undefined) return redirect(refused)
    } catch (error) {
      return html(400, cannotContinue("hyperid", error))
    }
    const level = request.query.get("verification_level")
    const scope = request.query.get("scope") ?? ""
    return html(
      200,
      page(
        "Sign in with hyperid",
        `<p>Signed in as <strong>${defaultUser.email}</strong>.</p>` +
          `<p>The application <code>${escapeHtml(client.clientId)}</code> asks for: <code>${escapeHtml(scope || "(no scope)")}</code></p>` +
          (level === null
            ? ""
            : `<p>Verification level ${escapeHtml(level)}: ${escapeHtml(levels[level] ?? "unknown")}</p>`) +
          consentForm(`${hyperidRealmPath}/auth`, request.query),
      ),
    )
  }

  const authorizationDecision = (request: EmulatorRequest): EmulatorResponse => {
    const form = formBody(request) ?? new URLSearchParams()
    const decision = consentDecision(form)
    if (decision === undefined) return html(400, noDecision("hyperid"))
    try {
      return redirect(decide(form, decision, issuer(request)))
    } catch (error) {
      return html(400, cannotContinue("hyperid", error))
    }
  }

  const issue = (clientId: string, scope: string, grant: string, authenticatedAt: number) => {
    const access = tokens.issue("access", {
      provider: "hyperid",
      clientId,
      subject: defaultUser.sub,
      scope,
      grant,
      lifetime: tokenLifetime,
      authenticatedAt,
    })
    const refresh = tokens.issue("refresh", {
      provider: "hyperid",
      clientId,
      subject: defaultUser.sub,
      scope,
      grant,
      lifetime: refreshLifetime,
      authenticatedAt,
    })
    return json(200, {
      access_token: access.value,
      expires_in: tokenLifetime,
      refresh_token: refresh.value,
      refresh_expires_in: refreshLifetime,
      token_type: "Bearer",
      scope,
    })
  }

  const token = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const refused = clientRefusal(request, form, client)
    if (refused !== undefined) return refused
    const grantType = form.get("grant_type")
    if (grantType === "authorization_code") {
      const grant = codes.get(form.get("code") ?? "")
      if (grant === undefined || grant.expiresAt <= clock.now()) {
        return oauthError(400, "invalid_grant", "Code not valid")
      }
      if (grant.redeemed) {
        // RFC 6749 §4.1.2: a code used twice revokes what it issued.
        if (grant.grant !== undefined) tokens.revokeGrant(grant.grant)
        return oauthError(400, "invalid_grant", "Code already used")
      }
      if (form.get("redirect_uri") !== grant.redirectUri)
        return oauthError(400, "invalid_grant", "Incorrect redirect_uri")
      // As Keycloak: a verifier for a code issued without a challenge is a PKCE downgrade (RFC 9700 §2.1.1).
      if (grant.codeChallenge === undefined && form.get("code_verifier") !== null)
        return oauthError(
          400,
          "invalid_grant",
          "PKCE code verifier specified but challenge not present in authorization",
        )
      if (grant.codeChallenge !== undefined) {
        const verifier = form.get("code_verifier")
        if (verifier === null)
          return oauthError(400, "invalid_grant", "PKCE verification failed: code_verifier missing")
        if (createHash("sha256").update(verifier).digest("base64url") !== grant.codeChallenge) {
          return oauthError(400, "invalid_grant", "PKCE verification failed")
        }
      }
      grant.redeemed = true
      grant.grant = opaque("hyperid_session")
      return issue(grant.clientId, grant.scope, grant.grant, grant.authenticatedAt)
    }
    if (grantType === "refresh_token") {
      const previous = tokens.redeemRefresh(
        form.get("refresh_token") ?? undefined,
        "hyperid",
        client.clientId,
        options.rotateRefreshTokens === true,
      )
      if (previous === "reused") return oauthError(400, "invalid_grant", "Maximum allowed refresh token reuse exceeded")
      if (previous === "invalid") return oauthError(400, "invalid_grant", "Invalid refresh token")
      return issue(previous.clientId, previous.scope, previous.grant, previous.authenticatedAt)
    }
    if (grantType === null) return oauthError(400, "invalid_request", "grant_type is required")
    return oauthError(400, "unsupported_grant_type", "Unsupported grant_type")
  }

  const introspect = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const refused = clientRefusal(request, form, client)
    if (refused !== undefined) return refused
    // The documentation marks it REQUIRED, with the one value access_token.
    if (form.get("token_type_hint") !== "access_token")
      return oauthError(400, "invalid_request", "token_type_hint is required and must be access_token")
    const found = tokens.valid(form.get("token") ?? undefined, "access", "hyperid")
    if (found === undefined) return json(200, { active: false })
    return json(200, {
      exp: Math.floor((found.expiresAt ?? 0) / 1000),
      iat: Math.floor(found.issuedAt / 1000),
      auth_time: Math.floor(found.authenticatedAt / 1000),
      iss: issuer(request),
      sub: found.subject,
      typ: "Bearer",
      azp: found.clientId,
      email: defaultUser.email,
      email_verified: true,
      scope: found.scope,
      active: true,
    })
  }

  const logout = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const refused = clientRefusal(request, form, client)
    if (refused !== undefined) return refused
    const value = form.get("refresh_token")
    if (value === null) return oauthError(400, "invalid_request", "refresh_token is required")
    const refresh = tokens.valid(value, "refresh", "hyperid")
    if (refresh === undefined) return oauthError(400, "invalid_grant", "Invalid refresh token")
    tokens.revokeGrant(refresh.grant)
    return { status: 204 }
  }

  const userinfo = (request: EmulatorRequest): EmulatorResponse => {
    const found = tokens.valid(bearerToken(request), "access", "hyperid")
    if (found === undefined) return invalidToken(request)
    return json(200, {
      sub: found.subject,
      email: defaultUser.email,
      email_verified: true,
      given_name: defaultUser.givenName,
      family_name: defaultUser.surname,
    })
  }

  const path = (suffix: string) => `${hyperidRealmPath}${suffix}`
  return {
    env: { HYPERID_CLIENT_ID: client.clientId, HYPERID_CLIENT_SECRET: client.clientSecret },
    routes: [
      { origin: "hyperid", method: "GET", path: path("/auth"), handler: authorizationPage },
      { origin: "hyperid", method: "POST", path: path("/auth"), handler: authorizationDecision },
      { origin: "hyperid", method: "POST", path: path("/token"), handler: token },
      { origin: "hyperid", method: "POST", path: path("/token/introspect"), handler: introspect },
      { origin: "hyperid", method: "POST", path: path("/logout"), handler: logout },
      { origin: "hyperid", method: "GET", path: path("/userinfo"), handler: userinfo },
    ],
    control: {
      authorize: (authorizationUrl, decision = "approve") => {
        const url = new URL(authorizationUrl)
        return decide(url.searchParams, decision, issuerAt(url.host))
      },
    },
    retained: () => ({ hyperidCodes: codes.size }),
  }
}
