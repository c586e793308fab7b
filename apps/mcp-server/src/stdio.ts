/**
 * MCP over stdio: newline-delimited JSON-RPC on stdin and stdout, as the
 * SDK's `StdioServerTransport` speaks it, with the same 10 MiB limit per
 * message, but robust to what a client may send:
 *
 * - a line longer than the limit is dropped, up to its newline, and said on
 *   stderr; the server serves on (the SDK's transport closed itself, and the
 *   server exited with code 0 without a word). A request in it is answered
 *   `-32600` under its id when the line's first or last bytes show it (as
 *   clients write requests: the id before the method, or last), so its
 *   caller hears at once rather than at its time limit;
 * - a UTF-8 byte order mark before a message is skipped (some writers put
 *   one before their first line);
 * - a JSON-RPC batch is served message by message, each answer on its own
 *   line (the SDK's transport refused it), under the revisions that have
 *   batches (2025-03-26 and before, as negotiated); under later ones, and
 *   before `initialize`, it is answered -32600 whole and nothing in it runs;
 * - no more is read while stdout is full, and past `maxPendingRequests`
 *   requests waiting for their answers the next ones wait unread (at most
 *   as many again), so a client that writes without reading cannot make
 *   the server hold every answer; notifications (a cancellation) and the
 *   client's answers to the server's requests are read meanwhile;
 * - a request whose id is that of one not answered yet is answered
 *   `-32600`: the SDK would run both and cancel only the last;
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
import {
  CancelledNotificationSchema,
  ErrorCode,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type JSONRPCRequest,
} from "@modelcontextprotocol/sdk/types.js"
import { batchRefusal, hasBatches } from "./lifecycle.js"

/**
 * The longest message read, newline excluded: the SDK's own limit
 * (`STDIO_DEFAULT_MAX_BUFFER_SIZE`), so clients see no change below it.
 *
 * @since 0.2.0
 * @category limits
 */
export const maxLineBytes = 10 * 1024 * 1024

/**
 * The most requests read and not yet answered (cancelled ones aside): past
 * it no more are read until one is answered, and a batch holds at most as
 * many. Answers come some turns after their requests, so without it a
 * client writing thousands at once had them all read, and every answer
 * held, before the first write filled stdout and paused reading.
 *
 * @since 0.2.0
 * @category limits
 */
export const maxPendingRequests = 128

const newline = 0x0a

/** How much of a line past the limit is kept, at each end, to find its id. */
const headBytes = 256
const tailBytes = 64

// A JSON integer or a string without escapes or control characters: text JSON.parse takes as an id.
const idPattern = String.raw`(-?(?:0|[1-9]\d{0,14})|"[^"\\\u0000-\u001f]{0,40}")`
const jsonrpc = String.raw`(?:\s*"jsonrpc"\s*:\s*"2\.0"\s*,)?`
/** A request's id named before its method: `{"jsonrpc":"2.0","id":1,"method":…`. */
const idFirst = new RegExp(String.raw`^\s*\{${jsonrpc}\s*"id"\s*:\s*${idPattern}\s*,${jsonrpc}\s*"method"\s*:`)
/** A request that names its method first and its id last, as the SDK's `Client` writes them. */
const methodFirst = new RegExp(String.raw`^\s*\{${jsonrpc}\s*"method"\s*:`)
const idLast = new RegExp(String.raw`,\s*"id"\s*:\s*${idPattern}\s*\}\s*$`)

/**
 * The id of the request in a line past the limit, from its first and last
 * bytes, when they show one for sure: a top-level `id` beside `method`.
 * Anything else (a client's answer, an id only in its params) has none.
 */
