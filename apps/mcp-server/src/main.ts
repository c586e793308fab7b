#!/usr/bin/env node
/**
 * `hyperauth-mcp`: MCP over stdio (stdout carries protocol messages only),
 * or `--http [--port N]` for Streamable HTTP on 127.0.0.1.
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import type { Runtime } from "./runtime.js"
import { connect, createServer } from "./server.js"
import { StdioTransport } from "./stdio.js"

const usage = `Usage: hyperauth-mcp [--http [--port N]] [--config FILE]

  (no option)    MCP over stdio
  --http         Streamable HTTP on http://127.0.0.1:3333/mcp
  --port N       port for --http (default 3333)
  --config FILE  a JSON object of settings, e.g. {"HYPER_CLIENT_ID": "..."};
                 the environment wins over it (also HYPERAUTH_CONFIG=FILE)

Configuration is read from the environment; see the README.
`

/** Where JSON text stops being valid, as "line L, column C", from the parser's position. */
const positionIn = (text: string, error: unknown): string => {
  const offset = error instanceof SyntaxError ? /at position (\d+)/.exec(error.message)?.[1] : undefined
  if (offset === undefined) return ""
  const before = text.slice(0, Number(offset)).split("\n")
  return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`
}

/** Why a config file could not be read, by its error's code, as the rest of a sentence naming it. */
const unreadable: Readonly<Record<string, string>> = {
  ENOENT: "does not exist",
  EISDIR: "is a directory",
  EACCES: "cannot be read by this user",
  EPERM: "cannot be read by this user",
}

/** The file's text, or an error that names it and says what to do (no bare `ENOENT`). */
const readText = (path: string): string => {
  try {
    return readFileSync(path, "utf8")
  } catch (error) {
    const code = error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : ""
    throw new Error(
      `the config file ${path} ${unreadable[code] ?? "cannot be read"}: give --config (or HYPERAUTH_CONFIG) the path of a JSON file of settings, or leave it out`,
    )
  }
}

/**
 * The settings of a JSON config file: an object of names to strings,
 * numbers or booleans. Errors name the file and where it is wrong, but never
 * quote its content: it holds secrets.
 */
const readConfigFile = (path: string): Record<string, string> => {
  const text = readText(path)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(
      `${path} is not valid JSON${positionIn(text, error)}; it must hold a JSON object such as {"HYPER_CLIENT_ID": "..."}`,
    )
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path} must hold a JSON object such as {"HYPER_CLIENT_ID": "..."}`)
  }
  const settings: Record<string, string> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new Error(`${path}: ${name} must be a string, number or boolean`)
    }
    settings[name] = String(value)
  }
  return settings
}

/**
 * `HYPERAUTH_HTTP_TOKEN`, as set in the environment or else the config
 * file. Set but empty or blank it used to mean no token, a server open to
 * every local process and page although a token was asked for (a script's
 * `HYPERAUTH_HTTP_TOKEN=$UNSET_VAR`); with white space around it, no client
 * could send it (HTTP drops it from header values), so every request was
 * 401. Both are configuration errors, as for `HYPERAUTH_STORE_KEY`; the
 * value is never quoted.
 */
const httpToken = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  if (value.trim() === "")
    throw new Error(
      "HYPERAUTH_HTTP_TOKEN is set but empty or blank: set it to the bearer secret clients send, or unset it to serve without one.",
    )
  if (value.trim() !== value)
    throw new Error(
      "HYPERAUTH_HTTP_TOKEN has white space before or after it, which no Authorization header can carry: remove it.",
    )
  return value
}

const log = (line: string) => process.stderr.write(`hyperauth-mcp: ${line}\n`)

/** The runtime (Effect, the core, the providers, the store): loaded while `initialize` is answered, not before. */
const makeRuntime = async (settings: Readonly<Record<string, string>> | undefined): Promise<Runtime> =>
  (await import("./runtime.js")).make(settings)

const main = async () => {
  const { values } = parseArgs({
    options: {
      http: { type: "boolean", default: false },
      port: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      config: { type: "string" },
    },
  })
  if (values.help) {
    process.stderr.write(usage)
    return
  }
  const port = values.port === undefined ? 3333 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    log(`--port must be a whole number from 0 to 65535, not "${values.port}"`)
    process.exitCode = 2
    return
  }

  const configPath = values.config ?? (process.env.HYPERAUTH_CONFIG || undefined)
  const settings = configPath === undefined ? undefined : readConfigFile(configPath)
  const runtime = makeRuntime(settings)
  let stopping = false
  const stop = (closing: () => Promise<void>) => () => {
    if (stopping) return
    stopping = true
    closing()
      .then(async () => (await runtime).dispose())
      .finally(() => process.exit(0))
  }

  if (values.http) {
    const token = httpToken(process.env.HYPERAUTH_HTTP_TOKEN ?? settings?.HYPERAUTH_HTTP_TOKEN)
    // Loaded only when asked: stdio runs never parse the HTTP transport.
    const { serveHttp } = await import("./http.js")
    await (await runtime).runtime()
    const server = await serveHttp(await runtime, { port, token })
    const address = server.address()
    log(`listening on http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : port}/mcp`)
    const shutdown = stop(
      () =>
        new Promise((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    )
    process.once("SIGINT", shutdown)
    process.once("SIGTERM", shutdown)
    return
  }

  const server = createServer(runtime)
  const shutdown = stop(() => server.close())
  process.once("SIGINT", shutdown)
  process.once("SIGTERM", shutdown)
  // The client going away ends the server, as stdio servers are expected to: its end of stdin
  // closes, or stdout refuses the answers (EPIPE). A stderr gone too must not end it before that.
  process.stdin.once("end", shutdown)
  process.stdin.once("close", shutdown)
  process.stdout.once("error", shutdown)
  process.stderr.on("error", () => undefined)
  // Not the SDK's StdioServerTransport: it ends the server, silently, at a message past 10 MiB.
  await connect(server, new StdioTransport(process.stdin, process.stdout, log))
  // Built at once, not at the first call: a store that cannot be opened stops the start with its message.
  await (await runtime).runtime()
  log("ready on stdio")
}

main().catch((error: unknown) => {
  log(`failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
