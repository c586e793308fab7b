/**
 * Requests to OAuth endpoints, built by piping: an endpoint, then what to
 * send, then how the client authenticates, then the body's encoding.
 *
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const refresh = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("refresh_token", { refresh_token: Redacted.make("a-refresh-token") }),
 *   Requests.clientAuth(Requests.ClientSecretPost("my-client", Redacted.make("my-secret"))),
 *   Requests.json,
 * )
 * ```
 *
 * A request knows whether it may be sent again after a failure (a grant
 * that redeems a one-time code or a refresh token may not), and `build`
 * hands the pipeline the secrets it carries, so that no error built from
 * the answer repeats them. Client authentication is a value, as in
 * oauth4webapi: `ClientSecretPost`, `ClientSecretBasic` or `None`.
 *
 * @since 0.2.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Redacted from "effect/Redacted"

/**
 * A parameter's value: text, a secret (sent, and scrubbed from errors), or
 * undefined for a parameter left out.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const params: Record<string, Requests.Param> = { code: Redacted.make("the-code"), scope: undefined }
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type Param = string | Redacted.Redacted<string> | undefined

/**
 * The client id and secret in the body (`client_secret_post`, RFC 6749 §2.3.1).
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const auth: Requests.ClientAuth = Requests.ClientSecretPost("my-client", Redacted.make("my-secret"))
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export interface ClientSecretPost {
  readonly _tag: "ClientSecretPost"
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}

/**
 * The client id and secret in an `Authorization: Basic` header
 * (`client_secret_basic`, RFC 6749 §2.3.1), each form-urlencoded first.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const auth: Requests.ClientAuth = Requests.ClientSecretBasic("my-client", Redacted.make("my-secret"))
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export interface ClientSecretBasic {
  readonly _tag: "ClientSecretBasic"
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}

/**
 * A public client: its id in the body and no secret (RFC 6749 §2.1, §3.2.1).
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const auth: Requests.ClientAuth = Requests.None("my-public-client")
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export interface None {
  readonly _tag: "None"
  readonly clientId: string
}

/**
 * How a client authenticates at an endpoint.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const describe = (auth: Requests.ClientAuth) => (auth._tag === "None" ? "public client" : auth._tag)
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export type ClientAuth = ClientSecretPost | ClientSecretBasic | None

/**
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const auth = Requests.ClientSecretPost("my-client", Redacted.make("my-secret"))
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export const ClientSecretPost = (clientId: string, clientSecret: Redacted.Redacted<string>): ClientAuth => ({
  _tag: "ClientSecretPost",
  clientId,
  clientSecret,
})

/**
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const auth = Requests.ClientSecretBasic("my-client", Redacted.make("my-secret"))
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export const ClientSecretBasic = (clientId: string, clientSecret: Redacted.Redacted<string>): ClientAuth => ({
  _tag: "ClientSecretBasic",
  clientId,
  clientSecret,
})

/**
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const auth = Requests.None("my-public-client")
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export const None = (clientId: string): ClientAuth => ({ _tag: "None", clientId })

/**
 * `ClientSecretPost` when there is a secret, `None` for a public client.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const auth = Requests.secretPostOrNone("my-client", undefined) // None
 * ```
 *
 * @since 0.2.0
 * @category client authentication
 */
export const secretPostOrNone = (clientId: string, clientSecret: Redacted.Redacted<string> | undefined): ClientAuth =>
  clientSecret === undefined ? None(clientId) : ClientSecretPost(clientId, clientSecret)

/**
 * A request to an OAuth endpoint, not yet built.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const request: Requests.OAuthRequest = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("client_credentials"),
 * )
 * request.idempotent // true
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface OAuthRequest extends Pipeable {
  readonly url: string
  /** Body parameters, in order; undefined ones are left out. */
  readonly params: Readonly<Record<string, Param>>
  readonly clientAuth: ClientAuth | undefined
  /** `form` (`application/x-www-form-urlencoded`, the RFCs' default) or `json`. */
  readonly encoding: "form" | "json"
  /** Whether it may be sent again after a failure the server may have handled. */
  readonly idempotent: boolean
}

class OAuthRequestImpl implements OAuthRequest {
  constructor(
    readonly url: string,
    readonly params: Readonly<Record<string, Param>>,
    readonly clientAuth: ClientAuth | undefined,
    readonly encoding: "form" | "json",
    readonly idempotent: boolean,
  ) {}
  pipe() {
    // biome-ignore lint/complexity/noArguments: pipeArguments takes the call's arguments, as everywhere in effect.
    return pipeArguments(this, arguments)
  }
}

