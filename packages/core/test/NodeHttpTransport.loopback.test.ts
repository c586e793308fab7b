/**
 * The core's node:http transport over real loopback HTTP, through the
 * pipeline (`ApiClient`): redirects are answers, bodies are cut at the
 * limit after inflating, the time limit aborts the connection, and a refused
 * connection is `connection_error`.
 */
import { createHook } from "node:async_hooks"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Readable } from "node:stream"
import { createGzip, gzipSync } from "node:zlib"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Either, Exit, Option, Redacted, Schema, Supervisor } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as ApiClient from "../src/ApiClient.js"
import { defaultMaxBodyBytes, defaultRetryPolicy } from "../src/internal/pipeline.js"
import * as NodeHttpTransport from "../src/NodeHttpTransport.js"
import { failure } from "./support/exits.js"

/** Bytes that are no UTF-8: a PNG signature, a lone 0xff, a NUL. */
const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe, 0x80])

/** What `/upload` saw: the request's content type, and its body as Latin-1 (one character per byte). */
const Upload = Schema.Struct({ contentType: Schema.optional(Schema.String), body: Schema.String })

let server: Server
let origin = ""
let closedWhileWaiting = 0
let connections = 0
let bodiless = 0
let switchedClosed = 0
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/redirect": (_req, res) => {
    res.writeHead(302, { location: "/target" })
    res.end()
  },
  "/target": (_req, res) => res.end("followed"),
  "/where": (req, res) => res.end(req.url),
  "/where?a=1": (req, res) => res.end(req.url),
  "/echo": (req, res) => {
    let body = ""
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ method: req.method, body, authorization: req.headers.authorization !== undefined }))
    })
  },
  "/gzip": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
    res.end(gzipSync('{"ok":true}'))
  },
  "/endless-gzip": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
    const zeros = Buffer.alloc(64 * 1024, 0x30)
    const endless = new Readable({ read: () => void endless.push(zeros) })
    endless.pipe(createGzip()).pipe(res)
    res.on("close", () => endless.destroy())
  },
  "/stalled-body": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" })
    res.write('{"partial":')
    res.on("close", () => {
      closedWhileWaiting++
    })
  },
  "/digits": (_req, res) => res.end("0123456789"),
  "/bom": (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('\ufeff{"ok":true}'),
  // A protocol switch no request asked for: the socket is no longer HTTP.
  "/switch": (_req, res) => {
    res.socket?.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    res.on("close", () => {
      switchedClosed++
    })
  },
  // Compressed answers with no body: the encoding names what a body would be (RFC 9110 §8.4).
  "/no-content-br": (_req, res) => {
    bodiless++
    res.writeHead(204, { "content-encoding": "br" })
    res.end()
  },
  "/empty-deflate": (_req, res) => {
    bodiless++
    res.writeHead(200, { "content-encoding": "deflate", "content-length": "0" })
    res.end()
  },
  "/head-br": (_req, res) => {
    bodiless++
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "br", "content-length": "31" })
    res.end()
  },
  "/binary": (_req, res) => {
    res.writeHead(200, { "content-type": "image/png" })
    res.end(binary)
  },
  "/binary-in-parts": (_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" })
    res.write(binary.subarray(0, 5))
    setTimeout(() => res.end(binary.subarray(5)), 20)
  },
  "/upload": (req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(
        JSON.stringify({ contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString("latin1") }),
      )
    })
  },
  "/in-two-parts": (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.write("first part, ")
    setTimeout(() => res.end("second part"), 20)
  },
  // 3,000 headers: past the 16 KiB of them node's parser reads.
  "/many-headers": (_req, res) => {
    for (let i = 0; i < 3000; i++) res.setHeader(`x-h${i}`, "v")
    res.end("{}")
  },
  "/silent": (_req, res) => {
    res.on("close", () => {
      closedWhileWaiting++
    })
  },
}