const idOfOversized = (head: Buffer, tail: Buffer): string | number | undefined => {
  // UTF-8, as the line is: a cut character at either end only blurs what no pattern reaches.
  const start = head.toString("utf8", head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0)
  const first = idFirst.exec(start)
  const last = first === null && !methodFirst.test(start) ? null : idLast.exec(tail.toString("utf8"))
  // Named twice, the last one counts to JSON.parse: which one the client meant cannot be told.
  if (first !== null && last !== null && first[1] !== last[1]) return undefined
  const id = first?.[1] ?? last?.[1]
  if (id === undefined) return undefined
  try {
    const value: unknown = JSON.parse(id)
    return typeof value === "string" || typeof value === "number" ? value : undefined
  } catch {
    return undefined
  }
}

/** The first `n` bytes of `parts`, copied. */
const firstBytes = (parts: ReadonlyArray<Buffer>, n: number): Buffer => {
  const kept: Array<Buffer> = []
  let size = 0
  for (const part of parts) {
    if (size >= n) break
    kept.push(part.subarray(0, n - size))
    size += Math.min(part.length, n - size)
  }
  return Buffer.from(Buffer.concat(kept))
}

/** The last `n` bytes of `parts`, copied. */
const lastBytes = (parts: ReadonlyArray<Buffer>, n: number): Buffer => {
  const kept: Array<Buffer> = []
  let size = 0
  for (let i = parts.length - 1; i >= 0 && size < n; i--) {
    const part = parts[i] ?? Buffer.alloc(0)
    kept.unshift(part.subarray(Math.max(0, part.length - (n - size))))
    size += Math.min(part.length, n - size)
  }
  return Buffer.from(Buffer.concat(kept))
}

/** The id of a message that is not a valid JSON-RPC one, when it has a usable id: the answer then reaches its caller. */
const idOf = (value: unknown): string | number | undefined => {
  if (typeof value !== "object" || value === null || !("id" in value)) return undefined
  const id: unknown = value.id
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id)) ? id : undefined
}

/** The members of a JSON-RPC request. */
const envelope = new Set(["jsonrpc", "id", "method", "params"])
/** Where `_meta` names the task a request belongs to (MCP 2025-11-25). */
const relatedTask = "io.modelcontextprotocol/related-task"

/** Methods a refusal may name: the client's own text is never quoted back. */
const namedMethods = new Set(["initialize", "ping", "tools/list", "tools/call", "notifications/cancelled"])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * What is wrong with a request whose envelope is JSON-RPC's (`jsonrpc`
 * "2.0", a usable id, a method, params structured if any) that the message
 * schema refused all the same: its params, which MCP has an object (JSON-RPC
 * allows an array), whose `_meta` is an object
 * whose `progressToken` is a string or an integer and whose related task
 * is an object with a string `taskId`. Such a request is
 * `-32602`, as the server answers params its schemas refuse; undefined
 * when the fault is elsewhere.
 */
const paramsFault = (value: unknown): { readonly id: string | number; readonly message: string } | undefined => {
  const id = idOf(value)
  if (!isRecord(value) || id === undefined || value.jsonrpc !== "2.0" || typeof value.method !== "string")
    return undefined
  // A member JSON-RPC's request has not makes no request, whatever its params.
  if (Object.keys(value).some((name) => !envelope.has(name))) return undefined
  const { params } = value
  const meta = isRecord(params) ? params._meta : undefined
  const token = isRecord(meta) ? meta.progressToken : undefined
  const task = isRecord(meta) ? meta[relatedTask] : undefined
  // Params that are no structured value (a string, a number) make no JSON-RPC request (§4.2): -32600.
  if (params !== undefined && !isRecord(params) && !Array.isArray(params)) return undefined
  const fault = Array.isArray(params)
    ? "params must be an object, not an array"
    : meta !== undefined && !isRecord(meta)
      ? "params._meta must be an object"
      : token !== undefined && typeof token !== "string" && !(typeof token === "number" && Number.isInteger(token))
        ? "params._meta.progressToken must be a string or an integer"
        : task !== undefined && !(isRecord(task) && typeof task.taskId === "string")
          ? `params._meta.${relatedTask} must be an object with a string taskId`
          : undefined
  if (fault === undefined) return undefined
  const method = namedMethods.has(value.method) ? ` for ${value.method}` : ""
  return { id, message: `Invalid params${method}: ${fault}` }
}