const copy = (self: OAuthRequest, change: Partial<Omit<OAuthRequest, "pipe">>): OAuthRequest =>
  new OAuthRequestImpl(
    change.url ?? self.url,
    change.params ?? self.params,
    "clientAuth" in change ? change.clientAuth : self.clientAuth,
    change.encoding ?? self.encoding,
    change.idempotent ?? self.idempotent,
  )

/**
 * A POST to `url` with no parameters yet; `idempotent` says whether it may
 * be sent again after a failure the server may have handled.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const logout = Requests.make("https://id.example/logout", { idempotent: true })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (url: string, options: { readonly idempotent: boolean }): OAuthRequest =>
  new OAuthRequestImpl(url, {}, undefined, "form", options.idempotent)

/**
 * A token endpoint request (RFC 6749 §3.2); pipe it to `grant`.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const request = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("client_credentials", { scope: "read" }),
 *   Requests.clientAuth(Requests.ClientSecretPost("my-client", Redacted.make("my-secret"))),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const token = (url: string): OAuthRequest => make(url, { idempotent: true })

/**
 * RFC 8628 §3.1. Repeating it only creates another device code.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const request = Requests.deviceAuthorization("https://auth.example/oauth/device").pipe(
 *   Requests.params({ scope: "openid" }),
 *   Requests.clientAuth(Requests.None("my-device-app")),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const deviceAuthorization = (url: string): OAuthRequest => make(url, { idempotent: true })

/**
 * RFC 7662 §2.1; pipe it to `params({ token, token_type_hint })`. Asking twice changes nothing.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const request = Requests.introspection("https://auth.example/oauth/introspect").pipe(
 *   Requests.params({ token: Redacted.make("an-access-token"), token_type_hint: "access_token" }),
 *   Requests.clientAuth(Requests.None("my-client")),
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const introspection = (url: string): OAuthRequest => make(url, { idempotent: true })

/**
 * RFC 7009 §2.1; revoking twice has the same effect as once.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const request = Requests.revocation("https://auth.example/oauth/revoke").pipe(
 *   Requests.params({ token: Redacted.make("a-refresh-token") }),
 *   Requests.json,
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const revocation = (url: string): OAuthRequest => make(url, { idempotent: true })

/**
 * The grant types of RFC 6749 §4.1.3, §4.4 and §6, and RFC 8628 §3.4.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const type: Requests.GrantType = "urn:ietf:params:oauth:grant-type:device_code"
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export type GrantType =
  | "authorization_code"
  | "refresh_token"
  | "client_credentials"
  | "urn:ietf:params:oauth:grant-type:device_code"

/**
 * Grants that must not be sent twice after a failure the server may have
 * handled: one redeems a one-time code, the other a refresh token that a
 * rotating server may have used up even when its answer was lost. Client
 * credentials just issue another token; device polling is repetition by
 * design (only the answer with the token redeems the code), but on the
 * poller's schedule: the device flow sends it once per poll, never
 * retried, as a retry within the interval would earn a `slow_down`
 * (RFC 8628 §3.5).
 */
const redeemsOnce: ReadonlySet<GrantType> = new Set(["authorization_code", "refresh_token"])

