/**
 * The seed's Promise API, used exactly as its documentation shows, against
 * the emulator over loopback.
 */
import { inspect } from "node:util"
import { runInNewContext } from "node:vm"
import { defaultHyperClient } from "@hyperauth/emulator"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import {
  baseURL,
  type CallOptions,
  type DeviceCode,
  HyperauthError,
  hyperid,
  initiateDeviceFlow,
  introspectToken,
  pollForToken,
  type Token,
} from "../src/promise.js"
import { useEmulator } from "./support/emulator.js"
import { expectNoSecrets, rejection, untyped } from "./support/promise.js"

const emulator = useEmulator({ hyper: { interval: 0.05 } })
const saved = { ...process.env }

beforeEach(() => {
  // Set after import on purpose: the facade reads the environment per call.
  process.env.HYPER_BASE_URL = emulator.current.origins.hyper
  process.env.HYPER_CLIENT_ID = defaultHyperClient.clientId
})
afterEach(() => {
  process.env = { ...saved }
})

const approveSoon = (deviceCode: DeviceCode, decision: "approve" | "deny" = "approve") => {
  const timer = setInterval(() => {
    if (emulator.current.count({ origin: "hyper", path: "/oauth/token" }) > 0) {
      emulator.current.hyper[decision](deviceCode.user_code)
      clearInterval(timer)
    }
  }, 10)
}