beforeAll(async () => {
  server = createServer((req, res) => routes[req.url ?? ""]?.(req, res))
  server.on("connection", () => {
    connections++
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const token = Redacted.make("at-transport-0123456789")
const send = (request: HttpClientRequest.HttpClientRequest, timeout: Duration.DurationInput = "5 seconds") =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    ApiClient.make(client, { provider: "hyperproof", timeout }).send(request, { accessToken: token }),
  ).pipe(Effect.provide(NodeHttpTransport.layer))

describe("NodeHttpTransport", () => {
  it.live("sends the method, headers and body, and reads the answer", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.post(`${origin}/echo`).pipe(HttpClientRequest.bodyText("a=1")))
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(JSON.parse(response.body), { method: "POST", body: "a=1", authorization: true })
    }),
  )

  it.live("sends each request to its own URL, however the client's URLs alternate", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const where = (request: HttpClientRequest.HttpClientRequest) =>
        Effect.flatMap(client.execute(request), (response) => response.text)
      const plain = HttpClientRequest.get(`${origin}/where`)
      assert.strictEqual(yield* where(plain), "/where")
      assert.strictEqual(yield* where(HttpClientRequest.setUrlParam(plain, "a", "1")), "/where?a=1")
      assert.strictEqual(yield* where(HttpClientRequest.get(`${origin}/target`)), "followed")
      assert.strictEqual(yield* where(plain), "/where")
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("returns a redirect as the answer: never follows it", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.get(`${origin}/redirect`))
      assert.strictEqual(response.status, 302)
      assert.strictEqual(response.headers.location, "/target")
      assert.notInclude(response.body, "followed")
    }),
  )

  it.live("inflates a gzip answer", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.get(`${origin}/gzip`))
      assert.strictEqual(response.body, '{"ok":true}')
    }),
  )

  for (const [method, path] of [
    ["DELETE", "/no-content-br"],
    ["GET", "/empty-deflate"],
    ["HEAD", "/head-br"],
  ] as const) {
    it.live(`a ${method} answered with no body in a compression (${path}) is the answer, sent once`, () =>
      Effect.gen(function* () {
        const before = bodiless
        const response = yield* send(HttpClientRequest.make(method)(`${origin}${path}`))
        assert.strictEqual(response.body, "")
        assert.isFalse(response.truncated)
        assert.strictEqual(bodiless - before, 1, "not retried")
      }),
    )
  }

  it.live("cuts an endless gzip answer at the limit, counted after inflating", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.get(`${origin}/endless-gzip`))
      assert.isTrue(response.truncated)
      assert.strictEqual(Buffer.byteLength(response.body), defaultMaxBodyBytes)
    }),
  )

  it.live("reads an answer received whole up to the limit, and keeps its connection for the next requests", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const read = (max: number) =>
        Effect.flatMap(client.get(`${origin}/digits`), (response) =>
          response instanceof NodeHttpTransport.NodeHttpResponse
            ? response.readCapped(max)
            : Effect.die("the transport answers with a NodeHttpResponse"),
        )
      const before = connections
      assert.deepStrictEqual(yield* read(4), { body: "0123", truncated: true })
      assert.deepStrictEqual(yield* read(10), { body: "0123456789", truncated: false })
      assert.deepStrictEqual(yield* read(1024), { body: "0123456789", truncated: false })
      for (let i = 0; i < 20; i++) yield* read(1024)
      // A body read to its end gives its connection back to the agent on the
      // next tick: a request sent at once takes the other one, never a new one.
      assert.isAtMost(connections, before + 2)
      const kept = connections
      yield* Effect.sleep("10 millis")
      yield* read(1024)
      assert.strictEqual(connections, kept)
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("reads a body that arrives after its headers, in parts", () =>
    Effect.gen(function* () {
      const response = yield* send(HttpClientRequest.get(`${origin}/in-two-parts`))
      assert.strictEqual(response.body, "first part, second part")
      assert.isFalse(response.truncated)
    }),
  )

  it.live("fails with timeout and closes the connection when the server never answers", () =>
    Effect.gen(function* () {
      const before = closedWhileWaiting
      const error = failure(yield* Effect.exit(send(HttpClientRequest.get(`${origin}/silent`), "200 millis")))
      assert.strictEqual(error.code, "timeout")
      // The abort reaches the server: the request is not left hanging.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      assert.strictEqual(closedWhileWaiting, before + 1)
      assert.notInclude(error.message, Redacted.value(token))
    }),
  )

  it.live("keeps the time limit on its own timer while the body is read, and closes the connection", () =>
    Effect.gen(function* () {
      const before = closedWhileWaiting
      const error = failure(yield* Effect.exit(send(HttpClientRequest.get(`${origin}/stalled-body`), "200 millis")))
      assert.strictEqual(error.code, "timeout")
      if (error._tag === "Timeout") assert.strictEqual(error.timeoutMillis, 200)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
      assert.strictEqual(closedWhileWaiting, before + 1)
    }),
  )

  it.live("a request and the read of its body run on one timer", () =>
    Effect.gen(function* () {
      // The limit's timers are told apart from any other (the server's keep-alive one, a connection's idle bound…) by their length.
      const limit = 7321
      const delays: Array<number> = []
      const hook = createHook({
        init: (_id, type, _trigger, resource) => {
          if (type === "Timeout" && typeof resource === "object" && resource !== null && "_idleTimeout" in resource) {
            delays.push(Number(resource._idleTimeout))
          }
        },
      })
      hook.enable()
      const response = yield* send(HttpClientRequest.post(`${origin}/echo`), `${limit} millis`).pipe(
        Effect.ensuring(Effect.sync(() => hook.disable())),
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(delays.filter((delay) => delay > limit - 1000 && delay <= limit).length, 1)
    }),
  )

  it.live("an answer left unread past the limit is dropped, and reading it then fails with TimeLimitExceeded", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const limited = NodeHttpTransport.timeLimited(client, 100)
      if (Option.isNone(limited)) return assert.fail("the transport itself offers a time-limited client")
      const response = yield* limited.value.execute(HttpClientRequest.post(`${origin}/echo`))
      if (!(response instanceof NodeHttpTransport.NodeHttpResponse)) return assert.fail("a NodeHttpResponse")
      yield* Effect.sleep("200 millis")
      const error = failure(yield* Effect.exit(response.readCapped(1024)))
      assert.isTrue(NodeHttpTransport.isTimeLimitExceeded(error.cause))
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("a limit longer than a Node timer can hold is kept, not cut to 1 ms", () =>
    Effect.gen(function* () {
      // Node sets a timer past 2^31 - 1 ms (about 24.8 days) to 1 ms, with a TimeoutOverflowWarning.
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => warnings.push(warning.name)
      process.on("warning", onWarning)
      const client = yield* HttpClient.HttpClient
      const limited = NodeHttpTransport.timeLimited(client, 3_000_000_000)
      if (Option.isNone(limited)) return assert.fail("the transport itself offers a time-limited client")
      const exit = yield* Effect.exit(
        Effect.flatMap(limited.value.get(`${origin}/in-two-parts`), (response) =>
          response instanceof NodeHttpTransport.NodeHttpResponse
            ? response.readCapped(1024)
            : Effect.die("the transport answers with a NodeHttpResponse"),
        ),
      )
      // Warnings are emitted on the next tick.
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      process.off("warning", onWarning)
      assert.deepStrictEqual(exit, Exit.succeed({ body: "first part, second part", truncated: false }))
      assert.notInclude(warnings, "TimeoutOverflowWarning")
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("a time-limited client fails with TimeLimitExceeded; a wrapped one is not offered a limit", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      assert.isTrue(
        Option.isNone(
          NodeHttpTransport.timeLimited(
            HttpClient.mapRequest(client, (r) => r),
            100,
          ),
        ),
      )
      const limited = NodeHttpTransport.timeLimited(client, 100)
      if (Option.isNone(limited)) return assert.fail("the transport itself offers a time-limited client")
      const exit = yield* Effect.exit(limited.value.execute(HttpClientRequest.get(`${origin}/silent`)))
      const error = failure(exit)
      assert.strictEqual(error._tag, "RequestError")
      assert.isTrue(NodeHttpTransport.isTimeLimitExceeded(error.cause))
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("on the live clock a call forks no fiber: the time limit is the transport's timer, not a race", () =>
    Effect.gen(function* () {
      class CountForks extends Supervisor.AbstractSupervisor<number> {
        forks = 0
        get value() {
          return Effect.sync(() => this.forks)
        }
        override onStart() {
          this.forks++
        }
      }
      const forks = new CountForks()
      const response = yield* send(HttpClientRequest.post(`${origin}/echo`)).pipe(Effect.supervised(forks))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(yield* forks.value, 0)
    }),
  )

  describe("connections per origin", () => {
    // A server of its own, counting the connections open at once.
    let counted: Server
    let countedOrigin = ""
    let open = 0
    let mostOpen = 0
    beforeAll(async () => {
      counted = createServer((req, res) => {
        // `/hang` never answers; the others answer after a moment, so that the callers overlap.
        if (req.url !== "/hang") setTimeout(() => res.end("ok"), 20)
      })
      counted.on("connection", (socket) => {
        open++
        mostOpen = Math.max(mostOpen, open)
        socket.on("close", () => {
          open--
        })
      })
      await new Promise<void>((resolve) => counted.listen(0, "127.0.0.1", resolve))
      countedOrigin = `http://127.0.0.1:${(counted.address() as AddressInfo).port}`
    })
    afterAll(async () => {
      counted.closeAllConnections()
      await new Promise<void>((resolve) => counted.close(() => resolve()))
    })
    const callers = NodeHttpTransport.maxSocketsPerOrigin * 3 + 10
    /** Counts from none open: the connections of an earlier test, kept alive, are closed first. */
    const fromNone = Effect.promise(async () => {
      counted.closeAllConnections()
      while (open > 0) await new Promise((resolve) => setTimeout(resolve, 5))
      mostOpen = 0
    })

    const read = (client: HttpClient.HttpClient, path: string) =>
      Effect.flatMap(client.get(`${countedOrigin}${path}`), (response) =>
        response instanceof NodeHttpTransport.NodeHttpResponse
          ? response.readCapped(1024)
          : Effect.die("the transport answers with a NodeHttpResponse"),
      )

    it.live("more callers than the bound share at most maxSocketsPerOrigin connections, and all are answered", () =>
      Effect.gen(function* () {
        yield* fromNone
        const client = yield* HttpClient.HttpClient
        const answers = yield* Effect.forEach(Array.from({ length: callers }), () => read(client, "/slow-enough"), {
          concurrency: "unbounded",
        })
        assert.strictEqual(answers.filter(({ body }) => body === "ok").length, callers)
        assert.isAtMost(mostOpen, NodeHttpTransport.maxSocketsPerOrigin)
        assert.isAtLeast(mostOpen, 2)
      }).pipe(Effect.provide(NodeHttpTransport.layer)),
    )

    it.live("a request waiting for a connection is under its time limit from the start: the wait counts", () =>
      Effect.gen(function* () {
        yield* fromNone
        const client = yield* HttpClient.HttpClient
        const limited = NodeHttpTransport.timeLimited(client, 300)
        if (Option.isNone(limited)) return assert.fail("the transport itself offers a time-limited client")
        const started = Date.now()
        const exits = yield* Effect.forEach(
          Array.from({ length: callers }),
          () => Effect.exit(read(limited.value, "/hang")),
          { concurrency: "unbounded" },
        )
        const elapsed = Date.now() - started
        // Every caller, queued or not, fails at its own limit, not one limit after another.
        assert.isBelow(elapsed, 300 + 1000)
        for (const exit of exits) assert.isTrue(NodeHttpTransport.isTimeLimitExceeded(failure(exit).cause))
        assert.isAtMost(mostOpen, NodeHttpTransport.maxSocketsPerOrigin)
        // The abandoned requests gave their places back: a new one is answered.
        assert.deepStrictEqual(yield* read(client, "/after"), { body: "ok", truncated: false })
      }).pipe(Effect.provide(NodeHttpTransport.layer)),
    )
  })

  describe("idle connections", () => {
    // A server of its own that closes a connection idle for `keepAliveTimeout` and says so
    // (`Keep-Alive: timeout=N`), as every Node server does, counting the connections it accepts.
    let idle: Server
    let idleOrigin = ""
    let accepted = 0
    beforeAll(async () => {
      idle = createServer((_req, res) => res.end("ok"))
      idle.on("connection", () => {
        accepted++
      })
      await new Promise<void>((resolve) => idle.listen(0, "127.0.0.1", resolve))
      idleOrigin = `http://127.0.0.1:${(idle.address() as AddressInfo).port}`
    })
    afterAll(async () => {
      idle.closeAllConnections()
      await new Promise<void>((resolve) => idle.close(() => resolve()))
    })
    // The body read whole, so that the connection is free for the next request.
    const status = (client: HttpClient.HttpClient) =>
      Effect.flatMap(client.get(`${idleOrigin}/`), (response) => Effect.as(response.text, response.status))
    // Socket timers are node's own, out of the fiber's Clock: these waits are real.
    const idleFor = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

    it.live("a request after exactly the server's idle time goes on a new connection, not one being closed", () =>
      Effect.gen(function* () {
        // A device poll waits its interval after the last answer, as the server's idle timer
        // does: a kept connection was reset under the poll (connection_error, then backoff).
        // Node closes one idle for `keepAliveTimeout` and a second more.
        idle.keepAliveTimeout = 2_000
        const client = yield* HttpClient.HttpClient
        assert.strictEqual(yield* status(client), 200)
        yield* idleFor(3_000)
        assert.strictEqual(yield* Effect.either(status(client)).pipe(Effect.map(Either.getOrElse(String))), 200)
      }).pipe(Effect.provide(NodeHttpTransport.layer)),
    )

    it.live("a connection is kept a second less than the server's Keep-Alive timeout says, and reused within it", () =>
      Effect.gen(function* () {
        idle.keepAliveTimeout = 2_000
        const client = yield* HttpClient.HttpClient
        const before = accepted
        assert.strictEqual(yield* status(client), 200)
        yield* idleFor(300)
        assert.strictEqual(yield* status(client), 200)
        assert.strictEqual(accepted - before, 1, "reused within the time")
        yield* idleFor(1_300)
        assert.strictEqual(yield* status(client), 200)
        assert.strictEqual(accepted - before, 2, "a new connection once the server may be closing the old one")
      }).pipe(Effect.provide(NodeHttpTransport.layer)),
    )
  })

  it.live(
    "a 101 no request asked for is a failed request at once, its connection closed, not a wait for the limit",
    () =>
      Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const before = switchedClosed
        const exit = yield* Effect.exit(client.get(`${origin}/switch`).pipe(Effect.timeout("2 seconds")))
        const error = failure(exit)
        assert.strictEqual(error._tag, "RequestError", String(error))
        yield* Effect.sleep("50 millis")
        assert.strictEqual(switchedClosed - before, 1)
      }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("reads JSON after a byte order mark as fetch does, as an HttpClient: the mark is no part of the text", () =>
    Effect.gen(function* () {
      for (const layer of [NodeHttpTransport.layer, FetchHttpClient.layer]) {
        const read = Effect.gen(function* () {
          const client = yield* HttpClient.HttpClient
          const text = yield* Effect.flatMap(client.get(`${origin}/bom`), (response) => response.text)
          const json = yield* Effect.flatMap(client.get(`${origin}/bom`), (response) => response.json)
          return { text, json }
        })
        assert.deepStrictEqual(yield* Effect.provide(read, layer), { text: '{"ok":true}', json: { ok: true } })
      }
    }),
  )

  it.live("reads a binary body as its bytes, whole or in parts, as an HttpClient", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      for (const path of ["/binary", "/binary-in-parts"]) {
        const bytes = yield* Effect.flatMap(client.get(`${origin}${path}`), (response) => response.arrayBuffer)
        assert.deepStrictEqual(Buffer.from(bytes), binary, path)
      }
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("sends a FormData body as multipart/form-data with its boundary, binary parts unchanged", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const form = new FormData()
      form.append("note", "evidence")
      form.append("file", new Blob([binary], { type: "image/png" }), "scan.png")
      const answer = yield* Effect.flatMap(
        client.execute(HttpClientRequest.post(`${origin}/upload`).pipe(HttpClientRequest.bodyFormData(form))),
        (response) => response.json,
      )
      const { contentType, body } = Schema.decodeUnknownSync(Upload)(answer)
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(contentType ?? "")?.[1]
      assert.isDefined(boundary, `content-type: ${contentType}`)
      assert.include(body, `--${boundary}`)
      assert.include(body, binary.toString("latin1"))
    }).pipe(Effect.provide(NodeHttpTransport.layer)),
  )

  it.live("says an answer it cannot read as HTTP (headers past 16 KiB) came, not that the connection failed", () =>
    Effect.gen(function* () {
      const error = failure(yield* Effect.exit(send(HttpClientRequest.get(`${origin}/many-headers`))))
      assert.strictEqual(error.code, "connection_error")
      assert.include(error.message, "could not be read as HTTP")
    }),
  )

  it.live("fails with connection_error when nothing listens", () =>
    Effect.gen(function* () {
      const closed = createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve)))
      const port = (closed.address() as AddressInfo).port
      yield* Effect.promise(() => new Promise<void>((resolve) => closed.close(() => resolve())))
      const request = HttpClientRequest.get(`http://127.0.0.1:${port}/`)
      const error = failure(
        yield* Effect.exit(
          Effect.flatMap(HttpClient.HttpClient, (client) =>
            ApiClient.make(client, {
              provider: "hyperproof",
              retryPolicy: { ...defaultRetryPolicy, retries: 0 },
            }).send(request, { accessToken: token }),
          ).pipe(Effect.provide(NodeHttpTransport.layer)),
        ),
      )
      assert.strictEqual(error.code, "connection_error")
      assert.notInclude(error.message, Redacted.value(token))
    }),
  )
})
