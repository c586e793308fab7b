/**
 * The errors of the MCP server itself, next to the core's `OAuthError`s,
 * and how every failure becomes an `isError` tool result.
 */
import { OAuthError, Provider } from "@hyperauth/core"
import * as Schema from "effect/Schema"

/** `reveal` without `HYPERAUTH_ALLOW_TOKEN_REVEAL=1`. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { reason: Schema.String }) {
  readonly code = "forbidden" as const
  override get message(): string {
    return this.reason
  }
}

/**
 * A `login_id` that is not (or no longer) known, or that a newer login for
 * the same account replaced. `store` says where this server keeps pending
 * logins, since a login started against another store is unknown here.
 */
export class UnknownLogin extends Schema.TaggedError<UnknownLogin>()("UnknownLogin", {
  loginId: Schema.String,
  replaced: Schema.optional(Schema.Boolean),
  /** Ended by a logout of its account. */
  loggedOut: Schema.optional(Schema.Boolean),
  store: Schema.optional(Schema.String),
  /** Started by a server on this store with other settings of this provider. */
  otherSettings: Schema.optional(Schema.String),
}) {
  readonly code = "unknown_login" as const
  override get message(): string {
    if (this.otherSettings !== undefined) {
      return `Login "${this.loginId}" was started by a server on this token store with other ${this.otherSettings} settings (another base URL or client id). Finish it there, or start a new one here with the login tool.`
    }
    if (this.loggedOut === true) {
      return `Login "${this.loginId}" was ended by a logout of its account. Start a new one with the login tool.`
    }
    if (this.replaced === true) {
      return `Login "${this.loginId}" was replaced by a newer login for the same provider and account. Finish that one instead.`
    }
    const where = this.store === undefined ? "" : ` This server keeps pending logins in ${this.store}.`
    return `No pending login has id "${this.loginId}". It may have expired (a login lasts about 10 minutes), been replaced by a newer login for the same account, finished more than 10 minutes ago, or been started by a server that keeps its logins in another token store (HYPERAUTH_STORE).${where} Start a new one with the login tool.`
  }
}

export type ToolError = OAuthError.OAuthError | Forbidden | UnknownLogin

/** The shape of `structuredContent` of a failed call. */
export interface ErrorContent {
  readonly error: {
    readonly code: string
    readonly message: string
    readonly provider?: string
    readonly status?: number
  }
}

/** The settings that say where a provider is (`HYPERPROOF_AUTH_URL`, `HYPER_BASE_URL`, `HYPERID_ENVIRONMENT`, ...). */
const locationSettings = (provider: string | undefined): ReadonlyArray<string> =>
  (Provider.definitions.find((definition) => definition.id === provider)?.settings ?? [])
    .map((setting) => setting.name)
    .filter((name) => name.endsWith("_URL") || name.endsWith("_ENVIRONMENT"))

/**
 * What to do next that only a server knows: where its settings go, and
 * which of them say where a provider is. The core's messages speak of
 * settings the way every program reads them.
 */
const serverAdvice = (error: ToolError, provider: string | undefined): string => {
  switch (error.code) {
    case "not_configured":
      return " Settings go in this server's environment (the env of its entry in the MCP client's configuration) or its --config file; restart the server after changing them."
    case "connection_error": {
      const names = locationSettings(provider)
      return names.length === 0 ? "" : ` Where ${provider} is comes from ${names.join(", ")}.`
    }
    case "not_supported":
      return error._tag === "NotSupported" && error.operation === "token introspection"
        ? " get_token tells when its token expires, and call_api whether its API still takes it."
        : ""
    default:
      return ""
  }
}

/** Provider and HTTP status, where the error knows them. */
export const errorContent = (error: ToolError): ErrorContent => {
  const provider = "provider" in error && typeof error.provider === "string" ? error.provider : undefined
  const status = "status" in error && typeof error.status === "number" ? error.status : undefined
  return {
    error: {
      code: error.code,
      message: `${error.message}${serverAdvice(error, provider)}`,
      ...(provider === undefined ? {} : { provider }),
      ...(status === undefined ? {} : { status }),
    },
  }
}

/** Every code a tool error can carry: the core's, then the server's own. */
export const toolErrorCodes: ReadonlyArray<ToolError["code"]> = [...OAuthError.codes, "forbidden", "unknown_login"]
