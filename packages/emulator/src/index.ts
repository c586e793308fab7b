export { type Emulator, type LoggedRequest, type StartOptions, start } from "./Emulator.js"
export type { Fault, Faults } from "./Faults.js"
export { environment, type OriginName, type Origins, originNames } from "./Origins.js"
export type { HyperControl, HyperOptions } from "./providers/hyper.js"
export {
  defaultHyperIdClient,
  type HyperIdControl,
  type HyperIdOptions,
  hyperidRealmPath,
} from "./providers/hyperid.js"
export {
  defaultHyperlineApiKey,
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
