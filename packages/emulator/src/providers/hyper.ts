/**
 * hyper: RFC 8628 device authorization, device-code token polling, RFC 7662
 * introspection, and a Bearer-protected sample API under /v1/.
 */
import { randomInt } from "node:crypto"
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
  oauthError,
  oauthForm,
  type ProviderParts,
} from "../Http.js"
import { type Clock, defaultUser, Forgetful, Seal, type Tokens } from "../State.js"
import { page } from "./pages.js"

/**
 * The public client registered with the emulated hyper: its `env` sets
 * `HYPER_CLIENT_ID` to it.
 *
 * @example
 * ```ts
 * import { defaultHyperClient } from "@hyperauth/emulator"
 *
 * defaultHyperClient.clientId // "hyperauth-emulator"
 * ```
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultHyperClient = { clientId: "hyperauth-emulator" } as const

/**
 * hyper's options: its client, the polling interval and the lifetimes of
 * device codes and tokens.
 *
 * @example
 * ```ts
 * import { type HyperOptions, start } from "@hyperauth/emulator"
 *
 * // Polls every 50 ms, device codes that last a minute, access tokens five.
 * const hyper: HyperOptions = { interval: 0.05, deviceCodeLifetime: 60, tokenLifetime: 300 }
 * const emulator = await start({ hyper })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperOptions {
  /**
   * The public client registered with hyper (`defaultHyperClient.clientId`
   * by default); every other `client_id` is `invalid_client`, as at a real
   * provider (RFC 6749 §5.2).
   */
  readonly clientId?: string | undefined
  /** Seconds between polls the client must keep (RFC 8628 `interval`). Default 5. */
  readonly interval?: number | undefined
  /** Seconds a device code lives. Default 600. */
  readonly deviceCodeLifetime?: number | undefined
  /** Seconds an access token lives. Default 3600. */
  readonly tokenLifetime?: number | undefined
  /**
   * Whether a device login also brings a refresh token, renewed with
   * `grant_type=refresh_token` and the client's id (RFC 6749 §6; RFC 8628
   * §3.5 answers as §5.1 does, which may carry one). The seed documents
   * none, so the default is false: the token endpoint then refuses that
   * grant as `unsupported_grant_type`.
   */
  readonly refreshTokens?: boolean | undefined
  /** Seconds a refresh token lives, when `refreshTokens` is on. Default 30 days. */
  readonly refreshTokenLifetime?: number | undefined
  /** Whether each refresh token works once, a spent one presented again ending its login (as hyperid's option). */
  readonly rotateRefreshTokens?: boolean | undefined
}

/** A redeemed login is forgotten at once; its code says the rest (see `token`). */
type DeviceStatus = "pending" | "approved" | "denied"

interface DeviceLogin {
  readonly deviceCode: string
  readonly userCode: string
  readonly clientId: string
  readonly scope: string
  readonly expiresAt: number
  /** Milliseconds; grows by 5 s with each slow_down (RFC 8628 §3.5). */
  intervalMs: number
  lastPollAt: number | undefined
  status: DeviceStatus
}

/**
 * What a test (or the demo) does in the user's place on hyper's
 * verification page.
 *
 * @example
 * ```ts
 * import { type HyperControl, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const hyper: HyperControl = emulator.hyper
 * for (const userCode of hyper.pending()) hyper.deny(userCode) // every waiting device login is refused
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperControl {
  /** Approves the pending login with this user code; false if there is none. */
  readonly approve: (userCode: string) => boolean
  /** Denies it; false if there is none. */
  readonly deny: (userCode: string) => boolean
  /** User codes of logins still waiting for the user. */
  readonly pending: () => ReadonlyArray<string>
}

// RFC 8628 §6.1: a short code from an alphabet without look-alike characters.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
const makeUserCode = (): string => {
  const pick = () => userCodeAlphabet[randomInt(userCodeAlphabet.length)]
  return `${Array.from({ length: 4 }, pick).join("")}-${Array.from({ length: 4 }, pick).join("")}`
}

/** Timers fire on time, not early, but loopback adds jitter both ways. */
const pollToleranceMs = 25

