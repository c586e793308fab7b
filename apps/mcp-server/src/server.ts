/**
 * An MCP server over the tools. The low-level `Server` is used so that
 * input is checked by the tools themselves: a malformed call is an
 * `invalid_input` tool result, as the contract says, not a protocol error.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js"
import * as Effect from "effect/Effect"
import type { Runtime } from "./runtime.js"
import type { ToolContext } from "./tool.js"
import { tools } from "./tools/index.js"

export const serverInfo = { name: "hyperauth", version: "0.1.0" } as const

/**
 * The SDK's Ajv validator, made on first use. The `Server` checks
 * form-mode elicitation answers with it, and this server only elicits URLs:
 * building Ajv (and compiling its meta-schemas) at every start would cost
 * the start time and memory of something no call may need.
 */
const lazyAjv = (): jsonSchemaValidator => {
  let ajv: AjvJsonSchemaValidator | undefined
  return {
    getValidator: (schema) => {
      ajv ??= new AjvJsonSchemaValidator()
      return ajv.getValidator(schema)
    },
  }
}

export const createServer = (runtime: Runtime): Server => {
  const server = new Server(serverInfo, {
    jsonSchemaValidator: lazyAjv(),
    capabilities: { tools: {} },
    instructions:
      "hyperauth logs in to the OAuth providers hyper, hyperid, hyperline and hyperproof and calls their APIs. Start with list_providers, then login (and complete_login for logins that wait for the user), then call_api. Tokens stay on the server.",
  })
  const byName = new Map(tools.map((tool) => [tool.name, tool]))

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: tools.map((tool) => tool.description) }))

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
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
        server.getClientCapabilities()?.elicitation?.url === undefined
          ? Effect.void
          : Effect.sync(() => {
              // Not awaited: the user answers in their own time; the login goes on either way.
              server
                .elicitInput({ mode: "url", message, url, elicitationId: crypto.randomUUID() })
                .catch(() => undefined)
            }),
    }
    return runtime.runPromise(tool.call(request.params.arguments, context), { signal: extra.signal })
  })

  return server
}

/**
 * An `McpError`'s message already starts with "MCP error <code>: ", and the
 * client's `McpError` adds it again ("MCP error -32602: MCP error -32602:
 * ..."): error answers leave the server with the bare message, whoever threw
 * them (our handlers or the SDK's own checks). Every outgoing message passes
 * here, so an error answer is told by its `error` member, not by the SDK's
 * `isJSONRPCErrorResponse`, which parses the whole message (a `call_api`
 * result with its body) with zod.
 */
const withBareErrorMessages = (transport: Transport): Transport => {
  const send = transport.send.bind(transport)
  transport.send = (message, options) =>
    send(
      "error" in message
        ? {
            ...message,
            error: {
              ...message.error,
              message: message.error.message.replace(/^MCP error -?\d+: /, ""),
            },
          }
        : message,
      options,
    )
  return transport
}

/** Connects `server` to `transport`; every transport of this server is connected here. */
export const connect = (server: Server, transport: Transport): Promise<void> =>
  server.connect(withBareErrorMessages(transport))
