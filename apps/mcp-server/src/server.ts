/**
 * An MCP server over the tools. The low-level `Server` is used so that
 * input is checked by the tools themselves: a malformed call is an
 * `invalid_input` tool result, as the contract says, not a protocol error.
 *
 * This module loads only the SDK: the tools, Effect and the core come with
 * `toolCalls.ts` on the first `tools/list` or `tools/call`, and the runtime
 * is given as a promise, so `initialize` is answered while they load.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  type JSONRPCMessage,
  ListToolsRequestSchema,
  PingRequestSchema,
} from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js"
import { withLifecycle } from "./lifecycle.js"
import { withOwnRequestIds } from "./requestIds.js"
import type { Runtime } from "./runtime.js"

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

let toolCalls: Promise<typeof import("./toolCalls.js")> | undefined
/** The tools and how they are called, loaded once, on first use. */
const loadToolCalls = () => {
  toolCalls ??= import("./toolCalls.js")
  return toolCalls
}

export const createServer = (runtime: Promise<Runtime>): Server => {
  const server = new Server(serverInfo, {
    jsonSchemaValidator: lazyAjv(),
    capabilities: { tools: {} },
    instructions:
      "hyperauth logs in to the OAuth providers hyper, hyperid, hyperline and hyperproof and calls their APIs. Start with list_providers, then login (and complete_login for logins that wait for the user), then call_api. Tokens stay on the server.",
  })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await loadToolCalls()).listTools() }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
    (await loadToolCalls()).callTool(server, await runtime, request, extra),
  )
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

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A problem zod found in a request, as much of it as is told back: where, and what was expected. */
interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly code: string
  readonly expected?: unknown
}

/** What this module needs of the SDK's request schemas. */
interface RequestSchema {
  readonly safeParse: (value: unknown) => {
    readonly success: boolean
    readonly error?: { readonly issues: ReadonlyArray<Issue> } | undefined
  }
}

/** The requests this server answers, each with the SDK's schema for it. */
const requestSchemas: ReadonlyMap<string, RequestSchema> = new Map<string, RequestSchema>([
  ["initialize", InitializeRequestSchema],
  ["ping", PingRequestSchema],
  ["tools/list", ListToolsRequestSchema],
  ["tools/call", CallToolRequestSchema],
])

/** A path into the request, its keys shown only when they are plain names: a key is the client's text. */
const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((key) =>
      typeof key === "number" || (typeof key === "string" && /^[A-Za-z_$][\w$-]{0,63}$/.test(key)) ? key : "(key)",
    )
    .join(".")

/** One issue in a few words: never zod's message, which may quote the request. */
const issueText = (issue: Issue): string =>
  `${pathText(issue.path)} ${issue.code === "invalid_type" && typeof issue.expected === "string" && /^\w+$/.test(issue.expected) ? `must be of type ${issue.expected}` : "is not valid"}`

/**
 * The answer to a request the SDK's schema for it would refuse before any
 * handler runs, which the SDK answers `-32603` with a dump of zod's issues:
 * `InvalidParams` instead, in a short sentence naming the fields. A
 * `tools/call` without a tool name says what it needs; one whose arguments
 * are not an object gets the named tool's `invalid_input` result, as the
 * contract says. Undefined for every other message (they go on to the SDK,
 * which answers a method it does not know with `-32601`).
 */
const refusedRequest = (message: JSONRPCMessage): Promise<JSONRPCMessage> | undefined => {
  if (!("method" in message) || !("id" in message)) return undefined
  const schema = requestSchemas.get(message.method)
  if (schema === undefined) return undefined
  const refuse = (text: string) =>
    Promise.resolve<JSONRPCMessage>({
      jsonrpc: "2.0",
      id: message.id,
      error: { code: ErrorCode.InvalidParams, message: text },
    })
  const params: unknown = message.params
  if (message.method === "tools/call") {
    if (!isObject(params) || typeof params.name !== "string")
      return refuse("tools/call needs params with name, the tool to call, and arguments, an object")
    if (params._meta !== undefined && !isObject(params._meta))
      return refuse("tools/call params._meta must be an object")
    if (params.arguments !== undefined && !isObject(params.arguments)) {
      const { name, arguments: args } = params
      return loadToolCalls().then((calls) => ({ jsonrpc: "2.0", id: message.id, ...calls.refusedCall(name, args) }))
    }
  }
  const issues = schema.safeParse(message).error?.issues
  // Every tool is on one page: no cursor was ever handed out, so any is invalid (MCP, "Pagination").
  if (issues === undefined && message.method === "tools/list" && isObject(params) && params.cursor !== undefined)
    return refuse(
      "Invalid params for tools/list: params.cursor is not one this server gave; call tools/list without it",
    )
  if (issues === undefined) return undefined
  const shown = issues.slice(0, 3).map(issueText).join("; ")
  return refuse(
    `Invalid params for ${message.method}: ${shown}${issues.length > 3 ? `; and ${issues.length - 3} more` : ""}`,
  )
}

/**
 * A `tools/call` without its task augmentation (`params.task`, an object):
 * this server declares no tasks capability, and MCP 2025-11-25 has such a
 * receiver process the request normally, ignoring it, where the SDK would
 * answer `-32603`. It is stripped once checked: a `task` the schema
 * refuses (not an object, a `ttl` that is no number) is still `-32602`.
 */
const withoutTask = (message: JSONRPCMessage): JSONRPCMessage => {
  if (!("method" in message) || message.method !== "tools/call" || !isObject(message.params)) return message
  const { task, ...params } = message.params
  return isObject(task) ? { ...message, params } : message
}

/**
 * Puts `refusedRequest` in front of the SDK: the `Server` sets the
 * transport's `onmessage` when it connects, just before `start`, so it is
 * wrapped there, before any message can arrive.
 */
const withRequestsChecked = (transport: Transport): Transport => {
  const start = transport.start.bind(transport)
  transport.start = () => {
    const dispatch = transport.onmessage
    transport.onmessage = (message, extra) => {
      // Checked at once: every other message reaches the SDK in the same turn, in order.
      const answer = refusedRequest(message)
      if (answer === undefined) return dispatch?.(withoutTask(message), extra)
      answer
        .then((refusal) => transport.send(refusal))
        .catch((error: unknown) => transport.onerror?.(error instanceof Error ? error : new Error(String(error))))
    }
    return start()
  }
  return transport
}

/**
 * Connects `server` to `transport`; every transport of this server is
 * connected here. A request read gets an id of the server's own first
 * (next to the transport, so that cancellations end what they name), then
 * meets the lifecycle (nothing before `initialize`), then the check of its
 * params.
 */
export const connect = (server: Server, transport: Transport): Promise<void> =>
  server.connect(withRequestsChecked(withLifecycle(withBareErrorMessages(withOwnRequestIds(transport)))))
