/**
 * The uniform face of the four providers, so that an app (the MCP server)
 * logs in, refreshes, introspects, revokes and calls APIs without ever
 * switching on a provider id.
 *
 * @since 0.1.0
 */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { IntrospectionResponse } from "./Introspection.js"
import { InvalidInput, NotSupported, type OAuthError, type RequestFailure, type StateMismatch } from "./OAuthError.js"
import type { TokenSet } from "./Token.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ProviderId = "hyper" | "hyperid" | "hyperline" | "hyperproof"

/**
 * @since 0.1.0
 * @category models
 */
export const providerIds: ReadonlyArray<ProviderId> = ["hyper", "hyperid", "hyperline", "hyperproof"]

/**
 * @since 0.1.0
 * @category models
 */
export type FlowKind = "device_code" | "authorization_code" | "client_credentials"

/**
 * What a login asks for.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginRequest {
  readonly scope?: string | undefined
  /** Provider parameters, e.g. hyperid's `verification_level`. */
  readonly options?: Readonly<Record<string, unknown>> | undefined
  /** Overrides the configured redirect URI (authorization-code providers). */
  readonly redirectUri?: string | undefined
}

/**
 * A login that finished at once (client credentials).
 *
 * @since 0.1.0
 * @category models
 */
export interface Authenticated {
  readonly _tag: "Authenticated"
  readonly token: TokenSet
}

/**
 * A device-code login waiting for the user (RFC 8628).
 *
 * @since 0.1.0
 * @category models
 */
export interface DevicePending {
  readonly _tag: "DevicePending"
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete?: string | undefined
  readonly expiresAt: DateTime.Utc
  readonly interval: Duration.Duration
  /** What the client polls with (RFC 8628 §3.4): part of the pending login's record. */
  readonly deviceCode: Redacted.Redacted<string>
  /** Polls until the user approves, refuses or the code expires. */
  readonly complete: Effect.Effect<TokenSet, RequestFailure>
}

/**
 * An authorization-code login waiting for the browser's redirect.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedirectPending {
  readonly _tag: "RedirectPending"
  readonly authorizationUrl: string
  readonly redirectUri: string
  /** The `state` the authorization URL carries: the redirect must bring it back. */
  readonly state: string
  /** The PKCE verifier, where the provider uses PKCE. */
  readonly codeVerifier?: Redacted.Redacted<string> | undefined
  readonly expiresAt: DateTime.Utc
  /** Checks the redirect's `state`, then exchanges its code. */
  readonly complete: (redirectUrl: string) => Effect.Effect<TokenSet, RequestFailure | StateMismatch | InvalidInput>
}

/**
 * What polling a device login needs, as the pending login's record keeps
 * it: enough for another process (a restarted server, another replica) to
 * take the polling over.
 *
 * @since 0.2.0
 * @category models
 */
export interface DeviceLogin {
  readonly deviceCode: Redacted.Redacted<string>
  readonly interval: Duration.Duration
  readonly expiresAt: DateTime.Utc
}

/**
 * What finishing an authorization-code login needs, as the pending login's
 * record keeps it: the redirect URI asked for, the `state` sent and the
 * PKCE verifier, where the provider uses PKCE.
 *
 * @since 0.2.0
 * @category models
 */
export interface RedirectLogin {
  readonly redirectUri: string
  readonly state: string
  readonly codeVerifier?: Redacted.Redacted<string> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type LoginStart = Authenticated | DevicePending | RedirectPending

/**
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  readonly id: ProviderId
  readonly flow: FlowKind
  /** Origin of the provider's API, where authenticated calls go. */
  readonly apiBaseUrl: string
  readonly startLogin: (request: LoginRequest) => Effect.Effect<LoginStart, OAuthError>
  /**
   * Polls a device login from its record, as `DevicePending.complete` does;
   * `NotSupported` for a provider without the device flow.
   */
  readonly resumeDevice: (login: DeviceLogin) => Effect.Effect<TokenSet, RequestFailure | NotSupported>
  /**
   * Finishes an authorization-code login from its record and the URL the
   * browser landed on, as `RedirectPending.complete` does; `NotSupported`
   * for a provider without the authorization-code flow.
   */
  readonly resumeRedirect: (
    login: RedirectLogin,
    redirectUrl: string,
  ) => Effect.Effect<TokenSet, RequestFailure | StateMismatch | InvalidInput | NotSupported>
  /** A fresh token set: refresh grant, or a new client-credentials token. */
  readonly refresh: (token: TokenSet) => Effect.Effect<TokenSet, RequestFailure | NotSupported | InvalidInput>
  readonly introspect: (token: TokenSet) => Effect.Effect<IntrospectionResponse, RequestFailure | NotSupported>
  /** Revokes at the provider; false when it has no revocation endpoint. */
  readonly revoke: (token: TokenSet) => Effect.Effect<boolean, RequestFailure>
  /** Adds what every API call to this provider needs besides the Bearer token. */
  readonly decorate: (
    request: HttpClientRequest.HttpClientRequest,
    context: { readonly companyId?: string | undefined },
  ) => HttpClientRequest.HttpClientRequest
}

/**
 * Refuses login options for providers that take none, so that a typo or a
 * misplaced hyperid parameter is reported instead of silently dropped.
 *
 * @since 0.1.0
 */
export const refuseOptions = (provider: ProviderId, request: LoginRequest): Effect.Effect<void, InvalidInput> =>
  request.options === undefined || Object.keys(request.options).length === 0
    ? Effect.void
    : Effect.fail(
        new InvalidInput({
          provider,
          reason: `${provider} takes no login options (got ${Object.keys(request.options).join(", ")}); leave options out.`,
        }),
      )

/**
 * The flow a provider does not have, for `resumeDevice` / `resumeRedirect`.
 *
 * @since 0.2.0
 */
export const noResume = (provider: ProviderId, flow: FlowKind): Effect.Effect<never, NotSupported> =>
  Effect.fail(new NotSupported({ provider, operation: `${flow} logins` }))
