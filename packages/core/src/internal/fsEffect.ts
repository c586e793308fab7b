/** File system calls as Effects that fail with the token store's error. */
import * as Effect from "effect/Effect"
import { TokenStoreError } from "./storeErrors.js"

export const isErrno = (error: unknown, code: string): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === code

const ioError = (storePath: string, what: string, error: unknown) =>
  new TokenStoreError({
    path: storePath,
    reason: "io",
    detail: `${what}: ${isErrno(error, "EACCES") ? "permission denied" : error instanceof Error ? error.message : String(error)}`,
  })

/** Runs `run`, turning a rejection into `TokenStoreError` "io" naming `what` failed. */
export const fsEffect = <A>(storePath: string, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (error) => ioError(storePath, what, error) })

/**
 * Runs the synchronous call `run`, turning what it throws into
 * `TokenStoreError` "io". For the store's small files: on a local disk a
 * synchronous call takes microseconds, where an asynchronous one costs a
 * trip through the thread pool and the event loop (tens to hundreds of
 * microseconds, many per write). Waiting for the disk (`fsync`) stays
 * asynchronous.
 */
export const fsSync = <A>(storePath: string, what: string, run: () => A) =>
  Effect.try({ try: run, catch: (error) => ioError(storePath, what, error) })
