/**
 * The smallest MCP server the SDK makes: one `echo` tool over stdio, with
 * the SDK's low-level `Server`. The bench's reference for what the SDK's
 * transport and a process start cost on their own.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"

const server = new Server({ name: "echo", version: "0.0.0" }, { capabilities: { tools: {} } })
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    {
      name: "echo",
      description: "Answers with its input.",
      inputSchema: { type: "object", properties: { text: { type: "string" } } },
    },
  ],
}))
server.setRequestHandler(CallToolRequestSchema, (request) => ({
  content: [{ type: "text", text: JSON.stringify(request.params.arguments ?? {}) }],
  structuredContent: { echo: request.params.arguments ?? {} },
}))
await server.connect(new StdioServerTransport())
