/** Input and output pieces several tools share. */

import { Provider, type Token } from "@hyperauth/core"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import { z } from "zod"

/** "a, b or c". */
const oneOf = (names: ReadonlyArray<string>) =>
  names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`

export const providerId = z.enum(Provider.providerIds).describe(`The provider: ${oneOf(Provider.providerIds)}.`)

export const account = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, "use letters, digits, '.', '_', '@' or '-'")
  .default("default")
  .describe('A label you choose for this login, so one server can hold several per provider. Default "default".')

export const tokenInfo = {
  provider: z.string(),
  account: z.string(),
  status: z.enum(["authenticated", "expired"]),
  token_type: z.string(),
  expires_at: z.string().optional().describe("ISO 8601"),
  expires_in: z.number().int().optional().describe("Seconds left"),
  scope: z.string().optional(),
  has_refresh_token: z.boolean(),
  refresh_expires_at: z.string().optional().describe("ISO 8601"),
  access_token: z.string().optional().describe("Only with reveal and HYPERAUTH_ALLOW_TOKEN_REVEAL=1"),
}

/** Token metadata; the raw tokens are left out. */
export const describeToken = (provider: string, accountLabel: string, token: Token.TokenSet, now: DateTime.Utc) => {
  const expired = token.expiresAt !== undefined && DateTime.lessThanOrEqualTo(token.expiresAt, now)
  return {
    provider,
    account: accountLabel,
    status: expired ? ("expired" as const) : ("authenticated" as const),
    token_type: token.tokenType,
    ...(token.expiresAt === undefined ? {} : { expires_at: DateTime.formatIso(token.expiresAt) }),
    ...Option.match(token.expiresIn(now), { onNone: () => ({}), onSome: (expires_in) => ({ expires_in }) }),
    ...(token.scope === undefined || token.scope === "" ? {} : { scope: token.scope }),
    has_refresh_token: token.refreshToken !== undefined,
    ...(token.refreshExpiresAt === undefined ? {} : { refresh_expires_at: DateTime.formatIso(token.refreshExpiresAt) }),
  }
}

/** The token info fields, all optional, for results that may also be pending. */
export const optionalTokenInfo = {
  provider: tokenInfo.provider.optional(),
  account: tokenInfo.account.optional(),
  token_type: tokenInfo.token_type.optional(),
  expires_at: tokenInfo.expires_at,
  expires_in: tokenInfo.expires_in,
  scope: tokenInfo.scope,
  has_refresh_token: tokenInfo.has_refresh_token.optional(),
  refresh_expires_at: tokenInfo.refresh_expires_at,
}
