/**
 * hyperproof: the client-credentials token endpoint (accounts origin) and
 * the controls API (API origin).
 */
import {
  anyMethod,
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  invalidToken,
  json,
  oauthError,
  oauthForm,
  type ProviderParts,
} from "../Http.js"
import { defaultUser, opaque, type Tokens } from "../State.js"
import { clientRefusal } from "./clientAuth.js"

/**
 * hyperproof's options: its client and the token lifetime.
 *
 * @example
 * ```ts
 * import { type HyperproofOptions, start } from "@hyperauth/emulator"
 *
 * // Client-credentials tokens that expire after a minute.
 * const hyperproof: HyperproofOptions = { tokenLifetime: 60 }
 * const emulator = await start({ hyperproof })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperproofOptions {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  /** Seconds an access token lives. Default 3600. */
  readonly tokenLifetime?: number | undefined
}

/**
 * The controls the emulated hyperproof API serves.
 *
 * @example
 * ```ts
 * import { type HyperproofControl, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const hyperproof: HyperproofControl = emulator.hyperproof
 * hyperproof.putControl({ id: "ctl_backup", orgId: "org_1", name: "Nightly backups" }) // GET /v1/controls/ctl_backup now finds it
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HyperproofControl {
  /** Adds or replaces a control served by `GET /v1/controls/{id}`. */
  readonly putControl: (control: Record<string, unknown> & { readonly id: string }) => void
}

/**
 * The client registered with the emulated hyperproof unless
 * `HyperproofOptions` names another; `Emulator.env` carries it.
 *
 * @example
 * ```ts
 * import { defaultHyperproofClient } from "@hyperauth/emulator"
 *
 * defaultHyperproofClient.clientId // "hyperproof-client"
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHyperproofClient = { clientId: "hyperproof-client", clientSecret: "hyperproof-secret" } as const

const user = (id: string, givenName: string, surname: string) => ({
  id,
  email: `${givenName.toLowerCase()}@example.com`,
  givenName,
  surname,
  profilePhotoName: `${id}.png`,
  userId: id,
  roleIds: ["role_admin"],
  state: "active",
})

/**
 * The control of the provider's documentation, filled in: what
 * `GET /v1/controls/ctl_access_review` answers.
 *
 * @example
 * ```ts
 * import { sampleControl, start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * emulator.hyperproof.putControl({ ...sampleControl, id: "ctl_backup", name: "Nightly backups" })
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const sampleControl = {
  id: "ctl_access_review",
  orgId: "org_1",
  controlIdentifier: "AC-2",
  name: "Quarterly access review",
  description: "Review who can reach production systems every quarter.",
  notes: "Evidence is the signed review spreadsheet.",
  domainId: "dom_access",
  domainName: "Access Control",
  workStatus: "inProgress",
  owner: user(defaultUser.sub, defaultUser.givenName, defaultUser.surname),
  freshnessPolicy: "quarterly",
  freshForDuration: "P90D",
  createdBy: user("user_grace", "Grace", "Hopper"),
  createdOn: "2026-01-05T09:00:00.000Z",
  updatedBy: user(defaultUser.sub, defaultUser.givenName, defaultUser.surname),
  updatedOn: "2026-10-01T12:30:00.000Z",
  status: "active",
  permissions: ["view", "edit"],
}

export const hyperproof = (tokens: Tokens, options: HyperproofOptions = {}): ProviderParts<HyperproofControl> => {
  const clientId = options.clientId ?? defaultHyperproofClient.clientId
  const clientSecret = options.clientSecret ?? defaultHyperproofClient.clientSecret
  const tokenLifetime = options.tokenLifetime ?? 3600
  const controls = new Map<string, Record<string, unknown>>([[sampleControl.id, sampleControl]])

  const token = (request: EmulatorRequest): EmulatorResponse => {
    const form = oauthForm(request)
    if (!(form instanceof URLSearchParams)) return form
    const grantType = form.get("grant_type")
    if (grantType === null) return oauthError(400, "invalid_request", "grant_type is required")
    if (grantType !== "client_credentials") {
      return oauthError(400, "unsupported_grant_type", "Only client_credentials is supported")
    }
    const refused = clientRefusal(request, form, { clientId, clientSecret })
    if (refused !== undefined) return refused
    const scope = form.get("scope") ?? ""
    const issued = tokens.issue("access", {
      provider: "hyperproof",
      clientId,
      subject: defaultUser.sub,
      scope,
      grant: opaque("hyperproof_grant"),
      lifetime: tokenLifetime,
    })
    // The seed's answer, member for member: the scope granted is the one asked for, which RFC 6749 §5.1 leaves out.
    return json(200, { access_token: issued.value, token_type: "bearer", expires_in: tokenLifetime })
  }

  const authorized = (request: EmulatorRequest) => tokens.valid(bearerToken(request), "access", "hyperproof")

  const getControl = (request: EmulatorRequest): EmulatorResponse => {
    if (authorized(request) === undefined) return invalidToken(request)
    const control = controls.get(request.params.controlId ?? "")
    return control === undefined ? json(404, { message: "Control not found" }) : json(200, control)
  }

  const other = (request: EmulatorRequest): EmulatorResponse =>
    authorized(request) === undefined ? invalidToken(request) : json(404, { message: `No resource at ${request.path}` })

  return {
    env: { HYPERPROOF_CLIENT_ID: clientId, HYPERPROOF_CLIENT_SECRET: clientSecret },
    routes: [
      { origin: "hyperproofAccounts", method: "POST", path: "/oauth/token", handler: token },
      {
        origin: "hyperproofApi",
        method: "GET",
        path: "/v1/controls/:controlId",
        handler: getControl,
        sharesPath: true,
      },
      ...anyMethod("hyperproofApi", "/v1/*", other),
    ],
    control: { putControl: (control) => controls.set(control.id, control) },
  }
}
