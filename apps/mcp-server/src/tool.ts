/**
 * How a tool is written (Effect `Schema`s for its input and output,
 * annotations, an Effect) and how it is called: input decoded before
 * anything runs (`invalid_input`), typed errors turned into `isError`
 * results, so only defects throw. The same schemas give the JSON Schemas
 * `tools/list` shows, so what a client is told and what the server accepts
 * cannot drift apart.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Accounts, TokenStore } from "@hyperauth/core"
import type { CallToolResult, ToolAnnotations, Tool as ToolDescription } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import type { ApiClients } from "./ApiClients.js"
import type { ToolError } from "./errors.js"
import type { Logins } from "./Logins.js"
import type { Providers } from "./Providers.js"
import { failure, invalidInput, success } from "./results.js"
import type { ServerConfig } from "./ServerConfig.js"

/**
 * What every tool may use: the runtime's services.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | ApiClients
  | Accounts.Accounts
  | TokenStore.TokenStore
  | Providers
  | Logins
  | ServerConfig
  | HttpClient.HttpClient

/**
 * What a running tool can ask of the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolContext {
  /** A progress notification, when the request carried a progress token. */
  readonly progress: (progress: number, total: number | undefined, message: string) => Effect.Effect<void>
  /** Offers a URL through URL-mode elicitation, when the client supports it. */
  readonly offerUrl: (message: string, url: string) => Effect.Effect<void>
}

/**
 * A tool as it is written: `input` decodes the call's arguments (defaults
 * filled in, refinements checked) and `output` encodes what `run` returns
 * into `structuredContent`; both must be structs, as MCP wants objects.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import { defineTool } from "./tool.js"
 *
 * export const echo = defineTool({
 *   name: "echo",
 *   title: "Echo",
 *   description: "Answers with its input.",
 *   input: Schema.Struct({ text: Schema.String }),
 *   output: Schema.Struct({ echo: Schema.String }),
 *   annotations: { readOnlyHint: true },
 *   run: ({ text }) => Effect.succeed({ echo: text }),
 * })
 * ```
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolSpec<IA, II, OA, OI extends Readonly<Record<string, unknown>>> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly input: Schema.Schema<IA, II>
  readonly output: Schema.Schema<OA, OI>
  readonly annotations: ToolAnnotations
  readonly run: (input: IA, context: ToolContext) => Effect.Effect<OA, ToolError, Services>
}

/**
 * A tool with its types erased, ready for the server's list and call handlers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tool {
  readonly name: string
  /** Made on first read: its JSON Schemas serve `tools/list`, which `initialize` does not wait for. */
  readonly description: ToolDescription
  readonly call: (args: unknown, context: ToolContext) => Effect.Effect<CallToolResult, never, Services>
  /** The `invalid_input` result `call` gives `args` without running anything; undefined when they are valid. */
  readonly refusal: (args: unknown) => CallToolResult | undefined
}

/**
 * Effect marks some schemas for its own use (`$id: "/schemas/unknown"`, a
 * `title` such as `"minLength(1)"` on each built-in filter); a client would
 * show them as the field's title, so they are left out. This server's
 * schemas set no `$id` or `title` of their own.
 */
const unmarked = (json: unknown): unknown => {
  if (Array.isArray(json)) return json.map(unmarked)
  if (typeof json !== "object" || json === null) return json
  return Object.fromEntries(
    Object.entries(json)
      .filter(([key]) => key !== "$id" && key !== "title")
      .map(([key, value]) => [key, unmarked(value)]),
  )
}

/**
 * The JSON Schema of a struct, and a struct with no fields spelled as the
 * object it is (Effect spells `{}` as "any object or array"). Extra
 * properties are as decoding takes them: refused in a tool's arguments
 * ("strict", `additionalProperties: false`), allowed in its results,
 * which may carry more than they name (a provider's members).
 */
const objectJsonSchema = (ast: SchemaAST.AST, extra: "strict" | "allow"): ToolDescription["inputSchema"] => {
  if (SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0)
    return { type: "object", properties: {}, ...(extra === "strict" ? { additionalProperties: false } : {}) }
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const json = JSONSchema.fromAST(ast, {
    definitions,
    target: "jsonSchema2020-12",
    additionalPropertiesStrategy: extra,
  })
  const defs = Object.keys(definitions).length === 0 ? {} : { $defs: unmarked(definitions) }
  return { ...(unmarked(json) as object), ...defs, type: "object" }
}

const isUndefined = (ast: SchemaAST.AST) => ast._tag === "UndefinedKeyword"

