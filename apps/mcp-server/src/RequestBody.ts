/**
 * A request's body, read whole. `--http` reads a request that would start
 * a session before it takes a session's place for it, so that a client
 * sending slowly holds none while it does (how long it may take is the
 * request timeout of `HttpConnections`).
 */
import type { IncomingMessage } from "node:http"

/**
 * The body's bytes, or `undefined` when it is longer than `maxBytes`, as
 * its Content-Length says or as it arrives (what comes after is dropped).
 * Fails when the request ends first: the client went away, or timed out.
 */
export const read = (req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"]) > maxBytes) return resolve(undefined)
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) chunks.push(chunk)
      else resolve(undefined)
    })
    req.once("end", () => resolve(Buffer.concat(chunks)))
    req.once("error", reject)
    req.once("close", () => reject(new Error("The request ended before its body had arrived")))
  })
