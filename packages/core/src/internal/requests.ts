/**
 * Builders for the RFC requests the providers share. Each returns the
 * request together with what the pipeline must know to send it safely: the
 * secrets it carries (scrubbed from error excerpts) and whether it may be
 * repeated after a failure.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Redacted from "effect/Redacted"
import type { SendOptions } from "./pipeline.js"

/** How a client authenticates at a token endpoint. */
export interface ClientAuth {
  readonly clientId: string
  /** Sent in the body (`client_secret_post`, RFC 6749 §2.3.1); absent for public clients. */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
}

/** Form (`application/x-www-form-urlencoded`, the RFC default) or JSON (hyperline). */
export type BodyEncoding = "form" | "json"

export interface OAuthRequest extends SendOptions {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

type Param = string | Redacted.Redacted<string> | undefined

export const post = (
  url: string,
  encoding: BodyEncoding,
  params: Record<string, Param>,
  idempotent: boolean,
): OAuthRequest => {
  const body: Record<string, string> = {}
  const secrets: Array<Redacted.Redacted<string>> = []
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue
    if (Redacted.isRedacted(value)) {
      secrets.push(value)
      body[key] = Redacted.value(value)
    } else {
      body[key] = value
    }
  }
  const request = HttpClientRequest.post(url).pipe(
    encoding === "form" ? HttpClientRequest.bodyUrlParams(body) : HttpClientRequest.bodyUnsafeJson(body),
  )
  return { request, secrets, idempotent }
}

const client = (auth: ClientAuth): Record<string, Param> => ({
  client_id: auth.clientId,
  client_secret: auth.clientSecret,
})

/** RFC 8628 §3.1. Repeating it only creates another device code. */
export const deviceAuthorization = (
  url: string,
  options: { readonly clientId: string; readonly scope?: string | undefined },
) => post(url, "form", { client_id: options.clientId, scope: options.scope }, true)

/**
 * RFC 8628 §3.4. Polling is repetition by design: the device code is
 * redeemed only by the answer that carries the token.
 */
export const deviceToken = (url: string, options: ClientAuth & { readonly deviceCode: Redacted.Redacted<string> }) =>
  post(
    url,
    "form",
    { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: options.deviceCode, ...client(options) },
    true,
  )

/** RFC 6749 §4.1.3. Never repeated: it redeems a one-time code. */
export const authorizationCodeToken = (
  url: string,
  encoding: BodyEncoding,
  options: ClientAuth & {
    readonly code: Redacted.Redacted<string>
    readonly redirectUri: string
    /** RFC 7636 §4.5. */
    readonly codeVerifier?: Redacted.Redacted<string> | undefined
  },
) =>
  post(
    url,
    encoding,
    {
      grant_type: "authorization_code",
      code: options.code,
      redirect_uri: options.redirectUri,
      code_verifier: options.codeVerifier,
      ...client(options),
    },
    false,
  )

/**
 * RFC 6749 §6. Not repeated: a server that rotates refresh tokens may have
 * used this one up even when its answer was lost.
 */
export const refreshToken = (
  url: string,
  encoding: BodyEncoding,
  options: ClientAuth & { readonly refreshToken: Redacted.Redacted<string>; readonly scope?: string | undefined },
) =>
  post(
    url,
    encoding,
    { grant_type: "refresh_token", refresh_token: options.refreshToken, scope: options.scope, ...client(options) },
    false,
  )

/** RFC 6749 §4.4. Each attempt just issues another token. */
export const clientCredentialsToken = (url: string, options: ClientAuth & { readonly scope?: string | undefined }) =>
  post(url, "form", { grant_type: "client_credentials", scope: options.scope, ...client(options) }, true)

/** RFC 7662 §2.1. */
export const introspection = (
  url: string,
  options: ClientAuth & { readonly token: Redacted.Redacted<string>; readonly tokenTypeHint?: string | undefined },
) => post(url, "form", { token: options.token, token_type_hint: options.tokenTypeHint, ...client(options) }, true)

/** RFC 7009 §2.1; revoking twice has the same effect as once. */
export const revocation = (
  url: string,
  encoding: BodyEncoding,
  options: ClientAuth & { readonly token: Redacted.Redacted<string>; readonly tokenTypeHint?: string | undefined },
) => post(url, encoding, { token: options.token, token_type_hint: options.tokenTypeHint, ...client(options) }, true)