/** What a value had to be, from the schema alone: never from the value, which may be a secret. */
const expected = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union": {
      const members = ast.types.filter((member) => !isUndefined(member))
      const names = members.map(expected)
      return members.every(SchemaAST.isLiteral)
        ? `one of ${names.join(", ")}`
        : `${names.slice(0, -1).join(", ")}${names.length > 1 ? " or " : ""}${names.at(-1) ?? ""}`
    }
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "Refinement":
      return expected(ast.from)
    case "Transformation":
      return expected(ast.to)
    default:
      return String(ast)
  }
}

/** A refinement's own message (e.g. "use letters, digits, …"), else its description. */
const refinementMessage = (issue: ParseResult.Refinement): string => {
  const message = SchemaAST.getMessageAnnotation(issue.ast)
  const text = message._tag === "Some" ? message.value(issue) : undefined
  if (typeof text === "string") return text
  const description = SchemaAST.getDescriptionAnnotation(issue.ast)
  return `must be ${description._tag === "Some" ? description.value : "valid"}`
}

interface Problem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * Each bad field with its path and what it must be. A union (an optional
 * field is one with `undefined`) reports the member the value got furthest
 * in, if it got past the type check, else the types it could have been.
 */
const problems = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): ReadonlyArray<Problem> => {
  switch (issue._tag) {
    case "Pointer":
      return problems(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])])
    case "Composite": {
      const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues]
      if (!SchemaAST.isUnion(issue.ast)) return issues.flatMap((inner) => problems(inner, path))
      const further = issues.filter((inner) => inner._tag !== "Type")
      return further.length > 0
        ? further.flatMap((inner) => problems(inner, path))
        : [{ path, message: `must be ${expected(issue.ast)}` }]
    }
    case "Refinement":
      return issue.kind === "From" ? problems(issue.issue, path) : [{ path, message: refinementMessage(issue) }]
    case "Transformation":
      return problems(issue.issue, path)
    case "Type":
      return [{ path, message: `must be ${expected(issue.ast)}` }]
    case "Missing":
      return [{ path, message: "is required" }]
    case "Unexpected":
      return [{ path, message: "is not an argument this tool takes (check its spelling)" }]
    case "Forbidden":
      return [{ path, message: "could not be checked" }]
  }
}

/**
 * How deeply an argument may nest: as deep as the API answers `call_api`
 * parses (deeper ones are text), far shallower than what overflows the
 * stack of anything recursive (`JSON.stringify` of a body, at about 5000).
 *
 * @since 0.2.0
 * @category limits
 */
export const maxArgumentDepth = 64

/**
 * The first argument nested deeper than `maxArgumentDepth` (`{}` is one
 * level, a string none), found without recursion: it runs before anything
 * that recurses touches the arguments.
 */
const tooDeep = (args: unknown): string | undefined => {
  if (typeof args !== "object" || args === null) return undefined
  for (const [name, value] of Object.entries(args)) {
    const pending: Array<[unknown, number]> = [[value, 1]]
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [node, depth] = next
      if (typeof node !== "object" || node === null) continue
      if (depth > maxArgumentDepth) return name
      for (const child of Array.isArray(node) ? node : Object.values(node)) {
        if (typeof child === "object" && child !== null) pending.push([child, depth + 1])
      }
    }
  }
  return undefined
}

/**
 * Where the arguments name a member `__proto__` (an own one, as JSON.parse
 * makes it) that decoding dropped: Effect's `Schema.Record` and
 * `Schema.Struct` assign each member, and assigning `__proto__` sets the
 * prototype instead, so a query parameter or header of that name would
 * vanish without a word. A value kept as it came (an `Unknown` body) keeps it.
 */
const lostMember = (raw: unknown, decoded: unknown, path: string): string | undefined => {
  if (typeof raw !== "object" || raw === null || typeof decoded !== "object" || decoded === null || raw === decoded)
    return undefined
  if (Object.hasOwn(raw, "__proto__") && !Object.hasOwn(decoded, "__proto__")) return `${path}.__proto__`
  for (const [name, value] of Object.entries(raw)) {
    if (!Object.hasOwn(decoded, name)) continue
    const lost = lostMember(value, Reflect.get(decoded, name), path === "" ? name : `${path}.${name}`)
    if (lost !== undefined) return lost
  }
  return undefined
}

const describeIssues = (error: ParseResult.ParseError): string =>
  problems(error.issue, [])
    .map(({ path, message }) => `${path.length === 0 ? "arguments" : path.map(String).join(".")} ${message}`)
    .join("; ")

/**
 * The defect of an output outside the tool's schema, naming the paths
 * only: the value may be a token, and the SDK hands the message on.
 */
