/**
 * Reading provider settings through `Config`, so that the library never
 * touches `process.env` and users can supply any `ConfigProvider`.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as PathPatch from "effect/ConfigProviderPathPatch"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import { NotConfigured } from "../OAuthError.js"

/**
 * A setting that failed: its name, and what it accepts. The value is never
 * quoted, since the setting may be a secret and the message reaches logs and
 * tool results.
 */
const invalid = (name: string, accepted: string): ConfigError.ConfigError =>
  // The path is left empty: `mapOrFail` puts the setting's own path in front.
  ConfigError.InvalidData([], `${name} must be ${accepted}`)

/** A setting read as text and parsed by `parse`, failing with `invalid(name, accepted)`. */
const parsed = <A>(name: string, accepted: string, parse: (value: string) => A | undefined): Config.Config<A> =>
  Config.string(name).pipe(
    Config.mapOrFail((value) => {
      const result = parse(value.trim())
      return result === undefined ? Either.left(invalid(name, accepted)) : Either.right(result)
    }),
  )

/**
 * An origin setting (`HYPER_BASE_URL`, ...): an http(s) URL, kept without
 * trailing slashes so that documented paths can be appended to it. It may
 * carry no credentials (they would be shown as the provider's API base), no
 * query and no fragment (paths are appended to it).
 */
export const origin = (name: string): Config.Config<string> =>
  parsed(name, "an http(s) origin such as https://example.com, without user:password@, query or fragment", (value) => {
    const trimmed = value.replace(/\/+$/, "")
    const url = URL.canParse(trimmed) ? new URL(trimmed) : undefined
    return url !== undefined &&
      (url.protocol === "http:" || url.protocol === "https:") &&
      url.username === "" &&
      url.password === "" &&
      !trimmed.includes("@") &&
      !trimmed.includes("?") &&
      !trimmed.includes("#")
      ? trimmed
      : undefined
  })

/**
 * The origin of a provider with documented environments: `{PREFIX}_BASE_URL`
 * when set, else the origin of `{PREFIX}_ENVIRONMENT` (`production` default).
 */
export const environmentOrigin = (
  prefix: string,
  environments: Readonly<Record<"production" | "sandbox", string>>,
): Config.Config<string> =>
  Config.all({
    environment: parsed(`${prefix}_ENVIRONMENT`, "production or sandbox", (value) =>
      value === "production" || value === "sandbox" ? value : undefined,
    ).pipe(Config.withDefault("production" as const)),
    baseUrl: Config.option(origin(`${prefix}_BASE_URL`)),
  }).pipe(Config.map(({ environment, baseUrl }) => Option.getOrElse(baseUrl, () => environments[environment])))

/**
 * The origin `environmentOrigin` gives, read for the API base alone: a
 * valid `{PREFIX}_BASE_URL` replaces the environment, so an invalid
 * `{PREFIX}_ENVIRONMENT` beside it does not hide it (it still leaves the
 * provider unconfigured, through `environmentOrigin`).
 */
export const environmentApiOrigin = (
  prefix: string,
  environments: Readonly<Record<"production" | "sandbox", string>>,
): Config.Config<string> =>
  origin(`${prefix}_BASE_URL`).pipe(
    Config.orElseIf({ if: ConfigError.isMissingDataOnly, orElse: () => environmentOrigin(prefix, environments) }),
  )

/** How long a provider request may take when `HYPERAUTH_HTTP_TIMEOUT` is unset. */
export const defaultHttpTimeout: Duration.Duration = Duration.seconds(30)

/**
 * The longest `HYPERAUTH_HTTP_TIMEOUT`: an hour. No OAuth or API request
 * should take longer, and a limit far beyond it is a typo (or a unit
 * mistake) that would otherwise pass unnoticed; past about 24.8 days a Node
 * timer does not even hold it.
 */
export const maxHttpTimeoutSeconds = 3600

