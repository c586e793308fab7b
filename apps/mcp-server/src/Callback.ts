/**
 * The loopback listener that receives authorization redirects at
 * `http://127.0.0.1:{HYPERAUTH_CALLBACK_PORT}/callback/{provider}` and
 * answers the browser with a short page. It listens only while a login
 * waits for it.
 */
import { createServer, type Server } from "node:http"

export interface CallbackOutcome {
  readonly ok: boolean
  readonly message: string
}

export type CallbackHandler = (provider: string, url: string) => Promise<CallbackOutcome>

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const page = ({ ok, message }: CallbackOutcome) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hyperauth</title></head>` +
  `<body style="font-family:system-ui;max-width:32rem;margin:3rem auto"><h1>${ok ? "Signed in" : "Sign-in failed"}</h1>` +
  `<p>${escapeHtml(message)}</p><p>You can close this tab and return to your assistant.</p></body></html>`

export interface CallbackListener {
  /** Starts listening if it is not; false when the port is taken. */
  readonly ensure: () => Promise<boolean>
  /** Stops accepting; a response in flight is still delivered unless `force`. */
  readonly stop: (force?: boolean) => Promise<void>
  readonly listening: () => boolean
}

export const makeListener = (port: number, handle: CallbackHandler): CallbackListener => {
  let server: Server | undefined

  const serve = () =>
    createServer((req, res) => {
      // One request per connection: nothing lingers once the login is done.
      res.setHeader("connection", "close")
      const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`)
      const match = /^\/callback\/([a-z]+)\/?$/.exec(url.pathname)
      if (req.method !== "GET" || match?.[1] === undefined) {
        res.writeHead(404, { "content-type": "text/plain" }).end("Not found")
        return
      }
      handle(match[1], url.toString()).then(
        (outcome) =>
          res.writeHead(outcome.ok ? 200 : 400, { "content-type": "text/html; charset=utf-8" }).end(page(outcome)),
        () =>
          res
            .writeHead(500, { "content-type": "text/html; charset=utf-8" })
            .end(page({ ok: false, message: "Internal error." })),
      )
    })

  return {
    ensure: () =>
      server !== undefined
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const candidate = serve()
            candidate.once("error", () => resolve(false))
            candidate.listen(port, "127.0.0.1", () => {
              server = candidate
              resolve(true)
            })
          }),
    stop: (force = false) =>
      new Promise((resolve) => {
        const current = server
        server = undefined
        if (current === undefined) return resolve()
        current.close(() => resolve())
        if (force) current.closeAllConnections()
        else current.closeIdleConnections()
      }),
    listening: () => server !== undefined,
  }
}