const outsideSchema = (tool: string, error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "(the output)" : issue.path.map(String).join("."),
  )
  return `${tool} made an output outside its schema, at ${[...new Set(paths)].join(", ")}: a bug of this server`
}

/**
 * Makes a tool from its spec. Its decoder and encoder are built on its
 * first call; its JSON Schemas on the first `tools/list`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Schema from "effect/Schema"
 * import { defineTool } from "./tool.js"
 *
 * const shout = defineTool({
 *   name: "shout",
 *   title: "Shout",
 *   description: "Answers with its input in capitals.",
 *   input: Schema.Struct({ text: Schema.String }),
 *   output: Schema.Struct({ text: Schema.String }),
 *   annotations: { readOnlyHint: true },
 *   run: ({ text }) => Effect.succeed({ text: text.toUpperCase() }),
 * })
 * // shout.call({ text: 3 }, context) succeeds with an `invalid_input` result: "text must be a string. …"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defineTool = <IA, II, OA, OI extends Readonly<Record<string, unknown>>>(
  spec: ToolSpec<IA, II, OA, OI>,
): Tool => {
  // Compiled on the tool's first call, not at start: most runs call only a few of the tools.
  let decode: ((u: unknown) => Either.Either<IA, ParseResult.ParseError>) | undefined
  let encode: ((a: OA) => Either.Either<OI, ParseResult.ParseError>) | undefined
  let description: ToolDescription | undefined
  const inputAst = spec.input.ast
  const takesNone =
    SchemaAST.isTypeLiteral(inputAst) &&
    inputAst.propertySignatures.length === 0 &&
    inputAst.indexSignatures.length === 0
  /** The decoded input, or the `invalid_input` result that refuses it. */
  const check = (args: unknown): Either.Either<IA, CallToolResult> => {
    const deep = tooDeep(args)
    if (deep !== undefined)
      return Either.left(
        invalidInput(
          `${deep} is nested deeper than ${maxArgumentDepth} levels. Fix the arguments and call ${spec.name} again.`,
        ),
      )
    // Left out, the arguments are none; anything but an object is refused, even by a tool
    // that takes none (a struct without fields would take a string or an array).
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args)))
      return Either.left(invalidInput(`arguments must be an object. Fix the arguments and call ${spec.name} again.`))
    // An argument the tool does not take is refused: a misspelt `account`, ignored, would act on the default one.
    // A struct of no fields is `{}` to Effect, which any object is: its arguments are checked here.
    if (takesNone && args !== undefined && Object.keys(args).length > 0)
      return Either.left(
        invalidInput(
          `${Object.keys(args)
            .map((name) => `${name} is not an argument this tool takes (it takes none)`)
            .join("; ")}. Fix the arguments and call ${spec.name} again.`,
        ),
      )
    decode ??= Schema.decodeUnknownEither(spec.input, { errors: "all", onExcessProperty: "error" })
    return Either.mapLeft(decode(args ?? {}), (error) =>
      invalidInput(`${describeIssues(error)}. Fix the arguments and call ${spec.name} again.`),
    ).pipe(
      Either.flatMap((input) => {
        const lost = lostMember(args, input, "")
        return lost === undefined
          ? Either.right(input)
          : Either.left(
              invalidInput(
                `${lost} cannot be sent: the name __proto__ is not taken. Fix the arguments and call ${spec.name} again.`,
              ),
            )
      }),
    )
  }
  return {
    name: spec.name,
    get description() {
      description ??= {
        name: spec.name,
        title: spec.title,
        description: spec.description,
        inputSchema: objectJsonSchema(spec.input.ast, "strict"),
        outputSchema: objectJsonSchema(spec.output.ast, "allow"),
        annotations: { title: spec.title, ...spec.annotations },
      }
      return description
    },
    refusal: (args) => Either.getLeft(check(args)).pipe(Option.getOrUndefined),
    call: (args, context) =>
      Effect.suspend(() => {
        encode ??= Schema.encodeEither(spec.output)
        const encoder = encode
        const input = check(args)
        if (Either.isLeft(input)) return Effect.succeed(input.left)
        // One step turns either outcome into a result: this runs on every call.
        return Effect.matchEffect(spec.run(input.right, context), {
          onFailure: (error) => Effect.succeed(failure(error)),
          // An output outside the tool's own schema is a bug of this server: a defect, not a tool error.
          onSuccess: (output) =>
            Either.match(encoder(output), {
              onLeft: (error) => Effect.dieMessage(outsideSchema(spec.name, error)),
              onRight: (encoded) => Effect.succeed(success(encoded)),
            }),
        })
      }),
  }
}
