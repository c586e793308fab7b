/**
 * The smallest MCP server the SDK makes: one `echo` tool over stdio, with
 * the SDK's low-level `Server`. The bench's reference for what the SDK's
 * transport and a process start cost on their own.
 */
import { serve } from "./oneToolServer.js"

await serve({
  name: "echo",
  description: "Answers with its input.",
  argument: "text",
  call: (text) => {
    const echo = text === undefined ? {} : { text }
    return { content: [{ type: "text", text: JSON.stringify(echo) }], structuredContent: { echo } }
  },
})