/** `HYPERAUTH_HTTP_TIMEOUT`: seconds per provider request, `defaultHttpTimeout` by default, at most `maxHttpTimeoutSeconds`. */
export const httpTimeout: Config.Config<Duration.Duration> = parsed(
  "HYPERAUTH_HTTP_TIMEOUT",
  `a positive number of seconds up to ${maxHttpTimeoutSeconds} (an hour), such as ${Duration.toSeconds(defaultHttpTimeout)} (the default)`,
  (value) => {
    // Decimal seconds only: `Number` would also read "0x10", "1e1" or " 5 " as a number.
    const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN
    return Number.isFinite(seconds) && seconds > 0 && seconds <= maxHttpTimeoutSeconds ? seconds : undefined
  },
).pipe(Config.map(Duration.seconds), Config.withDefault(defaultHttpTimeout))

/** Where the loopback redirect listener runs when `HYPERAUTH_CALLBACK_PORT` is unset. */
export const defaultCallbackPort = 8976

/** `HYPERAUTH_CALLBACK_PORT`: where the loopback redirect listener runs, `defaultCallbackPort` by default. */
export const callbackPort: Config.Config<number> = parsed(
  "HYPERAUTH_CALLBACK_PORT",
  `a port number from 1 to 65535, such as ${defaultCallbackPort} (the default)`,
  (value) => {
    const port = /^\d+$/.test(value) ? Number(value) : Number.NaN
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined
  },
).pipe(Config.withDefault(defaultCallbackPort))

/** The path of a provider's loopback callback: `/callback/{provider}`. */
export const callbackPath = (provider: string): string => `/callback/${provider}`

/**
 * A setting that must have a value: unset, empty or only blanks is missing
 * (a blank line in a `.env` file is not a client id). The value is kept as
 * given, blanks around it included: a secret is never altered.
 */
export const required = (name: string): Config.Config<string> =>
  Config.nested(
    Config.mapOrFail(Config.string(), (value) =>
      value.trim() === ""
        ? Either.left(ConfigError.MissingData([], "Expected a value that is not blank"))
        : Either.right(value),
    ),
    name,
  )

/** The loopback redirect URI of a provider on `port`: `http://127.0.0.1:{port}/callback/{provider}`. */
export const loopbackRedirectUri = (provider: string, port: number): string =>
  `http://127.0.0.1:${port}${callbackPath(provider)}`

/** The setting that sets a provider's redirect URI: `{PROVIDER}_REDIRECT_URI`. */
export const redirectUriSetting = (provider: string): string => `${provider.toUpperCase()}_REDIRECT_URI`

/**
 * A provider's redirect URI setting (`redirectUriSetting`), by default the
 * loopback callback `http://127.0.0.1:{HYPERAUTH_CALLBACK_PORT}/callback/{provider}`.
 */
export const redirectUri = (provider: string): Config.Config<string> =>
  parsed(redirectUriSetting(provider), "an absolute URL such as https://app.example/callback", (uri) =>
    URL.canParse(uri) ? uri : undefined,
  ).pipe(
    Config.orElseIf({
      if: ConfigError.isMissingDataOnly,
      orElse: () => Config.map(callbackPort, (port) => loopbackRedirectUri(provider, port)),
    }),
  )

/** The redirect URI the user set, if any (none: the loopback default applies). */
export const configuredRedirectUri = (provider: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.nonEmptyString(redirectUriSetting(provider)))

/** A setting a `Config` reads, and whether the `Config` fails without it. */
export interface Setting {
  readonly name: string
  readonly required: boolean
}

/** What `describe` found, per `Config`: a `Config` is an immutable description, so it is read once. */
const described = new WeakMap<Config.Config<unknown>, ReadonlyArray<Setting>>()

/** The name a path has in the environment (`ConfigProvider.fromEnv`'s default delimiter). */
const nameOf = (path: ReadonlyArray<string>) => path.join("_")

/**
 * Every setting `config` reads, in the order it reads them, and which of
 * them it cannot do without: found by loading it from a provider that has
 * no setting at all and records each name asked for. Every fallback is then
 * taken, so every name is reached; the names still missing at the end are
 * the required ones.
 */
