/**
 * How `tools/list` and `tools/call` reach the tools: the tool list, and a
 * call run on the server's runtime with what the tool may ask of the
 * client (progress, URL elicitation). Loaded by `server.ts` on first use,
 * so that answering `initialize` parses none of the tools, Effect or the
 * core.
 *
 * @since 0.2.0
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  type CallToolRequest,
  type CallToolResult,
  ErrorCode,
  McpError,
  type ServerNotification,
  type ServerRequest,
  type Tool as ToolDescription,
} from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import { hasUrlElicitation, negotiatedRevision } from "./lifecycle.js"
import { invalidInput } from "./results.js"
import type { Runtime } from "./runtime.js"
import type { ToolContext } from "./tool.js"
import { tools } from "./tools/index.js"

const byName = new Map(tools.map((tool) => [tool.name, tool]))

/**
 * What `tools/list` answers: every tool's name, schemas and annotations.
 *
 * @example
 * ```ts
 * import { listTools } from "./toolCalls.js"
 *
 * const names = listTools().map((tool) => tool.name)
 * ```
 *
 * @since 0.2.0
 * @category handlers
 */
export const listTools = (): Array<ToolDescription> => tools.map((tool) => tool.description)

/**
 * The answer to a `tools/call` of `name` whose arguments the SDK's schema
 * refuses before `callTool` runs (they are not an object): that tool's
 * `invalid_input` result, or `InvalidParams` for an unknown tool.
 *
 * @example
 * ```ts
 * import { refusedCall } from "./toolCalls.js"
 *
 * const answer = refusedCall("call_api", null) // { result: an invalid_input result }
 * ```
 *
 * @since 0.2.0
 * @category handlers
 */
export const refusedCall = (
  name: string,
  args: unknown,
): { readonly result: CallToolResult } | { readonly error: { readonly code: number; readonly message: string } } => {
  const tool = byName.get(name)
  if (tool === undefined) return { error: { code: ErrorCode.InvalidParams, message: `Unknown tool: ${name}` } }
  // Every tool refuses arguments that are not an object; the fallback only keeps the answer total.
  return {
    result:
      tool.refusal(args) ?? invalidInput(`arguments must be an object. Fix the arguments and call ${name} again.`),
  }
}

/**
 * Runs the tool a `tools/call` names on `runtime`; an unknown tool is a
 * protocol error (`InvalidParams`), every other failure a tool result.
 *
 * @example
 * ```ts
 * import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
 * import { CallToolRequestSchema } from "@modelcontextprotocol/sdk/types.js"
 * import type { Runtime } from "./runtime.js"
 * import { callTool } from "./toolCalls.js"
 *
 * const serve = (server: Server, runtime: Runtime) =>
 *   server.setRequestHandler(CallToolRequestSchema, (request, extra) => callTool(server, runtime, request, extra))
 * ```
 *
 * @since 0.2.0
 * @category handlers
 */
export const callTool = (
  server: Server,
  runtime: Runtime,
  request: CallToolRequest,
  extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
): Promise<CallToolResult> => {
  const tool = byName.get(request.params.name)
  if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`)
  const progressToken = request.params._meta?.progressToken
  const context: ToolContext = {
    progress: (progress, total, message) =>
      progressToken === undefined
        ? Effect.void
        : Effect.ignore(
            Effect.tryPromise(() =>
              extra.sendNotification({
                method: "notifications/progress",
                params: { progressToken, progress, ...(total === undefined ? {} : { total }), message },
              }),
            ),
          ),
    offerUrl: (message, url) =>
      server.getClientCapabilities()?.elicitation?.url === undefined ||
      !hasUrlElicitation(negotiatedRevision(server.transport))
        ? Effect.void
        : Effect.sync(() => {
            // Not awaited: the user answers in their own time; the login goes on either way. Related to
            // the call, so that over --http it goes on the call's own stream, not only on a GET stream
            // the client may never open.
            server
              .elicitInput(
                { mode: "url", message, url, elicitationId: crypto.randomUUID() },
                { relatedRequestId: extra.requestId },
              )
              .catch(() => undefined)
          }),
  }
  return runtime.runPromise(tool.call(request.params.arguments, context), { signal: extra.signal })
}
