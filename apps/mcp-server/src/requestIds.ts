/**
 * Each request the server runs has an id of its own, so that a
 * cancellation ends the request it names. The SDK's `Protocol` keys a
 * running request by the client's id and acts on a cancellation a
 * microtask after it is read:
 *
 * - it ignores a `notifications/cancelled` whose `requestId` is falsy, so
 *   a request with id `0` or `""` (valid JSON-RPC ids: a client counting
 *   from 0, a script) ran on to its end and was answered: a
 *   `complete_login` for as long as it waited (up to 120 s), a `call_api`
 *   until the API answered;
 * - a request that reuses the id of one just cancelled, read in the same
 *   turn, took the cancellation: the new one got no answer and the
 *   cancelled one ran on, was answered, and escaped the stdio transport's
 *   bound on running requests (300 of them ran, past 128).
 *
 * Between the transport and the server each request is carried under a
 * fresh id, and a cancellation under the id of the request it named when
 * it was read; answers (and `relatedRequestId`, which routes a message over
 * `--http` to its request's stream) go back under the client's id. The
 * transport sees only the client's ids; the server only its own. The
 * client's answers to the server's requests are in the server's own ids
 * already and pass as they are.
 *
 * @since 0.2.0
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js"

/**
 * Wraps `transport` so that the server sees an id of its own for every
 * request; it must sit next to the transport, under every other wrapper.
 *
 * @example
 * ```ts
 * import { withOwnRequestIds } from "./requestIds.js"
 * import { StdioTransport } from "./stdio.js"
 *
 * const transport = withOwnRequestIds(new StdioTransport(process.stdin, process.stdout, console.error))
 * ```
 *
 * @since 0.2.0
 * @category transports
 */
export const withOwnRequestIds = (transport: Transport): Transport => {
  let next = 1
  /** The server's id of each request in flight, by the client's id. */
  const serverIds = new Map<RequestId, number>()
  /** The client's id of each request the server runs, by the server's. */
  const clientIds = new Map<RequestId, RequestId>()

  const send = transport.send.bind(transport)
  transport.send = (message, options) => {
    const related = options?.relatedRequestId
    const routed = related === undefined ? options : { ...options, relatedRequestId: clientIds.get(related) ?? related }
    // Only answers: the server's own requests are in its own ids, as the client's answers to them.
    if (!("result" in message || "error" in message) || message.id === undefined) return send(message, routed)
    const client = clientIds.get(message.id)
    if (client === undefined) return send(message, routed)
    clientIds.delete(message.id)
    if (serverIds.get(client) === message.id) serverIds.delete(client)
    return send({ ...message, id: client }, routed)
  }

  /**
   * The message as the server sees it: a request under a fresh id, a
   * cancellation under the id of the request it names, or none for a
   * cancellation that names none in flight (it could name another under
   * the server's ids; MCP says to ignore it).
   */
  const renamed = (message: JSONRPCMessage): JSONRPCMessage | undefined => {
    if (!("method" in message)) return message
    if ("id" in message) {
      const id = next++
      serverIds.set(message.id, id)
      clientIds.set(id, message.id)
      return { ...message, id }
    }
    const named: unknown = message.params?.requestId
    if (message.method !== "notifications/cancelled" || (typeof named !== "string" && typeof named !== "number"))
      return message
    const id = serverIds.get(named)
    if (id === undefined || message.params === undefined) return undefined
    // Over for the client: its id may come again at once. The SDK aborts the request a microtask
    // later; an answer it sends before that still finds the client's id until the next turn.
    serverIds.delete(named)
    setImmediate(() => clientIds.delete(id))
    return { ...message, params: { ...message.params, requestId: id } }
  }

  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      const seen = renamed(message)
      if (seen !== undefined) dispatch?.(seen, extra)
    }
    return start()
  }
  return transport
}