export const hyper = (clock: Clock, tokens: Tokens, options: HyperOptions = {}): ProviderParts<HyperControl> => {
  const interval = options.interval ?? 5
  const deviceCodeLifetime = options.deviceCodeLifetime ?? 600
  const tokenLifetime = options.tokenLifetime ?? 3600
  const refreshTokens = options.refreshTokens === true
  const refreshLifetime = options.refreshTokenLifetime ?? 2_592_000
  const byUserCode = new Map<string, DeviceLogin>()
  // Forgotten once expired: no one can approve it, and its code is still answered expired_token.
  const byDeviceCode = new Forgetful<string, DeviceLogin>(
    (login) => login.expiresAt <= clock.now(),
    (login) => byUserCode.get(login.userCode) === login && byUserCode.delete(login.userCode),
  )
  const seal = new Seal()

  const pendingLogin = (userCode: string): DeviceLogin | undefined => {
    const login = byUserCode.get(userCode.trim().toUpperCase())
    return login !== undefined && login.status === "pending" && login.expiresAt > clock.now() ? login : undefined
  }

  const decide = (userCode: string, status: "approved" | "denied"): boolean => {
    const login = pendingLogin(userCode)
    if (login === undefined) return false
    login.status = status
    return true
  }

  const clientId = options.clientId ?? defaultHyperClient.clientId
  /** Why `form` does not name the registered client, if it does not (the client is public: its id is all it shows). */
  const unknownClient = (form: URLSearchParams): EmulatorResponse | undefined => {
    const presented = form.get("client_id")
    if (presented === null || presented === "") return oauthError(401, "invalid_client", "client_id is required")
    return presented === clientId ? undefined : oauthError(401, "invalid_client", "Unknown client_id")
  }

  const origin = (request: EmulatorRequest) => `http://${request.headers.host ?? "127.0.0.1"}`

  const deviceAuthorization = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const refused = unknownClient(form)
    if (refused !== undefined) return refused
    const expiresAt = clock.now() + deviceCodeLifetime * 1000
    const login: DeviceLogin = {
      deviceCode: seal.issue("hyper_dc", clientId, expiresAt),
      userCode: makeUserCode(),
      clientId,
      scope: form.get("scope") ?? "",
      expiresAt,
      intervalMs: interval * 1000,
      lastPollAt: undefined,
      status: "pending",
    }
    byDeviceCode.set(login.deviceCode, login)
    byUserCode.set(login.userCode, login)
    const verificationUri = `${origin(request)}/device`
    return json(200, {
      device_code: login.deviceCode,
      user_code: login.userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(login.userCode)}`,
      expires_in: deviceCodeLifetime,
      interval,
    })
  }

  /** A token answer: an access token, and a refresh token when they are on. */
  const issue = (scope: string, grant: string): EmulatorResponse => {
    const held = { provider: "hyper", clientId, subject: defaultUser.sub, scope, grant }
    const access = tokens.issue("access", { ...held, lifetime: tokenLifetime })
    const refresh = refreshTokens ? tokens.issue("refresh", { ...held, lifetime: refreshLifetime }) : undefined
    return json(200, {
      access_token: access.value,
      token_type: "Bearer",
      expires_in: tokenLifetime,
      ...(refresh === undefined ? {} : { refresh_token: refresh.value }),
      ...(scope === "" ? {} : { scope }),
    })
  }

  const renew = (form: URLSearchParams): EmulatorResponse => {
    const value = form.get("refresh_token")
    if (value === null) return oauthError(400, "invalid_request", "refresh_token is required")
    const previous = tokens.redeemRefresh(value, "hyper", clientId, options.rotateRefreshTokens === true)
    if (previous === "reused") return oauthError(400, "invalid_grant", "Refresh token already used")
    if (previous === "invalid") return oauthError(400, "invalid_grant", "Invalid refresh token")
    return issue(previous.scope, previous.grant)
  }

  const token = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const grantType = form.get("grant_type")
    if (grantType === null) return oauthError(400, "invalid_request", "grant_type is required")
    const renewing = refreshTokens && grantType === "refresh_token"
    if (grantType !== "urn:ietf:params:oauth:grant-type:device_code" && !renewing) {
      return oauthError(400, "unsupported_grant_type", "Only the device_code grant is supported")
    }
    const refused = unknownClient(form)
    if (refused !== undefined) return refused
    if (renewing) return renew(form)
    const deviceCode = form.get("device_code")
    if (deviceCode === null) return oauthError(400, "invalid_request", "device_code is required")
    const found = byDeviceCode.get(deviceCode)
    const now = clock.now() // not before `get`, which forgets what has expired by its own reading
    // `get` read the clock first: a login that expired since is expired all the same.
    const login = found !== undefined && found.expiresAt <= now ? undefined : found
    if (found !== undefined && login === undefined) byDeviceCode.delete(found.deviceCode)
    if (login === undefined) {
      // A login is forgotten once redeemed or expired; its code, sealed with its client and expiry, tells which.
      // Past its expiry a redeemed code is expired too: the session has concluded (RFC 8628 §3.5).
      const expiresAt = seal.expiry(deviceCode, "hyper_dc", clientId)
      if (expiresAt !== undefined && expiresAt <= now) {
        return oauthError(400, "expired_token", "The device code has expired")
      }
      return oauthError(400, "invalid_grant", "Unknown or already used device code")
    }
    const tooSoon = login.lastPollAt !== undefined && now - login.lastPollAt + pollToleranceMs < login.intervalMs
    login.lastPollAt = now
    if (tooSoon) {
      login.intervalMs += 5000
      return oauthError(400, "slow_down", "Polling too fast; wait 5 more seconds between polls")
    }
    if (login.status === "denied") return oauthError(400, "access_denied", "The user denied the request")
    if (login.status === "pending") return oauthError(400, "authorization_pending", "The user has not yet approved")
    byDeviceCode.delete(login.deviceCode)
    return issue(login.scope, login.deviceCode)
  }

  const introspect = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const refused = unknownClient(form)
    if (refused !== undefined) return refused
    const value = form.get("token")
    if (value === null) return oauthError(400, "invalid_request", "token is required")
    const found = tokens.valid(value, "access", "hyper")
    if (found === undefined) return json(200, { active: false })
    return json(200, {
      active: true,
      scope: found.scope,
      client_id: found.clientId,
      token_type: "Bearer",
      sub: found.subject,
      exp: Math.floor((found.expiresAt ?? 0) / 1000),
      iat: Math.floor(found.issuedAt / 1000),
    })
  }

  const api = (request: EmulatorRequest): EmulatorResponse => {
    const found = tokens.valid(bearerToken(request), "access", "hyper")
    if (found === undefined) return invalidToken(request)
    if (request.path === "/v1/me") {
      return json(200, { sub: found.subject, email: defaultUser.email, scope: found.scope, client_id: found.clientId })
    }
    return json(404, { message: `No resource at ${request.path}` })
  }

  const verificationPage = (request: EmulatorRequest): EmulatorResponse => {
    const userCode = escapeHtml(request.query.get("user_code") ?? "")
    return html(
      200,
      page(
        "hyper — connect a device",
        `<p>Enter the code shown on your device.</p><form method="post" action="/device">` +
          `<label>Code <input name="user_code" value="${userCode}" autocomplete="off" required></label> ` +
          `<button name="action" value="approve">Approve</button> <button name="action" value="deny">Deny</button></form>`,
      ),
    )
  }

  const verificationDecision = (request: EmulatorRequest): EmulatorResponse => {
    const form = formBody(request) ?? new URLSearchParams()
    const userCode = form.get("user_code") ?? ""
    const action = form.get("action")
    if (action !== "approve" && action !== "deny") {
      return html(400, page("No decision", `<p>Choose Approve or Deny. <a href="/device">Try again</a>.</p>`))
    }
    const approve = action === "approve"
    if (!decide(userCode, approve ? "approved" : "denied")) {
      return html(
        400,
        page("Unknown code", `<p>No login is waiting for that code. <a href="/device">Try again</a>.</p>`),
      )
    }
    return html(
      200,
      page(
        approve ? "Device connected" : "Request denied",
        "<p>You can close this page and return to your device.</p>",
      ),
    )
  }

  return {
    env: { HYPER_CLIENT_ID: clientId },
    routes: [
      { origin: "hyper", method: "POST", path: "/oauth/device", handler: deviceAuthorization },
      { origin: "hyper", method: "POST", path: "/oauth/token", handler: token },
      { origin: "hyper", method: "POST", path: "/oauth/introspect", handler: introspect },
      { origin: "hyper", method: "GET", path: "/device", handler: verificationPage },
      { origin: "hyper", method: "POST", path: "/device", handler: verificationDecision },
      ...anyMethod("hyper", "/v1/*", api),
    ],
    control: {
      approve: (userCode) => decide(userCode, "approved"),
      deny: (userCode) => decide(userCode, "denied"),
      pending: () =>
        [...byUserCode.values()].filter((l) => pendingLogin(l.userCode) !== undefined).map((l) => l.userCode),
    },
    retained: () => ({ hyperDeviceCodes: byDeviceCode.size, hyperUserCodes: byUserCode.size }),
  }
}
