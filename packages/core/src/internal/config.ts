/**
 * Reading provider settings through `Config`, so that the library never
 * touches `process.env` and users can supply any `ConfigProvider`.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { NotConfigured } from "../OAuthError.js"

/**
 * An origin setting (`HYPER_BASE_URL`, ...): an http(s) URL, kept without
 * trailing slashes so that documented paths can be appended to it.
 */
export const origin = (name: string): Config.Config<string> =>
  Config.string(name).pipe(
    Config.mapOrFail((value) => {
      const trimmed = value.trim().replace(/\/+$/, "")
      const parsed = URL.canParse(trimmed) ? new URL(trimmed) : undefined
      return parsed !== undefined && (parsed.protocol === "http:" || parsed.protocol === "https:")
        ? Either.right(trimmed)
        : Either.left(ConfigError.InvalidData([name], `${name} must be an http(s) origin such as https://example.com`))
    }),
  )

/**
 * The origin of a provider with documented environments: `{PREFIX}_BASE_URL`
 * when set, else the origin of `{PREFIX}_ENVIRONMENT` (`production` default).
 */
export const environmentOrigin = (
  prefix: string,
  environments: Readonly<Record<"production" | "sandbox", string>>,
): Config.Config<string> =>
  Config.all({
    environment: Config.literal(
      "production",
      "sandbox",
    )(`${prefix}_ENVIRONMENT`).pipe(Config.withDefault("production")),
    baseUrl: Config.option(origin(`${prefix}_BASE_URL`)),
  }).pipe(Config.map(({ environment, baseUrl }) => Option.getOrElse(baseUrl, () => environments[environment])))

/** `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, 30 by default. */
export const httpTimeout: Config.Config<Duration.Duration> = Config.number("HYPERAUTH_HTTP_TIMEOUT").pipe(
  Config.withDefault(30),
  Config.validate({ message: "HYPERAUTH_HTTP_TIMEOUT must be a positive number of seconds", validation: (s) => s > 0 }),
  Config.map(Duration.seconds),
)

/** `HYPERAUTH_CALLBACK_PORT`: where the loopback redirect listener runs, 8976 by default. */
export const callbackPort: Config.Config<number> = Config.integer("HYPERAUTH_CALLBACK_PORT").pipe(
  Config.withDefault(8976),
  Config.validate({
    message: "HYPERAUTH_CALLBACK_PORT must be a port from 1 to 65535",
    validation: (p) => p > 0 && p < 65536,
  }),
)

/**
 * A redirect URI setting, by default the loopback callback
 * `http://127.0.0.1:{HYPERAUTH_CALLBACK_PORT}/callback/{provider}`.
 */
export const redirectUri = (name: string, provider: string): Config.Config<string> =>
  Config.string(name).pipe(
    Config.orElse(() => Config.map(callbackPort, (port) => `http://127.0.0.1:${port}/callback/${provider}`)),
    Config.validate({ message: `${name} must be an absolute URL`, validation: (uri) => URL.canParse(uri) }),
  )

/** Which of `names` are unset or empty. */
export const missing = (names: ReadonlyArray<string>): Effect.Effect<Array<string>> =>
  Effect.map(
    Effect.forEach(names, (name) =>
      Effect.map(Effect.orElseSucceed(Config.option(Config.nonEmptyString(name)), Option.none), Option.isNone),
    ),
    (unset) => names.filter((_, i) => unset[i] === true),
  )

/**
 * Loads `config`, turning missing required settings into `NotConfigured`
 * naming all of them, and malformed ones into `NotConfigured` as well with
 * the reason.
 */
/**
 * What is wrong, in the settings' own words: the invalid values when there
 * are any (a fallback's "missing" is then beside the point), else what is
 * missing.
 */
const describe = (error: ConfigError.ConfigError): string => {
  const invalid: Array<string> = []
  const absent: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "InvalidData":
        invalid.push(e.message)
        return
      case "MissingData":
        absent.push(e.message)
        return
      default:
        invalid.push(e.message)
    }
  }
  walk(error)
  return [...new Set(invalid.length > 0 ? invalid : absent)].join("; ")
}

export const load = <A>(
  provider: string,
  config: Config.Config<A>,
  required: ReadonlyArray<string>,
): Effect.Effect<A, NotConfigured> =>
  Effect.flatMap(missing(required), (unset) =>
    unset.length > 0
      ? Effect.fail(new NotConfigured({ provider, missing: unset }))
      : Effect.mapError(
          config,
          (error) =>
            new NotConfigured({
              provider,
              missing: [],
              reason: describe(error),
            }),
        ),
  )
