/**
 * Building tool results: `structuredContent` with a JSON text copy for
 * clients that only read `content`, and the error form whose first line
 * starts with the stable code.
 *
 * Errors carry no `structuredContent`: clients (the SDK's among them)
 * validate any `structuredContent` against the tool's output schema, even
 * on `isError` results, and an error object would fail that check. The
 * details follow the first line as JSON instead.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { type ErrorContent, errorContent, type ToolError } from "./errors.js"

export const success = (structured: Readonly<Record<string, unknown>>): CallToolResult => ({
  // Compact: the copy is for clients that only read `content`, and a call_api body is written twice per result.
  content: [{ type: "text", text: JSON.stringify(structured) }],
  structuredContent: structured,
})

const errorResult = (content: ErrorContent): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: `${content.error.code}: ${content.error.message}\n${JSON.stringify(content)}` }],
})

export const failure = (error: ToolError): CallToolResult => errorResult(errorContent(error))

/** A refused tool call: `invalid_input`, nothing sent, nothing touched. */
export const invalidInput = (message: string): CallToolResult =>
  errorResult({ error: { code: "invalid_input", message } })
