/**
 * MCP's lifecycle on one connection (MCP, "Lifecycle"): initialization
 * MUST be the first interaction, and it happens once. The SDK's `Server`
 * enforces neither: it served `tools/call` before `initialize`, and it
 * answered a second `initialize`, taking the new client's capabilities and
 * version in place of the first's. Over `--http` the SDK's transport
 * refuses both for each session; over stdio nothing did. Here:
 *
 * - before `initialize` only `ping` (which the spec lets come first) is
 *   served; any other request is answered -32600 and runs nothing;
 * - requests written after `initialize`, before its answer, are served: a
 *   client piping a script does that, and the answer comes first anyway;
 * - a second `initialize` is -32600, as the SDK's HTTP transport answers
 *   it; one refused for its params does not count, the next may come;
 * - the revision the answer names is given to the transport
 *   (`setProtocolVersion`), which reads batches only under revisions that
 *   have them.
 *
 * Notifications and the client's responses pass as they are: none asks
 * for an answer.
 *
 * @since 0.2.0
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { ErrorCode, type RequestId } from "@modelcontextprotocol/sdk/types.js"

/**
 * Whether JSON-RPC batches are MCP messages under `revision`, the one
 * `initialize` negotiated: 2025-03-26 names them (the revisions before it
 * follow JSON-RPC 2.0, which has them), 2025-06-18 removed them. None
 * before `initialize`, which MUST NOT be part of one. Revisions are dates,
 * so they compare as strings.
 *
 * @example
 * ```ts
 * import { hasBatches } from "./lifecycle.js"
 *
 * hasBatches("2025-03-26") // true
 * hasBatches("2025-06-18") // false
 * ```
 *
 * @since 0.2.0
 * @category revisions
 */
export const hasBatches = (revision: string | undefined): boolean => revision !== undefined && revision < "2025-06-18"

/**
 * The answer's message to a batch under `revision`, where it has none.
 *
 * @since 0.2.0
 * @category revisions
 */
export const batchRefusal = (revision: string | undefined): string =>
  revision === undefined
    ? "Invalid Request: a JSON-RPC batch cannot come before initialize, nor hold it; send initialize alone"
    : `Invalid Request: MCP ${revision} has no JSON-RPC batches (2025-06-18 removed them); send each message alone`

/**
 * Wraps `transport` before the `Server` connects to it: every message it
 * reads is checked here first, and the answer to `initialize` is seen on
 * its way out.
 *
 * @example
 * ```ts
 * import { Server } from "@modelcontextprotocol/sdk/server/index.js"
 * import { withLifecycle } from "./lifecycle.js"
 * import { StdioTransport } from "./stdio.js"
 *
 * const server = new Server({ name: "example", version: "1.0.0" }, { capabilities: { tools: {} } })
 * await server.connect(withLifecycle(new StdioTransport(process.stdin, process.stdout, console.error)))
 * ```
 *
 * @since 0.2.0
 * @category transports
 */
/** The revision each connection negotiated, by its transport, once its `initialize` is answered. */
const revisions = new WeakMap<Transport, string>()

/**
 * The MCP revision the connection on `transport` negotiated; undefined
 * before its `initialize` is answered.
 *
 * @since 0.2.0
 * @category revisions
 */
export const negotiatedRevision = (transport: Transport | undefined): string | undefined =>
  transport === undefined ? undefined : revisions.get(transport)

/**
 * Whether a revision has URL-mode elicitation (MCP 2025-11-25 and later):
 * a client of an earlier one would take such a request for a malformed
 * form, whatever capabilities it declared.
 *
 * @since 0.2.0
 * @category revisions
 */
export const hasUrlElicitation = (revision: string | undefined): boolean =>
  revision !== undefined && revision >= "2025-11-25"

export const withLifecycle = (transport: Transport): Transport => {
  /** The `initialize` request handed on and not answered yet. */
  let initializing: RequestId | undefined
  /** The revision the answer to `initialize` named: the connection is initialized. */
  let negotiated: string | undefined

  const send = transport.send.bind(transport)
  transport.send = (message, options) => {
    if (initializing !== undefined && "id" in message && message.id === initializing) {
      if ("result" in message) {
        negotiated = String(message.result.protocolVersion)
        revisions.set(transport, negotiated)
        transport.setProtocolVersion?.(negotiated)
        initializing = undefined
      } else if ("error" in message) initializing = undefined
    }
    return send(message, options)
  }

  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      if (!("method" in message) || !("id" in message) || message.method === "ping") return dispatch?.(message, extra)
      const refusal =
        message.method === "initialize"
          ? negotiated !== undefined || initializing !== undefined
            ? "Invalid Request: Server already initialized"
            : undefined
          : negotiated === undefined && initializing === undefined
            ? "Invalid Request: Server not initialized: send initialize first (only ping may come before it)"
            : undefined
      if (refusal === undefined) {
        if (message.method === "initialize") initializing = message.id
        return dispatch?.(message, extra)
      }
      transport
        .send({ jsonrpc: "2.0", id: message.id, error: { code: ErrorCode.InvalidRequest, message: refusal } })
        .catch((error: unknown) => transport.onerror?.(error instanceof Error ? error : new Error(String(error))))
    }
    return start()
  }
  return transport
}
