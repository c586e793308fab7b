/**
 * A local, faithful emulator of hyper, hyperid, hyperline and hyperproof
 * over real loopback HTTP: their endpoints as their documentation describes
 * them, a clock tests can move, the tokens it issued, faults to inject, and
 * controls that act in the user's place (approve a device code, consent on
 * an authorization page).
 *
 * @example
 * ```ts
 * import { start } from "@hyperauth/emulator"
 *
 * const emulator = await start()
 * const response = await fetch(`${emulator.origins.hyper}/oauth/device`, {
 *   method: "POST",
 *   headers: { "content-type": "application/x-www-form-urlencoded" },
 *   body: new URLSearchParams({ client_id: emulator.env.HYPER_CLIENT_ID ?? "" }),
 * })
 * const { user_code } = (await response.json()) as { user_code: string }
 * emulator.hyper.approve(user_code) // true: the next poll gets a token
 * await emulator.close()
 * ```
 *
 * @since 0.1.0
 */
export { type Emulator, type LoggedRequest, maxBodyBytes, type StartOptions, start } from "./Emulator.js"
export type { Fault, Faults } from "./Faults.js"
export { environment, type OriginName, type Origins, originNames } from "./Origins.js"
export { defaultHyperClient, type HyperControl, type HyperOptions } from "./providers/hyper.js"
export {
  defaultHyperIdClient,
  type HyperIdControl,
  type HyperIdOptions,
  hyperidRealmPath,
} from "./providers/hyperid.js"
export {
  defaultHyperlineApiKey,
  defaultHyperlineCallback,
  defaultHyperlineClient,
  type HyperlineControl,
  type HyperlineOptions,
} from "./providers/hyperline.js"
export {
  defaultHyperproofClient,
  type HyperproofControl,
  type HyperproofOptions,
  sampleControl,
} from "./providers/hyperproof.js"
export type { Clock, IssuedToken, Tokens } from "./State.js"