export const describe = (config: Config.Config<unknown>): ReadonlyArray<Setting> => {
  const known = described.get(config)
  if (known !== undefined) return known
  const read: Array<string> = []
  const empty = ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (path) => {
        const name = nameOf(path)
        if (!read.includes(name)) read.push(name)
        return Effect.fail(ConfigError.MissingData([...path], `${name} is not set`))
      },
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: PathPatch.empty,
    }),
  )
  const required = new Set<string>()
  const walk = (error: ConfigError.ConfigError): void => {
    if (error._op === "And" || error._op === "Or") {
      walk(error.left)
      walk(error.right)
    } else if (error._op === "MissingData") {
      required.add(nameOf(error.path))
    }
  }
  const exit = Effect.runSyncExit(Effect.withConfigProvider(config, empty))
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") walk(exit.cause.error)
  const settings = read.map((name) => ({ name, required: required.has(name) }))
  described.set(config, settings)
  return settings
}

/** The names of the settings `config` cannot do without. */
export const requiredOf = (config: Config.Config<unknown>): ReadonlyArray<string> =>
  describe(config).flatMap((setting) => (setting.required ? [setting.name] : []))

/** Which of `names` are unset, empty or only blanks. */
export const missing = (names: ReadonlyArray<string>): Effect.Effect<Array<string>> =>
  Effect.map(
    Effect.forEach(names, (name) =>
      Effect.map(Effect.orElseSucceed(Config.option(required(name)), Option.none), Option.isNone),
    ),
    (unset) => names.filter((_, i) => unset[i] === true),
  )

/**
 * What is wrong, in the settings' own words: the invalid values, and what
 * is missing. A message that does not start with its setting's name (one of
 * effect's own, which may quote the value) is replaced by one that names
 * the setting and quotes nothing.
 */
const problems = (
  error: ConfigError.ConfigError,
): { readonly invalid: Array<string>; readonly absent: Array<string> } => {
  const invalid: Array<string> = []
  const absent: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "MissingData":
        absent.push(e.message)
        return
      default: {
        const name = e.path.join(".")
        invalid.push(
          name !== "" && e.message.startsWith(name)
            ? e.message
            : `${name || "a setting"} has a value that is not valid`,
        )
      }
    }
  }
  walk(error)
  return { invalid: [...new Set(invalid)], absent: [...new Set(absent)] }
}

/** What `config` gives with no setting at all: its defaults, if it has them all. */
export const defaults = <A>(config: Config.Config<A>): Option.Option<A> =>
  Effect.runSync(Effect.option(Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map()))))

/**
 * Loads an API base `config`: a failure's `reason` names the setting to fix
 * and what it accepts (as `load`'s), and says what the base is with that
 * setting unset.
 */
export const loadApiBase = (provider: string, config: Config.Config<string>): Effect.Effect<string, NotConfigured> =>
  Effect.mapError(load(provider, config), (error) => {
    const fallback = Option.match(defaults(config), {
      onNone: () => "",
      onSome: (base) => ` With that setting unset, the API base is ${base}.`,
    })
    const why = error.reason ?? `set ${error.missing.join(", ")}`
    return new NotConfigured({
      provider,
      missing: error.missing,
      reason: `the API base is not known until this is fixed: ${why}.${fallback}`,
    })
  })

/**
 * Loads `config`. Missing required settings and malformed ones both make
 * `NotConfigured`, which names all of them at once: the missing in
 * `missing`, what is wrong with the others in `reason` (when a setting is
 * invalid, a fallback's "missing" is beside the point). The required
 * settings are those `config` cannot do without.
 *
 * A required setting must fail `config` when blank (`required`):
 * a `config` that loads is then complete, and only a failed one is walked
 * again to name what is missing (which costs two more reads of every setting).
 */
export const load = <A>(provider: string, config: Config.Config<A>): Effect.Effect<A, NotConfigured> =>
  Effect.catchAll(config, (error) =>
    Effect.flatMap(missing(requiredOf(config)), (unset) => {
      const { invalid, absent } = problems(error)
      // An empty required setting is reported as missing, not as invalid too.
      const others = invalid.filter((message) => !unset.some((name) => message.startsWith(name)))
      const reason = others.length > 0 ? others.join("; ") : unset.length > 0 ? undefined : absent.join("; ")
      return Effect.fail(new NotConfigured({ provider, missing: unset, reason }))
    }),
  )