/** An error answer to a message that cannot be answered under its id (JSON-RPC 2.0 §5: then `id` is null). */
interface Refusal {
  readonly jsonrpc: "2.0"
  readonly id?: string | number | null
  readonly error: { readonly code: number; readonly message: string }
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
  /** The first and last bytes of the line being dropped: where its id is. */
  private droppedHead: Buffer = Buffer.alloc(0)
  private droppedTail: Buffer = Buffer.alloc(0)
  /** Lines read, for the log: a refused line is told by its number. */
  private lines = 0

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
  /** The ids of the requests handed on and not answered (nor cancelled) yet. */
  private readonly pending = new Set<string | number>()
  /** Requests read past `maxPendingRequests`, in order, with the length of their line: handed on as answers go out. */
  private readonly waiting: Array<{ readonly request: JSONRPCRequest; readonly size: number }> = []
  private waitingSize = 0
  /** Whether `readLines` is running: an answer sent meanwhile leaves the reading to it. */
  private reading = false
  /** The revision `initialize` negotiated, once it is answered: it decides whether batches are read. */
  private protocolVersion: string | undefined

  /** Told by the lifecycle (`lifecycle.ts`) when `initialize` is answered. */
  setProtocolVersion(version: string): void {
    this.protocolVersion = version
  }

  /** Whether reading waits: for stdout to drain, or for answers while as many requests wait unread. */
  private get held(): boolean {
    return this.congested || this.waiting.length >= maxPendingRequests || this.waitingSize > maxLineBytes
  }

