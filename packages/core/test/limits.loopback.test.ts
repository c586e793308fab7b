/**
 * Hostile answers over real loopback HTTP: bodies too large (counted after
 * decompression), nested too deep, or endless; and redirects, which no
 * request of the core follows.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Readable } from "node:stream"
import { createGzip } from "node:zlib"
import type { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as Hyper from "../src/Hyper.js"
import { defaultMaxBodyBytes } from "../src/internal/pipeline.js"
import { useEmulator } from "./support/emulator.js"
import { failure } from "./support/exits.js"
import { transports } from "./support/transports.js"

const emulator = useEmulator()

const hyper = () => Hyper.make({ baseUrl: emulator.current.origins.hyper, clientId: "hyper-limits" })

const introspections = () => emulator.current.count({ origin: "hyper", path: "/oauth/introspect" })
const introspect = Effect.suspend(() =>
  Effect.flatMap(hyper(), (s) => s.introspectToken(Redacted.make("at-limits-0123456789"))),
)

/** A JSON answer a little over the limit once inflated, a few KiB on the wire. */
const bomb = (extra = 1024) => ({ active: true, padding: "0".repeat(defaultMaxBodyBytes + extra) })

for (const [transportName, transport] of transports) {
  const live = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, transport)

  describe(`over ${transportName}`, () => {
    describe("answers larger than the limit", () => {
      for (const status of [200, 400, 503]) {
        it.live(`a gzip answer (HTTP ${status}) over 256 KiB inflated is invalid_response, sent once`, () =>
          live(
            Effect.gen(function* () {
              emulator.current.faults.inject({
                path: "/oauth/introspect",
                status,
                body: bomb(4 * 1024 * 1024),
                gzip: true,
              })
              const before = introspections()
              const error = failure(yield* Effect.exit(introspect))
              assert.strictEqual(error.code, "invalid_response")
              assert.include(error.message, "256 KiB")
              assert.strictEqual(introspections() - before, 1, "not retried")
            }),
          ),
        )
      }

      it.live("an answer just under the limit is still read", () =>
        live(
          Effect.gen(function* () {
            const body = JSON.stringify({ active: true, padding: "" })
            const padding = "0".repeat(defaultMaxBodyBytes - body.length)
            emulator.current.faults.inject({ path: "/oauth/introspect", status: 200, body: { active: true, padding } })
            const info = yield* introspect
            assert.isTrue(info.active)
          }),
        ),
      )
    })

    describe("an endless gzip stream", () => {
      let server: Server
      let origin = ""
      beforeAll(async () => {
        // Zeros forever, gzip-compressed: the client must stop reading, not wait for the end.
        server = createServer((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
          const zeros = Buffer.alloc(64 * 1024, 0x30)
          const endless = new Readable({ read: () => void endless.push(zeros) })
          endless.pipe(createGzip()).pipe(res)
          res.on("close", () => endless.destroy())
        })
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
        origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      })
      afterAll(async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })

      it.live("is cut at the limit: invalid_response well before the time limit", () =>
        live(
          Effect.gen(function* () {
            const service = yield* Hyper.make({ baseUrl: origin, clientId: "hyper-limits", timeout: "10 seconds" })
            const error = failure(yield* Effect.exit(service.introspectToken(Redacted.make("at-limits-0123456789"))))
            assert.strictEqual(error.code, "invalid_response")
          }),
        ),
      )
    })

    describe("answers nested too deep", () => {
      it.live("an introspection answer nested thousands of levels deep is invalid_response", () =>
        live(
          Effect.gen(function* () {
            const deep = `{"active":true,"x":${"[".repeat(5000)}${"]".repeat(5000)}}`
            emulator.current.faults.inject({ path: "/oauth/introspect", status: 200, body: deep })
            const error = failure(yield* Effect.exit(introspect))
            assert.strictEqual(error.code, "invalid_response")
            assert.include(error.message, "nested too deep")
          }),
        ),
      )

      it.live("brackets inside strings do not count", () =>
        live(
          Effect.gen(function* () {
            const body = JSON.stringify({ active: true, note: "[".repeat(5000) })
            emulator.current.faults.inject({ path: "/oauth/introspect", status: 200, body })
            assert.isTrue((yield* introspect).active)
          }),
        ),
      )
    })

    describe("redirects", () => {
      it.live(
        "a token-endpoint redirect is an answer, not followed, even without the MCP runtime's fetch options",
        () =>
          live(
            Effect.gen(function* () {
              // Once: a followed redirect would reach the real route and succeed.
              emulator.current.faults.inject({
                path: "/oauth/introspect",
                status: 307,
                headers: { location: `${emulator.current.origins.hyper}/oauth/introspect` },
                times: 1,
              })
              const before = introspections()
              const error = failure(yield* Effect.exit(introspect))
              assert.strictEqual(error.code, "http_error")
              assert.strictEqual(introspections() - before, 1)
            }),
          ),
      )
    })
  })
}
