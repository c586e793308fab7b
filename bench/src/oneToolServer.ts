/**
 * An MCP server with one tool over stdio, on the SDK's low-level `Server`:
 * the bench's reference servers (`./echoServer.ts`, `./floorServer.ts`).
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"

export interface OneTool {
  readonly name: string
  readonly description: string
  /** The tool's one string argument. */
  readonly argument: string
  readonly call: (argument: unknown) => CallToolResult | Promise<CallToolResult>
}

/** Serves `tool` over stdio until stdin closes. */
export const serve = async (tool: OneTool): Promise<void> => {
  const server = new Server({ name: tool.name, version: "0.0.0" }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: tool.name,
        description: tool.description,
        inputSchema: { type: "object", properties: { [tool.argument]: { type: "string" } } },
      },
    ],
  }))
  server.setRequestHandler(CallToolRequestSchema, (request) => tool.call(request.params.arguments?.[tool.argument]))
  await server.connect(new StdioServerTransport())
}
