/**
 * MCP over stdio: newline-delimited JSON-RPC on stdin and stdout, as the
 * SDK's `StdioServerTransport` speaks it, with the same 10 MiB limit per
 * message, but robust to what a client may send:
 *
 * - a line longer than the limit is dropped, up to its newline, and said on
 *   stderr; the server serves on (the SDK's transport closed itself, and the
 *   server exited with code 0 without a word);
 * - a JSON-RPC batch is served message by message, each answer on its own
 *   line (the SDK's transport refused it);
 * - a line that is not JSON is answered `-32700`, and JSON that is not a
 *   JSON-RPC message `-32600` (with its id, if it has a valid one), as
 *   JSON-RPC 2.0 says, and each is logged in one line (the SDK's dropped
 *   them in silence).
 *
 * No log line quotes a message: it may carry arguments with secrets.
 *
 * @since 0.2.0
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js"

/**
 * The longest message read, newline excluded: the SDK's own limit
 * (`STDIO_DEFAULT_MAX_BUFFER_SIZE`), so clients see no change below it.
 *
 * @since 0.2.0
 * @category limits
 */
export const maxLineBytes = 10 * 1024 * 1024

const newline = 0x0a

/** The id of a message that is not a valid JSON-RPC one, when it has a usable id: the answer then reaches its caller. */
const idOf = (value: unknown): string | number | undefined => {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined
  const id: unknown = value.id
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id)) ? id : undefined
}

/**
 * The transport: reads `input` once started, writes to `output`, and
 * reports each refused line with `log`.
 *
 * @example
 * ```ts
 * import { StdioTransport } from "./stdio.js"
 *
 * const transport = new StdioTransport(process.stdin, process.stdout, (line) => process.stderr.write(`${line}\n`))
 * ```
 *
 * @since 0.2.0
 * @category transports
 */
export class StdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  /** The line read so far. */
  private parts: Array<Buffer> = []
  private size = 0
  /** Inside a line past the limit: its bytes are skipped up to its newline. */
  private dropping = false
  /** Lines read, for the log: a refused line is told by its number. */
  private lines = 0
  /** Resolved at the output's next `drain`: one listener, however many sends wait. */
  private drained: Promise<void> | undefined

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * While stdout is full (the client does not read its answers), no more
   * requests are read: stdin is paused and the rest of the chunk at hand
   * waits here, so a client cannot make the server hold every answer.
   */
  private congested = false
  private unread: Buffer | undefined

  private readonly onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk
    this.unread = this.unread === undefined ? bytes : Buffer.concat([this.unread, bytes])
    this.readLines()
  }

  private readLines(): void {
    const bytes = this.unread
    if (bytes === undefined) return
    let from = 0
    for (let end = bytes.indexOf(newline); end !== -1 && !this.congested; end = bytes.indexOf(newline, from)) {
      this.take(bytes.subarray(from, end))
      this.endLine()
      from = end + 1
    }
    if (this.congested) {
      this.unread = from < bytes.length ? bytes.subarray(from) : undefined
      return
    }
    this.unread = undefined
    if (from < bytes.length) this.take(bytes.subarray(from))
  }

  private readonly onInputError = (error: Error) => {
    // The code only ("EIO", ...): the server stops when its input ends.
    this.log(`stdin failed${"code" in error && typeof error.code === "string" ? ` (${error.code})` : ""}`)
    this.onerror?.(error)
  }

  async start(): Promise<void> {
    this.input.on("data", this.onData)
    this.input.on("error", this.onInputError)
  }

  private take(part: Buffer): void {
    if (this.dropping || part.length === 0) return
    // One byte over is let in: a CRLF line's `\r`, which is no part of the message.
    if (this.size + part.length > maxLineBytes + 1) {
      this.drop(this.lines + 1)
      return
    }
    this.parts.push(part)
    this.size += part.length
  }

  private drop(message: number): void {
    // Said at once, not at the newline: a line that never ends is reported too.
    this.log(
      `message ${message} is longer than 10 MiB (the stdio limit) and was dropped, unread; a request in it gets no answer`,
    )
    this.dropping = true
    this.parts = []
    this.size = 0
  }

  private endLine(): void {
    this.lines++
    if (this.dropping) {
      this.dropping = false
      return
    }
    const bytes = this.parts.length === 1 && this.parts[0] !== undefined ? this.parts[0] : Buffer.concat(this.parts)
    const carriageReturn = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d
    if (bytes.length - (carriageReturn ? 1 : 0) > maxLineBytes) {
      this.drop(this.lines)
      this.dropping = false
      return
    }
    const line = bytes.toString("utf8", 0, bytes.length - (carriageReturn ? 1 : 0))
    this.parts = []
    this.size = 0
    // A blank line carries no message: nothing to answer.
    if (line.trim() !== "") this.receive(line)
  }

  private receive(line: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      this.log(`message ${this.lines} is not JSON; answered -32700 (parse error)`)
      this.refuse(undefined, ErrorCode.ParseError, "Parse error: the message is not JSON")
      return
    }
    // A batch (MCP 2025-03-26 and JSON-RPC 2.0; the --http transport takes them too) is its messages
    // in order, each answered on its own line, as over --http's event streams: the SDK's clients read
    // one message per line, not an array. One that is empty or holds anything but messages is refused whole.
    const batch = Array.isArray(parsed) && parsed.length > 0 ? parsed.map((m) => JSONRPCMessageSchema.safeParse(m)) : []
    if (batch.length > 0 && batch.every((m) => m.success)) {
      for (const message of batch) this.dispatch(message.data)
      return
    }
    const message = JSONRPCMessageSchema.safeParse(parsed)
    if (!message.success) {
      this.log(`message ${this.lines} is not a JSON-RPC message; answered -32600 (invalid request)`)
      this.refuse(
        idOf(parsed),
        ErrorCode.InvalidRequest,
        "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
      )
      return
    }
    this.dispatch(message.data)
  }

  private dispatch(message: JSONRPCMessage): void {
    try {
      this.onmessage?.(message)
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** An error answer; without an id (JSON-RPC's `null`, which MCP's schema spells by leaving it out) when none is known. */
  private refuse(id: string | number | undefined, code: number, message: string): void {
    this.send({ jsonrpc: "2.0", ...(id === undefined ? {} : { id }), error: { code, message } }).catch((error) =>
      this.onerror?.(error instanceof Error ? error : new Error(String(error))),
    )
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.output.write(`${JSON.stringify(message)}\n`)) return Promise.resolve()
    if (!this.congested) {
      this.congested = true
      this.input.pause()
    }
    this.drained ??= new Promise((resolve) =>
      this.output.once("drain", () => {
        this.drained = undefined
        this.congested = false
        resolve()
        if (this.closed) return
        this.readLines()
        if (!this.congested) this.input.resume()
      }),
    )
    return this.drained
  }

  private closed = false

  async close(): Promise<void> {
    this.closed = true
    this.input.off("data", this.onData)
    this.input.off("error", this.onInputError)
    // Paused only when no one else reads it.
    if (this.input.listenerCount("data") === 0) this.input.pause()
    this.parts = []
    this.size = 0
    this.unread = undefined
    this.onclose?.()
  }
}
