/** File system calls as Effects that fail with the token store's error. */
import * as Effect from "effect/Effect"
import { TokenStoreError } from "./storeErrors.js"

export const isErrno = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === code

/** Runs `run`, turning a rejection into `TokenStoreError` "io" naming `what` failed. */
export const fsEffect = <A>(storePath: string, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (error) =>
      new TokenStoreError({
        path: storePath,
        reason: "io",
        detail: `${what}: ${isErrno(error, "EACCES") ? "permission denied" : error instanceof Error ? error.message : String(error)}`,
      }),
  })