describe("@hyperauth/core/promise", () => {
  it("stops polling when its signal aborts, rejecting with the signal's reason", async () => {
    const deviceCode = await initiateDeviceFlow()
    const controller = new AbortController()
    const polling = pollForToken(deviceCode, undefined, { signal: controller.signal })
    controller.abort(new Error("the user closed the dialog"))
    await expect(polling).rejects.toThrow("the user closed the dialog")
    // Aborted before it polled: nothing was asked of the token endpoint.
    expect(emulator.current.count({ origin: "hyper", path: "/oauth/token" })).toBe(0)
    // A signal already aborted sends nothing at all.
    await expect(initiateDeviceFlow({ signal: controller.signal })).rejects.toThrow("closed the dialog")
  })

  it("takes an AbortSignal of another realm (a node:vm context's polyfill) as its own", async () => {
    // No AbortController in a bare context: a polyfill's, as a library of that realm would bring.
    const foreign = (): { readonly signal: CallOptions["signal"]; readonly abort: (reason: unknown) => void } =>
      runInNewContext(`(() => {
        const listeners = new Set()
        const signal = {
          aborted: false,
          reason: undefined,
          addEventListener(type, listener) { if (type === "abort") listeners.add(listener) },
          removeEventListener(type, listener) { listeners.delete(listener) },
        }
        const abort = (reason) => {
          if (signal.aborted) return
          signal.aborted = true
          signal.reason = reason
          for (const listener of [...listeners]) listener.call(signal, { type: "abort" })
        }
        return { signal, abort }
      })()`)
    const before = emulator.current.count({})
    const early = foreign()
    early.abort(new Error("closed before it began"))
    await expect(initiateDeviceFlow({ signal: early.signal })).rejects.toThrow("closed before it began")
    expect(emulator.current.count({})).toBe(before)

    const deviceCode = await initiateDeviceFlow()
    const later = foreign()
    const polling = pollForToken(deviceCode, undefined, { signal: later.signal })
    later.abort(new Error("the user closed the dialog"))
    await expect(polling).rejects.toThrow("the user closed the dialog")
    expect(emulator.current.count({ origin: "hyper", path: "/oauth/token" })).toBe(0)
    // Without the shape (no listeners), it is still refused before anything is sent.
    const shapeless = await rejection(introspectToken("a token", { signal: untyped('{"aborted":false}') }))
    expect(shapeless.code).toBe("invalid_input")
  })

  it("runs the seed's example: initiate, poll, introspect", async () => {
    const deviceCode = await initiateDeviceFlow()
    expect(deviceCode.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/)
    expect(deviceCode.userCode).toBe(deviceCode.user_code)
    expect(deviceCode.verification_uri).toBe(`${emulator.current.origins.hyper}/device`)
    // The emulator says 0.05 s; hyperauth never polls faster than once a second.
    expect(deviceCode.interval).toBe(1)
    approveSoon(deviceCode)
    const seen: Array<Token> = []
    const token = await pollForToken(deviceCode, (t) => seen.push(t))
    expect(seen).toEqual([token])
    expect(token.tokenType).toBe("Bearer")
    expect(token.access_token).toBe(token.accessToken)
    const info = await introspectToken(token.accessToken)
    expect(info.active).toBe(true)
    expect(typeof info.exp).toBe("number")
  })

  it("an onSuccess that throws, or rejects, does not lose the token: the rejection carries it, never in its text", async () => {
    for (const [fails, said] of [
      [
        (): never => {
          throw new Error("the session store is down")
        },
        /^hyper: onSuccess threw after the token was issued \(what it threw is this error's cause\)/,
      ],
      [
        async (): Promise<never> => Promise.reject(new Error("the session store is down")),
        /^hyper: onSuccess's promise rejected after the token was issued \(its reason is this error's cause\)/,
      ],
    ] as const) {
      const deviceCode = await initiateDeviceFlow()
      approveSoon(deviceCode)
      const given: Array<Token> = []
      const error = await rejection(
        pollForToken(deviceCode, (token) => {
          given.push(token)
          return fails()
        }),
      )
      expect(given).toHaveLength(1)
      // The device code is redeemed: this is the only copy of the token the caller can get.
      expect("token" in error ? error.token : undefined).toEqual(given[0])
      expect(error.code).toBe("invalid_input")
      // It says what happened: a throw, or a rejection.
      expect(error.message).toMatch(said)
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause).toMatchObject({ message: "the session store is down" })
      const token = given[0]
      expectNoSecrets(error, [token?.accessToken])
      // What console.log(error) prints.
      expect(inspect(error)).not.toContain(token?.accessToken)
      await expect(introspectToken(token?.accessToken ?? "")).resolves.toMatchObject({ active: true })
    }
  })

  it("an abort once the token is issued does not drop it: the call waits for onSuccess and resolves", async () => {
    const deviceCode = await initiateDeviceFlow()
    approveSoon(deviceCode)
    const controller = new AbortController()
    const token = await pollForToken(
      deviceCode,
      async () => {
        controller.abort(new Error("too late"))
        await new Promise((resolve) => setTimeout(resolve, 50))
      },
      { signal: controller.signal },
    )
    expect((await introspectToken(token.accessToken)).active).toBe(true)
  })

  it("a device code kept as JSON keeps its expiry: resumed after it, the poll rejects with expired_token and sends nothing", async () => {
    // What an app that keeps a pending login does: JSON into its store, JSON.parse on the way back.
    const kept = JSON.stringify(await initiateDeviceFlow())
    const before = emulator.current.count({ origin: "hyper", path: "/oauth/token" })
    // Only Date is faked: the sockets and timers stay real. The code lives 600 s; this is 601 s later.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 601_000 })
    try {
      // Past its expiry nothing is polled; the signal only ends a poll that goes on regardless.
      const expired = await rejection(pollForToken(untyped(kept), undefined, { signal: AbortSignal.timeout(2_000) }))
      expect(expired.code).toBe("expired_token")
      expect(emulator.current.count({ origin: "hyper", path: "/oauth/token" })).toBe(before)
    } finally {
      vi.useRealTimers()
    }
  })

  it("a device code whose interval is not a number of seconds (NaN) is invalid_input, before any poll", async () => {
    const issued = await initiateDeviceFlow()
    const before = emulator.current.count({ origin: "hyper", path: "/oauth/token" })
    const polling = pollForToken({ ...issued, interval: Number.NaN }, undefined, { signal: AbortSignal.timeout(2_000) })
    expect((await rejection(polling)).code).toBe("invalid_input")
    expect(emulator.current.count({ origin: "hyper", path: "/oauth/token" })).toBe(before)
  })

  it("a device code whose expiresAt is no date is invalid_input, before any poll", async () => {
    const issued = await initiateDeviceFlow()
    const before = emulator.current.count({ origin: "hyper", path: "/oauth/token" })
    for (const expiresAt of [new Date(Number.NaN), "not a date", {}, Number.NaN]) {
      const refused = await rejection(pollForToken(Object.assign({}, issued, { expiresAt })))
      expect(refused.code).toBe("invalid_input")
      expect(refused.message).toContain("expiresAt")
    }
    expect(emulator.current.count({ origin: "hyper", path: "/oauth/token" })).toBe(before)
  })

  it("accepts a device code written by hand with the RFC names", async () => {
    const issued = await initiateDeviceFlow()
    approveSoon(issued)
    const token = await pollForToken({ device_code: issued.device_code, expires_in: 600, interval: 0.05 })
    expect(token.accessToken.length).toBeGreaterThan(20)
  })

  it("a token answer without scope grants the scope initiateDeviceFlow asked for (RFC 6749 §5.1)", async () => {
    const deviceCode = await initiateDeviceFlow({ scope: "read write" })
    // The first poll is answered with a token that names no scope, as RFC 6749 §5.1 lets a server answer.
    emulator.current.faults.inject({
      origin: "hyper",
      path: "/oauth/token",
      status: 200,
      body: JSON.stringify({ access_token: "hyper-at-0123456789abcdef", token_type: "Bearer", expires_in: 3600 }),
      times: 1,
    })
    const token = await pollForToken(deviceCode)
    expect(token.scope).toBe("read write")
  })

  it("an invalid token introspects as { active: false }, not a rejection", async () => {
    await expect(introspectToken("nope")).resolves.toEqual({ active: false })
  })

  it("an empty token is no token (RFC 7662 requires one): invalid_input, as with hyperid, and nothing is sent", async () => {
    Object.assign(process.env, emulator.current.env)
    const before = emulator.current.count({})
    for (const [provider, call] of [
      ["hyper", () => introspectToken("")],
      ["hyperid", () => hyperid.introspectToken("")],
    ] as const) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(new RegExp(`^${provider}: no access token given`))
      expect(error.message).toContain("Nothing was sent.")
    }
    expect(emulator.current.count({})).toBe(before)
  })

  it("rejects with code access_denied when the user refuses", async () => {
    const deviceCode = await initiateDeviceFlow()
    approveSoon(deviceCode, "deny")
    await expect(pollForToken(deviceCode)).rejects.toMatchObject({ code: "access_denied", name: "HyperauthError" })
  })

  it("rejects with code expired_token when the code expires", async () => {
    const deviceCode = await initiateDeviceFlow()
    const polling = pollForToken(deviceCode)
    emulator.current.clock.advance(601)
    await expect(polling).rejects.toMatchObject({ code: "expired_token" })
  })

  it("rejects with code connection_error when hyper cannot be reached", async () => {
    process.env.HYPER_BASE_URL = "http://127.0.0.1:1"
    const rejection = await initiateDeviceFlow().catch((e: unknown) => e)
    expect(rejection).toBeInstanceOf(Error)
    expect(rejection).toMatchObject({ code: "connection_error" })
  })

  it("rejects with code not_configured without HYPER_CLIENT_ID", async () => {
    delete process.env.HYPER_CLIENT_ID
    await expect(initiateDeviceFlow()).rejects.toMatchObject({ code: "not_configured" })
  })

  it("rejects with code invalid_response on a malformed answer", async () => {
    emulator.current.faults.inject({ path: "/oauth/introspect", malformed: true, times: 1 })
    await expect(introspectToken("x")).rejects.toMatchObject({ code: "invalid_response" })
  })

  it("rejects with code invalid_token on a Bearer challenge", async () => {
    emulator.current.faults.inject({
      path: "/oauth/introspect",
      status: 401,
      headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      times: 1,
    })
    await expect(introspectToken("x")).rejects.toMatchObject({ code: "invalid_token" })
  })

  it("does not follow a redirect from a token endpoint: the 3xx is an http_error", async () => {
    // Once: followed, it would reach the real route and resolve.
    emulator.current.faults.inject({
      path: "/oauth/token",
      status: 307,
      headers: { location: `${emulator.current.origins.hyper}/oauth/token` },
      times: 1,
    })
    const issued = await initiateDeviceFlow()
    emulator.current.hyper.approve(issued.user_code)
    await expect(pollForToken(issued)).rejects.toMatchObject({ code: "http_error", status: 307 })
  })

  it("a JavaScript caller's wrong types reject with invalid_input, before anything is sent", async () => {
    const issued = await initiateDeviceFlow()
    const before = emulator.current.count({})
    // Each as plain JavaScript would pass it (untyped: no types); a poll that starts is stopped by its signal.
    const signal = AbortSignal.timeout(3_000)
    const refusals = [
      () => initiateDeviceFlow(untyped('{ "scope": 5 }')),
      () => initiateDeviceFlow(untyped('{ "signal": {} }')),
      () => pollForToken(untyped("null"), undefined, { signal }),
      () => pollForToken(untyped("{}"), undefined, { signal }),
      () => pollForToken({ device_code: "", expires_in: 600 }, undefined, { signal }),
      () => pollForToken(untyped('{ "device_code": "dc", "expires_in": "600" }'), undefined, { signal }),
      () => pollForToken(issued, untyped('"not a function"'), { signal }),
      () => introspectToken(untyped("null")),
      () => introspectToken(untyped("5")),
    ]
    for (const call of refusals) {
      const error = await rejection(call())
      expect(error.code).toBe("invalid_input")
      expect(error.message).toMatch(/^hyper: .{20,}/)
    }
    expect(emulator.current.count({})).toBe(before)
    // No options, or null ones, as fetch takes a null init.
    await expect(initiateDeviceFlow(untyped("null"))).resolves.toMatchObject({ interval: 1 })
  })

  it("introspectToken takes the Token pollForToken resolved with, as hyperid.introspectToken does", async () => {
    const deviceCode = await initiateDeviceFlow()
    approveSoon(deviceCode)
    const token = await pollForToken(deviceCode)
    await expect(introspectToken(token)).resolves.toMatchObject({ active: true })
    const error = await rejection(introspectToken(untyped('{ "accessToken": "" }')))
    expect(error.message).toMatch(/^hyper: no access token given/)
  })

  it("a slip a JavaScript caller makes is refused with what to write instead, before anything is sent", async () => {
    Object.assign(process.env, emulator.current.env)
    const issued = await initiateDeviceFlow()
    const login = await hyperid.authorizationUrl()
    const before = emulator.current.count({})
    // The options where onSuccess goes: the poll would run without its signal.
    const options = await rejection(pollForToken(issued, untyped('{ "signal": null }')))
    expect(options.code).toBe("invalid_input")
    expect(options.message).toContain("pollForToken(deviceCode, undefined, options)")
    // A login kept as JSON text and not parsed back.
    const kept = await rejection(hyperid.completeLogin(untyped(JSON.stringify(JSON.stringify(login))), "http://x/"))
    expect(kept.code).toBe("invalid_input")
    expect(kept.message).toContain("JSON.parse")
    expect(emulator.current.count({})).toBe(before)
  })

  it("baseURL() reads HYPER_BASE_URL at call time, with the documented default", () => {
    process.env.HYPER_BASE_URL = "https://custom.hyper.io"
    expect(baseURL()).toBe("https://custom.hyper.io")
    delete process.env.HYPER_BASE_URL
    expect(baseURL()).toBe("https://api.hyper.io")
  })

  it("baseURL() is the origin the calls use: normalised, and an invalid one is not_configured naming what to fix", () => {
    try {
      process.env.HYPER_BASE_URL = " https://custom.hyper.io/// "
      expect(baseURL()).toBe("https://custom.hyper.io")
      for (const invalid of ["https://ada:pa55word@hyper.example", "hyper.example", "ftp://hyper.example"]) {
        process.env.HYPER_BASE_URL = invalid
        let thrown: unknown
        try {
          baseURL()
        } catch (error) {
          thrown = error
        }
        expect(thrown, invalid).toBeInstanceOf(HyperauthError)
        if (!(thrown instanceof HyperauthError)) continue
        const error = thrown
        expect(error.code).toBe("not_configured")
        expect(error.message).toContain("HYPER_BASE_URL must be an http(s) origin")
        expect(error.message).not.toContain(invalid)
        expect(JSON.stringify(error)).not.toContain("pa55word")
      }
    } finally {
      delete process.env.HYPER_BASE_URL
    }
  })
})
