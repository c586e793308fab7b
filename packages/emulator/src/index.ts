export { type Emulator, type LoggedRequest, type StartOptions, start } from "./Emulator.js"
export type { Fault, Faults } from "./Faults.js"
export { environment, type OriginName, type Origins, originNames } from "./Origins.js"
