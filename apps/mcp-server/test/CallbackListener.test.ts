/** The loopback listener on its own, over real loopback HTTP. */
import { connect, createServer, type Socket } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Scope } from "effect"
import * as CallbackListener from "../src/CallbackListener.js"
import * as Pages from "../src/CallbackPages.js"

/** A port some other program holds while `use` runs. */
const takenPort = <A, E, R>(use: (port: number) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.async<{ port: number; close: () => void }>((resume) => {
      const blocker = createServer()
      blocker.listen(0, "127.0.0.1", () => {
        const address = blocker.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ port, close: () => blocker.close() }))
      })
    }),
    ({ port }) => use(port),
    ({ close }) => Effect.sync(close),
  )

const get = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url)
    return { status: response.status, text: await response.text(), headers: response.headers }
  })

const seen: Array<string> = []
const handler: CallbackListener.Handler = ({ provider, url }) =>
  Effect.sync(() => {
    seen.push(`${provider} ${url.search}`)
    return Pages.signedIn(provider)
  })

describe("CallbackListener", () => {
  it.live("takes a free port when the one asked for is taken, only if allowed to", () =>
    takenPort((port) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const listener = yield* CallbackListener.listen(port, handler, { fallback: true }).pipe(Scope.extend(scope))
        assert.notStrictEqual(listener.port, port)
        const strict = yield* Effect.either(Effect.scoped(CallbackListener.listen(port, handler, { fallback: false })))
        assert.isTrue(Either.isLeft(strict))
        yield* Scope.close(scope, Exit.void)
      }),
    ),
  )

  it.live("hands GET /callback/{provider} to the handler, answers the rest 404, and stops with its scope", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { port } = yield* CallbackListener.listen(0, handler, { fallback: false }).pipe(Scope.extend(scope))
      const page = yield* get(`http://127.0.0.1:${port}/callback/hyperid?state=s&code=c`)
      assert.strictEqual(page.status, 200)
      assert.include(page.text, "You are signed in to hyperid.")
      assert.strictEqual(page.headers.get("cache-control"), "no-store")
      assert.strictEqual(page.headers.get("referrer-policy"), "no-referrer")
      assert.include(seen, "hyperid ?state=s&code=c")
      assert.strictEqual((yield* get(`http://127.0.0.1:${port}/elsewhere`)).status, 404)
      // A form on another web page posting to the callback reaches no handler.
      const posted = yield* Effect.tryPromise(() =>
        fetch(`http://127.0.0.1:${port}/callback/hyperid`, { method: "POST", body: "state=s&code=c" }),
      )
      assert.strictEqual(posted.status, 404)
      assert.strictEqual(seen.length, 1)
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Either.isLeft(yield* Effect.either(get(`http://127.0.0.1:${port}/callback/hyperid`))))
    }),
  )
  it.live(
    "holds a bounded number of connections: a flood of unfinished requests makes room for the browser's callback",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const { port } = yield* CallbackListener.listen(0, handler, { fallback: false }).pipe(Scope.extend(scope))
        // Slowloris: each sends half a request head and then nothing, as a local attacker would to use up
        // the process's file descriptors (which its calls to the providers and its token store need too).
        const flood = 400
        const sockets: Array<Socket> = []
        let closed = 0
        yield* Effect.forEach(
          Array.from({ length: flood }),
          () =>
            Effect.async<void>((resume) => {
              const socket = connect(port, "127.0.0.1", () => {
                socket.write(`GET /callback/hyperid?state=s HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
                resume(Effect.void)
              })
              socket.on("error", () => undefined)
              socket.on("close", () => {
                closed++
              })
              sockets.push(socket)
            }),
          { concurrency: 50, discard: true },
        )
        const page = yield* get(`http://127.0.0.1:${port}/callback/hyperid?state=genuine&code=c`)
        assert.strictEqual(page.status, 200)
        assert.include(seen, "hyperid ?state=genuine&code=c")
        yield* Effect.sleep("200 millis")
        const held = flood - closed
        assert.isAtMost(held, CallbackListener.maxConnections, `the listener holds ${held} of ${flood} connections`)
        for (const socket of sockets) socket.destroy()
        yield* Scope.close(scope, Exit.void)
      }),
  )
})
