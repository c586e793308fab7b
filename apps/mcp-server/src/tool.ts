/**
 * How a tool is written (zod input and output, annotations, an Effect) and
 * how it is called: input checked before anything runs (`invalid_input`),
 * typed errors turned into `isError` results, so only defects throw.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Accounts, TokenStore } from "@hyperauth/core"
import type { CallToolResult, ToolAnnotations, Tool as ToolDescription } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import { z } from "zod"
import type { ToolError } from "./errors.js"
import type { Logins } from "./Logins.js"
import type { Providers } from "./Providers.js"
import { failure, invalidInput, success } from "./results.js"
import type { ServerConfig } from "./ServerConfig.js"

export type Services =
  | Accounts.Accounts
  | TokenStore.TokenStore
  | Providers
  | Logins
  | ServerConfig
  | HttpClient.HttpClient

/** What a running tool can ask of the client. */
export interface ToolContext {
  /** A progress notification, when the request carried a progress token. */
  readonly progress: (progress: number, total: number | undefined, message: string) => Effect.Effect<void>
  /** Offers a URL through URL-mode elicitation, when the client supports it. */
  readonly offerUrl: (message: string, url: string) => Effect.Effect<void>
}

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly input: I
  readonly output: O
  readonly annotations: ToolAnnotations
  readonly run: (input: z.output<I>, context: ToolContext) => Effect.Effect<z.input<O>, ToolError, Services>
}

/** A tool with its types erased, ready for the server's list and call handlers. */
export interface Tool {
  readonly name: string
  /** Made on first read: its JSON Schemas serve `tools/list`, which `initialize` does not wait for. */
  readonly description: ToolDescription
  readonly call: (args: unknown, context: ToolContext) => Effect.Effect<CallToolResult, never, Services>
}

const jsonSchema = (schema: z.ZodObject): ToolDescription["inputSchema"] => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>
  return { ...rest, type: "object" }
}

const describeIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length === 0 ? "arguments" : issue.path.join(".")}: ${issue.message}`)
    .join("; ")

const describe = (spec: ToolSpec<z.ZodObject, z.ZodObject>): ToolDescription => ({
  name: spec.name,
  title: spec.title,
  description: spec.description,
  inputSchema: jsonSchema(spec.input),
  outputSchema: jsonSchema(spec.output),
  annotations: { title: spec.title, ...spec.annotations },
})

export const defineTool = <I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): Tool => {
  let description: ToolDescription | undefined
  return {
    name: spec.name,
    get description() {
      description ??= describe(spec)
      return description
    },
    call: (args, context) =>
      Effect.suspend(() => {
        const parsed = spec.input.safeParse(args ?? {})
        if (!parsed.success)
          return Effect.succeed(
            invalidInput(`${describeIssues(parsed.error)}. Fix the arguments and call ${spec.name} again.`),
          )
        return spec.run(parsed.data, context).pipe(
          Effect.map((output) => success(spec.output.parse(output) as Record<string, unknown>)),
          Effect.catchAll((error) => Effect.succeed(failure(error))),
          Effect.withSpan(`tool.${spec.name}`),
        )
      }),
  }
}