  private readonly onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk
    this.unread = this.unread === undefined ? bytes : Buffer.concat([this.unread, bytes])
    this.readLines()
  }

  private readLines(): void {
    const bytes = this.unread
    if (bytes === undefined) return
    let from = 0
    this.reading = true
    for (let end = bytes.indexOf(newline); end !== -1 && !this.held; end = bytes.indexOf(newline, from)) {
      this.take(bytes.subarray(from, end))
      this.endLine()
      from = end + 1
    }
    this.reading = false
    if (this.held) {
      this.unread = from < bytes.length ? bytes.subarray(from) : undefined
      this.input.pause()
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

  /** Set once stdout has failed (`EPIPE`: the client has gone): nothing more is written. */
  private outputFailed = false

  private readonly onOutputError = (error: Error) => {
    if (this.outputFailed) return
    this.outputFailed = true
    // Unheard, it would end the process at once, before a refresh under way is stored.
    this.log(
      `stdout failed${"code" in error && typeof error.code === "string" ? ` (${error.code})` : ""}: the client has gone`,
    )
    this.onerror?.(error)
  }

  async start(): Promise<void> {
    this.input.on("data", this.onData)
    this.input.on("error", this.onInputError)
    this.output.on("error", this.onOutputError)
  }

  /** The bytes of the line read so far that are no part of its message: a byte order mark before it. */
  private markBytes(part: Buffer): number {
    const first = this.parts[0] ?? part
    return first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? 3 : 0
  }

  private take(part: Buffer): void {
    if (part.length === 0) return
    if (this.dropping) {
      this.droppedTail = lastBytes([this.droppedTail, part], tailBytes)
      return
    }
    // One byte over is let in, a CRLF line's `\r`, and a byte order mark's three: no part of the message.
    if (this.size + part.length > maxLineBytes + 1 + this.markBytes(part)) {
      this.droppedHead = firstBytes([...this.parts, part], headBytes)
      this.droppedTail = lastBytes([...this.parts, part], tailBytes)
      this.drop(this.lines + 1)
      return
    }
    this.parts.push(part)
    this.size += part.length
  }

  private drop(message: number): void {
    // Said at once, not at the newline: a line that never ends is reported too.
    this.log(
      `message ${message} is longer than 10 MiB (the stdio limit) and was dropped, unread; a request in it is answered -32600 (invalid request) if its id is found`,
    )
    this.dropping = true
    this.parts = []
    this.size = 0
  }

  private endLine(): void {
    this.lines++
    if (this.dropping) {
      this.dropping = false
      this.refuseOversized()
      return
    }
    const bytes = this.parts.length === 1 && this.parts[0] !== undefined ? this.parts[0] : Buffer.concat(this.parts)
    const carriageReturn = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d
    const end = bytes.length - (carriageReturn ? 1 : 0)
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
    if (end - bom > maxLineBytes) {
      this.droppedHead = Buffer.from(bytes.subarray(0, headBytes))
      this.droppedTail = Buffer.from(bytes.subarray(end - tailBytes, end))
      this.drop(this.lines)
      this.dropping = false
      this.refuseOversized()
      return
    }
    const line = bytes.toString("utf8", bom, end)
    this.parts = []
    this.size = 0
    // A blank line carries no message: nothing to answer.
    if (line.trim() !== "") this.receive(line)
  }

  /** Answers the request in the line just dropped, when its id is known: its caller need not wait out its time limit. */
  private refuseOversized(): void {
    const id = idOfOversized(this.droppedHead, this.droppedTail)
    this.droppedHead = Buffer.alloc(0)
    this.droppedTail = Buffer.alloc(0)
    if (id === undefined) return
    this.refuse(
      id,
      ErrorCode.InvalidRequest,
      "Invalid Request: the message is longer than 10 MiB, the stdio limit, and was not read; send it in smaller parts",
    )
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
    // An array under a revision without batches is no message of it: refused whole, unread.
    if (Array.isArray(parsed) && !hasBatches(this.protocolVersion)) {
      this.log(
        `message ${this.lines} is a batch, not a JSON-RPC message ${this.protocolVersion === undefined ? "before initialize" : `of MCP ${this.protocolVersion}`}; answered -32600 (invalid request)`,
      )
      this.refuse(undefined, ErrorCode.InvalidRequest, batchRefusal(this.protocolVersion))
      return
    }
    // A batch (MCP 2025-03-26 and JSON-RPC 2.0; --http takes them under the same revisions) is its messages
    // in order, each answered on its own line, as over --http's event streams: the SDK's clients read
    // one message per line, not an array. One that is empty or holds anything but messages is refused whole.
    if (Array.isArray(parsed) && parsed.length > maxPendingRequests) {
      this.log(`message ${this.lines} is a batch of ${parsed.length} messages; answered -32600 (invalid request)`)
      this.refuse(
        undefined,
        ErrorCode.InvalidRequest,
        `Invalid Request: a batch holds at most ${maxPendingRequests} messages`,
      )
      return
    }
    const batch = Array.isArray(parsed) && parsed.length > 0 ? parsed.map((m) => JSONRPCMessageSchema.safeParse(m)) : []
    if (batch.length > 0 && batch.every((m) => m.success)) {
      for (const message of batch) this.dispatch(message.data, line.length)
      return
    }
    const message = JSONRPCMessageSchema.safeParse(parsed)
    const fault = message.success ? undefined : paramsFault(parsed)
    if (fault !== undefined) {
      this.log(`message ${this.lines} is a request whose params MCP's schema refuses; answered -32602 (invalid params)`)
      this.refuse(fault.id, ErrorCode.InvalidParams, fault.message)
      return
    }
    if (!message.success) {
      this.log(`message ${this.lines} is not a JSON-RPC message; answered -32600 (invalid request)`)
      // Under its id only if it meant to be a request: a client's answer names one of the server's requests.
      this.refuse(
        isRecord(parsed) && "method" in parsed ? idOf(parsed) : undefined,
        ErrorCode.InvalidRequest,
        "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
      )
      return
    }
    this.dispatch(message.data, line.length)
  }

  /** `size`: the length of the message's line, for the bound on requests waiting unread. */
  private dispatch(message: JSONRPCMessage, size: number): void {
    if ("method" in message) {
      if ("id" in message) {
        const { id } = message
        if (this.pending.has(id) || this.waiting.some(({ request }) => request.id === id)) {
          this.log(
            `message ${this.lines} repeats the id of a request not answered yet; answered -32600 (invalid request)`,
          )
          this.refuse(id, ErrorCode.InvalidRequest, "Invalid Request: the id is that of a request not answered yet")
          return
        }
        if (this.waiting.length > 0 || this.pending.size >= maxPendingRequests) {
          this.waiting.push({ request: message, size })
          this.waitingSize += size
          return
        }
        this.pending.add(id)
      } else if (message.method === "notifications/cancelled") {
        // A cancelled request gets no answer (MCP, "Cancellation"): it is over now. Only a cancellation
        // the SDK acts on (one its schema takes; requestIds.ts makes it act on 0 and "" too), else it answers still.
        const cancelled = CancelledNotificationSchema.safeParse(message)
        const id = cancelled.success ? cancelled.data.params.requestId : undefined
        if (id !== undefined) {
          const at = this.waiting.findIndex(({ request }) => request.id === id)
          const [dropped] = at === -1 ? [] : this.waiting.splice(at, 1)
          if (dropped !== undefined) this.waitingSize -= dropped.size
          else if (this.pending.delete(id)) this.answered()
          // A request that waited unread is dropped unseen; the SDK ignores the cancellation.
          if (dropped !== undefined) return
        }
      }
    }
    this.deliver(message)
  }

  private deliver(message: JSONRPCMessage): void {
    try {
      this.onmessage?.(message)
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** An error answer; without an id (JSON-RPC's `null`, which MCP's schema spells by leaving it out) when none is known. */
  private refuse(id: string | number | undefined, code: number, message: string): void {
    // Written, not sent: it answers no pending request. Under the id of one in flight it would
    // be, to the client, that request's answer: then under none (`null`), as over --http.
    const inFlight = id !== undefined && (this.pending.has(id) || this.waiting.some(({ request }) => request.id === id))
    const named = id === undefined ? {} : { id: inFlight ? null : id }
    this.write({ jsonrpc: "2.0", ...named, error: { code, message } })
  }

  /** A pending request is over (answered or cancelled): the next ones waiting are handed on, and reading goes on if it waited. */
  private answered(): void {
    if (this.closed) return
    while (this.waiting.length > 0 && this.pending.size < maxPendingRequests) {
      const next = this.waiting.shift()
      if (next === undefined) break
      this.waitingSize -= next.size
      this.pending.add(next.request.id)
      this.deliver(next.request)
    }
    if (this.held || this.reading || this.closed) return
    this.readLines()
    if (!this.held) this.input.resume()
  }

  send(message: JSONRPCMessage): Promise<void> {
    this.write(message)
    if (("result" in message || "error" in message) && message.id !== undefined && this.pending.delete(message.id)) {
      this.answered()
    }
    // Done once its line is queued, full stdout or not: the SDK holds the message (a call_api
    // result's parsed body and text copy) until then, where the line is all stdout needs.
    return Promise.resolve()
  }

  private write(message: JSONRPCMessage | Refusal): void {
    if (this.outputFailed) return
    if (this.output.write(`${JSON.stringify(message)}\n`) || this.congested) return
    this.congested = true
    this.input.pause()
    this.output.once("drain", () => {
      this.congested = false
      if (this.closed || this.reading) return
      this.readLines()
      if (!this.held) this.input.resume()
    })
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
    this.waiting.length = 0
    this.waitingSize = 0
    this.onclose?.()
  }
}