/**
 * Sets `grant_type` and the grant's parameters, and whether the request
 * may be repeated (`authorization_code` and `refresh_token` may not).
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const request = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("authorization_code", {
 *     code: Redacted.make("the-code"),
 *     redirect_uri: "http://127.0.0.1:8976/callback",
 *     code_verifier: Redacted.make("the-verifier"),
 *   }),
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const grant: {
  (type: GrantType, params?: Readonly<Record<string, Param>>): (self: OAuthRequest) => OAuthRequest
  (self: OAuthRequest, type: GrantType, params?: Readonly<Record<string, Param>>): OAuthRequest
} = dual(
  (args) => typeof args[0] === "object",
  (self: OAuthRequest, type: GrantType, params: Readonly<Record<string, Param>> = {}): OAuthRequest =>
    copy(self, { params: { grant_type: type, ...self.params, ...params }, idempotent: !redeemsOnce.has(type) }),
)

/**
 * Adds body parameters; undefined ones are left out.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const request = Requests.make("https://id.example/logout", { idempotent: true }).pipe(
 *   Requests.params({ post_logout_redirect_uri: undefined, client_id: "my-client" }),
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const params: {
  (params: Readonly<Record<string, Param>>): (self: OAuthRequest) => OAuthRequest
  (self: OAuthRequest, params: Readonly<Record<string, Param>>): OAuthRequest
} = dual(2, (self: OAuthRequest, params: Readonly<Record<string, Param>>) =>
  copy(self, { params: { ...self.params, ...params } }),
)

/**
 * How the client authenticates.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const request = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("client_credentials"),
 *   Requests.clientAuth(Requests.ClientSecretBasic("my-client", Redacted.make("my-secret"))),
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const clientAuth: {
  (auth: ClientAuth): (self: OAuthRequest) => OAuthRequest
  (self: OAuthRequest, auth: ClientAuth): OAuthRequest
} = dual(2, (self: OAuthRequest, auth: ClientAuth) => copy(self, { clientAuth: auth }))

/**
 * The body as JSON (hyperline's token endpoint), not a form.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const request = Requests.token("https://api.example/v1/oauth/tokens").pipe(Requests.json)
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const json = (self: OAuthRequest): OAuthRequest => copy(self, { encoding: "json" })

/**
 * The body as `application/x-www-form-urlencoded`, the default.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const request = Requests.token("https://auth.example/oauth/token").pipe(Requests.form)
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const form = (self: OAuthRequest): OAuthRequest => copy(self, { encoding: "form" })

/**
 * A built request, what the pipeline sends: the HTTP request, the secrets
 * it carries (scrubbed from any error built from its answer) and whether it
 * may be repeated.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 *
 * const built: Requests.Built = Requests.build(Requests.revocation("https://auth.example/oauth/revoke"))
 * built.request.method // "POST"
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface Built {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly idempotent: boolean
}

/**
 * `application/x-www-form-urlencoded` encoding of one value (RFC 6749
 * Appendix B, the WHATWG serializer): its UTF-8 bytes, ASCII letters,
 * digits and `*-._` as they are, a space as `+`, every other byte `%XX`.
 * Never throws: a lone surrogate is sent as U+FFFD, as every encoder does.
 */
const formUrlEncode = (value: string): string => {
  let encoded = ""
  for (const byte of Buffer.from(value, "utf8")) {
    encoded +=
      (byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      unreserved.has(byte)
        ? String.fromCharCode(byte)
        : byte === 0x20
          ? "+"
          : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return encoded
}

/** `*`, `-`, `.`, `_`. */
const unreserved: ReadonlySet<number> = new Set([0x2a, 0x2d, 0x2e, 0x5f])

/**
 * The HTTP request, with the client's authentication in the body or the
 * `Authorization` header, and every secret it carries listed.
 *
 * @example
 * ```ts
 * import { Requests } from "@hyperauth/core"
 * import * as Redacted from "effect/Redacted"
 *
 * const built = Requests.token("https://auth.example/oauth/token").pipe(
 *   Requests.grant("client_credentials"),
 *   Requests.clientAuth(Requests.ClientSecretPost("my-client", Redacted.make("my-secret"))),
 *   Requests.build,
 * )
 * built.secrets // [<redacted>]
 * ```
 *
 * @since 0.2.0
 * @category destructors
 */
export const build = (self: OAuthRequest): Built => {
  const body: Record<string, string> = {}
  const secrets: Array<Redacted.Redacted<string>> = []
  const add = (key: string, value: Param) => {
    if (value === undefined) return
    if (Redacted.isRedacted(value)) {
      secrets.push(value)
      body[key] = Redacted.value(value)
    } else {
      body[key] = value
    }
  }
  for (const key of Object.keys(self.params)) add(key, self.params[key])
  const auth = self.clientAuth
  let authorization: string | undefined
  if (auth !== undefined) {
    if (auth._tag === "ClientSecretBasic") {
      const credentials = `${formUrlEncode(auth.clientId)}:${formUrlEncode(Redacted.value(auth.clientSecret))}`
      const encoded = Buffer.from(credentials).toString("base64")
      authorization = `Basic ${encoded}`
      // The header is the secret in another form: scrubbed as well.
      secrets.push(auth.clientSecret, Redacted.make(encoded))
    } else {
      add("client_id", auth.clientId)
      if (auth._tag === "ClientSecretPost") add("client_secret", auth.clientSecret)
    }
  }
  const request = HttpClientRequest.post(self.url).pipe(
    self.encoding === "form" ? HttpClientRequest.bodyUrlParams(body) : HttpClientRequest.bodyUnsafeJson(body),
  )
  return {
    request:
      authorization === undefined ? request : HttpClientRequest.setHeader(request, "authorization", authorization),
    secrets,
    idempotent: self.idempotent,
  }
}
