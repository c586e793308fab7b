/**
 * `@hyperauth/core/promise` handed arguments that throw when read: a getter
 * that throws, a Proxy whose every trap throws, a signal whose `aborted`
 * throws. A function that returns a Promise must never throw instead: each
 * call returns a Promise that rejects with `invalid_input`, and sends
 * nothing. Against the emulator over loopback.
 */
import { defaultHyperClient } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { hyperid, hyperline, hyperproof, initiateDeviceFlow, introspectToken, pollForToken } from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { rejection, unchecked } from "./support/promise.js"

const emulator = useEmulator()
const saved = { ...process.env }

beforeEach(() => {
  Object.assign(process.env, emulator.current.env)
  process.env.HYPER_BASE_URL = emulator.current.origins.hyper
  process.env.HYPER_CLIENT_ID = defaultHyperClient.clientId
})
afterEach(async () => {
  process.env = { ...saved }
  await hyperproof.dispose()
})

/** What the caller's getter throws. */
const thrown = new Error("a getter of the caller's")

/** An object whose `name` throws when read. */
const throwing = (name: string): never => {
  const value = {}
  Object.defineProperty(value, name, {
    enumerable: true,
    get: () => {
      throw thrown
    },
  })
  return unchecked(value)
}

/** A Proxy whose every trap throws. */
const proxy = (): never => {
  const trap = () => {
    throw thrown
  }
  return unchecked(
    new Proxy(
      {},
      {
        get: trap,
        has: trap,
        ownKeys: trap,
        getOwnPropertyDescriptor: trap,
        getPrototypeOf: trap,
      },
    ),
  )
}

/** An AbortSignal by its shape, whose `aborted` throws. */
const hostileSignal = (): never => {
  const signal = { addEventListener: () => {}, removeEventListener: () => {} }
  Object.defineProperty(signal, "aborted", {
    get: () => {
      throw thrown
    },
  })
  return unchecked(signal)
}

/** The options of a call, hostile three ways. */
const hostileOptions = (): ReadonlyArray<never> => [throwing("signal"), proxy(), unchecked({ signal: hostileSignal() })]

const token = "an-access-token-of-no-one"
const login = { state: "s", codeVerifier: "v".repeat(43), redirectUri: "http://127.0.0.1:1/callback" }
const landed = "http://127.0.0.1:1/callback?state=s&code=c"

/** Every facade function with hostile options, then with a hostile first argument. */
const calls: ReadonlyArray<readonly [string, (hostile: never) => Promise<unknown>]> = [
  ["initiateDeviceFlow", (options) => initiateDeviceFlow(options)],
  ["pollForToken options", (options) => pollForToken({ device_code: "d", expires_in: 60 }, undefined, options)],
  ["pollForToken device code", (code) => pollForToken(code)],
  ["introspectToken options", (options) => introspectToken(token, options)],
  ["introspectToken token", (held) => introspectToken(held)],
  ["hyperid.authorizationUrl", (options) => hyperid.authorizationUrl(options)],
  ["hyperid.completeLogin options", (options) => hyperid.completeLogin(login, landed, options)],
  ["hyperid.completeLogin login", (held) => hyperid.completeLogin(held, landed)],
  ["hyperid.refresh options", (options) => hyperid.refresh("a-refresh-token", options)],
  ["hyperid.refresh token", (held) => hyperid.refresh(held)],
  ["hyperid.introspectToken options", (options) => hyperid.introspectToken(token, options)],
  ["hyperid.introspectToken token", (held) => hyperid.introspectToken(held)],
  ["hyperid.logout options", (options) => hyperid.logout("a-refresh-token", options)],
  ["hyperid.logout token", (held) => hyperid.logout(held)],
  ["hyperline.authorizationUrl", (options) => hyperline.authorizationUrl(options)],
  ["hyperline.completeLogin options", (options) => hyperline.completeLogin(login, landed, options)],
  ["hyperline.completeLogin login", (held) => hyperline.completeLogin(held, landed)],
  ["hyperline.refresh options", (options) => hyperline.refresh("a-refresh-token", options)],
  ["hyperline.refresh token", (held) => hyperline.refresh(held)],
  ["hyperline.revoke options", (options) => hyperline.revoke("a-refresh-token", options)],
  ["hyperline.revoke token", (held) => hyperline.revoke(held)],
  ["hyperline.fetch init", (init) => hyperline.fetch(token, "/v1/companies", init)],
  ["hyperline.fetch token", (held) => hyperline.fetch(held, "/v1/companies")],
  ["hyperline.fetch headers", (headers) => hyperline.fetch(token, "/v1/companies", { headers })],
  ["hyperproof.getToken", (options) => hyperproof.getToken(options)],
  ["hyperproof.fetch init", (init) => hyperproof.fetch("/v1/controls", init)],
  ["hyperproof.fetch headers", (headers) => hyperproof.fetch("/v1/controls", { headers })],
]

describe("@hyperauth/core/promise, arguments that throw when read", () => {
  for (const [name, call] of calls) {
    it(`${name}: returns a Promise that rejects with invalid_input, sending nothing`, async () => {
      for (const hostile of hostileOptions()) {
        const before = emulator.current.count({})
        let settled: Promise<unknown> | undefined
        expect(() => {
          settled = call(hostile)
        }).not.toThrow()
        const refused = await rejection(settled ?? Promise.resolve())
        expect(refused.code).toBe("invalid_input")
        expect(emulator.current.count({})).toBe(before)
      }
    })
  }
})
