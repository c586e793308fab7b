/**
 * The emulator in a process of its own, so that its request handling does
 * not share an event loop (and a CPU's worth of JIT and GC) with the
 * contenders it answers. Started by `./emulator.ts` with an IPC channel:
 * it prints `{ origins, env }` as one JSON line on stdout once it listens,
 * then answers the few questions the bench asks (request counts, a hyperid
 * consent, requests that carried tracing headers) over IPC.
 */
import * as DiagnosticsChannel from "node:diagnostics_channel"
import type { IncomingMessage } from "node:http"
import { type LoggedRequest, start } from "@hyperauth/emulator"

/** A question from the bench, and the answer sent back with the same `id`. */
export type Question =
  | { readonly id: number; readonly op: "count"; readonly filter: Partial<LoggedRequest> }
  | { readonly id: number; readonly op: "authorizeHyperId"; readonly url: string }
  | { readonly id: number; readonly op: "traced" }

/** Headers that would make the emulator (or a real provider) see a trace: W3C and Zipkin B3. */
const tracingHeaders = ["traceparent", "tracestate", "b3", "x-b3-traceid"]

const traced: Array<string> = []
DiagnosticsChannel.subscribe("http.server.request.start", (message) => {
  const { request } = message as { readonly request: IncomingMessage }
  const sent = tracingHeaders.filter((name) => request.headers[name] !== undefined)
  if (sent.length > 0) traced.push(`${request.method} ${request.url}: ${sent.join(", ")}`)
})

const emulator = await start()

const answer = (question: Question): unknown => {
  switch (question.op) {
    case "count":
      return emulator.count(question.filter)
    case "authorizeHyperId":
      return emulator.hyperid.authorize(question.url)
    case "traced":
      return traced
  }
}

process.on("message", (question: Question) => {
  process.send?.({ id: question.id, value: answer(question) })
})
// The bench closing the channel (or dying) is the signal to stop.
process.on("disconnect", () => {
  emulator.close().then(() => process.exit(0))
})
process.stdout.write(`${JSON.stringify({ origins: emulator.origins, env: emulator.env })}\n`)
