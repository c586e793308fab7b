#!/usr/bin/env node
/**
 * `hyperauth-emulator [--port N] [--rotate-refresh-tokens] [--hyper-refresh-tokens] [--hyperline-callback URL]... [--hyperid-redirect-uri URL]...`:
 * runs the emulator until interrupted and prints the environment that
 * points hyperauth at it.
 */
import { parseArgs } from "node:util"
import { start } from "./Emulator.js"

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "rotate-refresh-tokens": { type: "boolean" },
    "hyper-refresh-tokens": { type: "boolean" },
    "hyperline-callback": { type: "string", multiple: true },
    "hyperid-redirect-uri": { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  },
})

if (values.help === true) {
  process.stdout.write(
    "Usage: hyperauth-emulator [--port N] [--rotate-refresh-tokens] [--hyper-refresh-tokens] [--hyperline-callback URL]... [--hyperid-redirect-uri URL]...\n  --port N                   first port (origins use N..N+4); default: free ports\n  --rotate-refresh-tokens    hyperid and hyperline accept each refresh token once; a reused one revokes the login (and hyper's, with --hyper-refresh-tokens)\n  --hyper-refresh-tokens     hyper's device logins bring refresh tokens too (the seed documents none)\n  --hyperline-callback URL   a redirect URI hyperline's app registers (repeatable); default: http://127.0.0.1:8976/callback/hyperline, on any port\n  --hyperid-redirect-uri URL a redirect URI hyperid's client registers besides any loopback one (repeatable)\n",
  )
  process.exit(0)
}

const port = values.port === undefined ? 0 : Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65531) {
  process.stderr.write(`hyperauth-emulator: --port must be a whole number from 0 to 65531, not "${values.port}"\n`)
  process.exit(2)
}

const rotateRefreshTokens = values["rotate-refresh-tokens"] === true
const callbacks = values["hyperline-callback"]
const emulator = await start({
  port,
  hyper: { refreshTokens: values["hyper-refresh-tokens"] === true, rotateRefreshTokens },
  hyperid: { rotateRefreshTokens, redirectUris: values["hyperid-redirect-uri"] },
  hyperline: { rotateRefreshTokens, callbacks },
})
process.stdout.write("hyperauth emulator listening. Point hyperauth at it with:\n")
for (const [name, value] of Object.entries(emulator.env)) process.stdout.write(`export ${name}=${value}\n`)

const stop = () => {
  emulator.close().then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
