/**
 * Turning a response body into a short excerpt that is safe to put in an
 * error message: token-like values are replaced before the text is cut.
 */
import * as Redacted from "effect/Redacted"

const REDACTED = "[redacted]"
const EXCERPT_LENGTH = 200

const secretNames = "access_token|refresh_token|id_token|device_code|code|client_secret|token|password|api_key|secret"

/** A JSON member's name and what follows it up to its value. */
const jsonMember = /"((?:[^"\\]|\\.){1,64})"\s*:\s*/g
// Names that say a member holds a credential: the ones above, and any naming a token, a secret,
// a password or a key, but for what only describes one (`token_type`, `refresh_token_expires_in`).
const credentialName = new RegExp(
  `^(?:${secretNames})$|token|secret|passw(?:or)?d|api[-_]?key|credential|assertion`,
  "i",
)
const describesCredential = /_type$|expires/i

/** A member's name as JSON means it (`acc\u0065ss_token` is `access_token`); as written when it is no JSON string. */
const memberName = (written: string): string => {
  if (!written.includes("\\")) return written
  try {
    const name: unknown = JSON.parse(`"${written}"`)
    return typeof name === "string" ? name : written
  } catch {
    return written
  }
}

/** Where the JSON value that starts at `from` ends (the text's end when it is cut off). */
const jsonValueEnd = (text: string, from: number): number => {
  let depth = 0
  for (let i = from; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      // A string: to its closing quote, past escaped ones.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++
      if (depth === 0) return Math.min(i + 1, text.length)
    } else if (c === "[" || c === "{") depth++
    else if (c === "]" || c === "}") {
      if (depth === 0) return i
      if (--depth === 0) return i + 1
    } else if (depth === 0 && (c === "," || c === " " || c === "\n" || c === "\r" || c === "\t")) return i
  }
  return text.length
}

/**
 * JSON text with the value of every member named like a credential
 * withheld, whatever it is: a server may send a token as a number, in an
 * array or an object. A string keeps its quotes, an empty one stays empty
 * (shown as [redacted], it would read as a token that came), and `true`,
 * `false` and `null` stay: none is a secret; so does a `code` that is no
 * string.
 */
const withoutCredentialMembers = (text: string): string => {
  let shown = ""
  let from = 0
  for (let member = jsonMember.exec(text); member !== null; member = jsonMember.exec(text)) {
    const name = memberName(member[1] ?? "")
    if (!credentialName.test(name) || describesCredential.test(name)) continue
    const start = member.index + member[0].length
    const end = jsonValueEnd(text, start)
    const value = text.slice(start, end)
    jsonMember.lastIndex = Math.max(end, start + 1)
    if (value === '""' || value === "" || value === "true" || value === "false" || value === "null") continue
    // An error body's `"code": 400` is a status; an authorization code is a string.
    if (!value.startsWith('"') && name.toLowerCase() === "code") continue
    const quoted = value.startsWith('"')
    const closed = quoted && value.length > 1 && value.endsWith('"')
    shown += `${text.slice(from, start)}${quoted ? `"${REDACTED}${closed ? '"' : ""}` : REDACTED}`
    from = end
  }
  jsonMember.lastIndex = 0
  return from === 0 ? text : shown + text.slice(from)
}
// access_token=... in form bodies and query strings.
const formSecret = new RegExp(`(\\b(?:${secretNames})=)([^&\\s"]+)`, "gi")
// JWTs and Bearer credentials wherever they appear.
// Matched from the start of a run of [\w-] that a dot follows, up to its first `eyJ`, which is kept
// (`$1`): starting at every `eyJ` instead ran each to the run's end and back, quadratic in the run.
const jwt = /(?<![\w-])(?=[\w-]*\.)([\w-]*?)eyJ[\w-]+\.[\w-]*\.?[\w-]*/g
const bearer = /(\bBearer\s+)[\w.~+/=-]+/gi
// RFC 7617 credentials: base64 of `user-id:password`, so "Basic authentication" stays prose.
const basic = /(\bBasic\s+)([A-Za-z0-9+/_-]+={0,2})/gi
const basicCredentials = (match: string, scheme: string, token: string): string =>
  Buffer.from(token, "base64").toString("latin1").includes(":") ? `${scheme}${REDACTED}` : match
// Any other long run of letters mixed with digits looks like a credential:
// a server may echo one in free text, and an excerpt loses little without it.
const opaque = /(?=[\w.~+/=-]*\d)(?=[\w.~+/=-]*[A-Za-z])[\w.~+/=-]{16,}/g

/**
 * Below this length a secret cannot be told apart from ordinary text:
 * replacing each occurrence would show the reader where it matched (a
 * one-letter secret would blank every such letter), so any text that a
 * request with so short a secret brought back is withheld whole instead.
 */
export const minScrubbableLength = 8

/**
 * `text` with ASCII capitals in lower case, and nothing else: a copy of the
 * same length, so that where a spelling is found in it is where it is in
 * `text`. An API that echoes a token upper-cased still hands it on (a hex
 * token is the same token so), and a secret in other case is still one.
 */
const asciiLower = (text: string): string => {
  if (!/[A-Z]/.test(text)) return text
  // ASCII text: the native lower-casing is the same, and far quicker than a callback per run of capitals.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: every character past ASCII is the point
  if (!/[^\u0000-\u007f]/.test(text)) return text.toLowerCase()
  return text.replace(/[A-Z]+/g, (capitals) => capitals.toLowerCase())
}

/** Both spellings of percent-encoding's hex digits (RFC 3986 §2.1 allows either). */
const hexCases = (encoded: string): ReadonlyArray<string> => [
  encoded,
  encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
]

/** JSON with every non-ASCII character escaped, as Python's `json.dumps` writes it, in either hex case. */
const asciiJsonCases = (json: string): ReadonlyArray<string> =>
  [false, true].map((upper) =>
    json.replace(/[^\x20-\x7e]/g, (unit) => {
      const hex = unit.charCodeAt(0).toString(16).padStart(4, "0")
      return `\\u${upper ? hex.toUpperCase() : hex}`
    }),
  )

/** HTML's escapes of `& < > " '`, as an error page quoting its input writes them (either apostrophe). */
const htmlEscapes = (value: string): ReadonlyArray<string> =>
  ["&#39;", "&#x27;"].map((apostrophe) =>
    value.replace(/[&<>"']/g, (c) =>
      c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : apostrophe,
    ),
  )

/**
 * The parts of `base64(prefix + secret)` that depend on the secret alone,
 * for each of the three byte offsets at which it can start inside a longer
 * value such as Basic credentials (`base64(client_id:secret)`).
 */
const base64Fragments = (secret: Buffer): ReadonlyArray<string> =>
  [0, 1, 2].flatMap((offset) => {
    const length = offset + secret.length
    const encoded = Buffer.concat([Buffer.alloc(offset), secret])
      .toString("base64")
      .replace(/=+$/, "")
    // Skip the characters that mix in the prefix; drop a last one that mixes in padding bits.
    const fragment = encoded.slice([0, 2, 3][offset], length % 3 === 0 ? undefined : -1)
    return [fragment, fragment.replace(/\+/g, "-").replace(/\//g, "_")]
  })

const formEncoded = (value: string): string => new URLSearchParams({ s: value }).toString().slice(2)

/**
 * Every form `secret` can take on the wire or in a server's echo of it:
 * raw, percent- and form-encoded (once or twice), JSON-escaped (also
 * ASCII-only), HTML-escaped, and base64 or base64url of the raw and
 * encoded forms; each in ASCII lower case, as they are looked for in text
 * folded so (`asciiLower`).
 */
const spellings = (secret: string): ReadonlyArray<string> => {
  const form = formEncoded(secret)
  const json = JSON.stringify(secret).slice(1, -1)
  const all = [
    secret,
    ...hexCases(encodeURIComponent(secret)),
    ...hexCases(form),
    // Twice: a value carried inside another URL's query (a redirect target, say).
    ...hexCases(encodeURIComponent(encodeURIComponent(secret))),
    ...hexCases(formEncoded(form)),
    json,
    json.replace(/\//g, "\\/"),
    ...asciiJsonCases(json),
    ...htmlEscapes(secret),
    ...utf16Spellings(secret),
    // Base64 of the secret, and of its encoded forms: RFC 6749 §2.3.1 Basic credentials
    // form-encode the secret before they base64 it.
    ...[secret, ...hexCases(encodeURIComponent(secret)), ...hexCases(form)].flatMap((spelling) =>
      base64Fragments(Buffer.from(spelling, "utf8")),
    ),
  ]
  // Longest first, so that a spelling containing another is replaced whole.
  return [...new Set(all.map(asciiLower))].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

/** A UTF-16 answer read as UTF-8: the secret's characters with NULs between them, either byte order. */
const utf16Spellings = (secret: string): ReadonlyArray<string> => {
  const littleEndian = Buffer.from(secret, "utf16le")
  return [littleEndian.toString("utf8"), Buffer.from(littleEndian).swap16().toString("utf8")]
}

/**
 * A text with every escape undone that an encoder may write for any
 * character, letters and digits too, and in any mix with raw ones:
 * percent-encoded UTF-8 (either hex case), a JSON escape (`\u0061`, `\/`),
 * an HTML numeric (`&#97;`, `&#x61;`) or named (`&amp;`) reference. Each
 * character of `text` comes from `text.slice(from[i], to[i])`, so that a
 * secret found in it is replaced where it was written.
 */
interface Decoded {
  readonly text: string
  readonly from: Int32Array
  readonly to: Int32Array
}

/** What starts an escape `decoded` undoes: a text without any has nothing to undo. */
const escapeStarts = /[%\\&]/g

const jsonEscapes: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
}
const namedReferences: ReadonlyArray<readonly [string, string]> = [
  ["amp;", "&"],
  ["lt;", "<"],
  ["gt;", ">"],
  ["quot;", '"'],
  ["apos;", "'"],
]

/** The value of the hex digit at `at`, or -1. (Read by character code: this runs at every escape of a large answer.) */
const hexDigit = (text: string, at: number): number => {
  const unit = text.charCodeAt(at)
  if (unit >= 0x30 && unit <= 0x39) return unit - 0x30
  const lower = unit | 0x20
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1
}

/** The byte of `%XX` at `at`, or -1. */
const percentByte = (text: string, at: number): number => {
  if (text.charCodeAt(at) !== 0x25) return -1
  const high = hexDigit(text, at + 1)
  const low = high === -1 ? -1 : hexDigit(text, at + 2)
  return low === -1 ? -1 : (high << 4) | low
}

/** The smallest code point of each UTF-8 length: a longer spelling of a smaller one is not UTF-8. */
const utf8Floor = [0, 0, 0x80, 0x800, 0x10000]

/** The character of percent-encoded UTF-8 at `at`, and where it ends; none when it is not one. */
const percentCharacter = (text: string, at: number): readonly [string, number] | undefined => {
  const lead = percentByte(text, at)
  if (lead < 0x80) return lead === -1 ? undefined : [String.fromCharCode(lead), at + 3]
  const length = lead >> 5 === 6 ? 2 : lead >> 4 === 14 ? 3 : lead >> 3 === 30 ? 4 : 0
  if (length === 0) return undefined
  let code = lead & (0x7f >> length)
  for (let i = 1; i < length; i++) {
    const byte = percentByte(text, at + 3 * i)
    if (byte === -1 || byte >> 6 !== 2) return undefined
    code = (code << 6) | (byte & 0x3f)
  }
  const valid = code >= (utf8Floor[length] ?? 0) && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
  return valid ? [String.fromCodePoint(code), at + 3 * length] : undefined
}

/** The code point of the digits from `at` up to a `;` (at most `most` of them), and where the `;` ends; none without one. */
const referenceCode = (text: string, at: number, hex: boolean, most: number): readonly [number, number] | undefined => {
  let code = 0
  for (let i = at; i <= at + most; i++) {
    if (text.charCodeAt(i) === 0x3b) return i === at || code > 0x10ffff ? undefined : [code, i + 1]
    const digit = hex ? hexDigit(text, i) : text.charCodeAt(i) - 0x30
    if (digit < 0 || digit > (hex ? 15 : 9)) return undefined
    code = code * (hex ? 16 : 10) + digit
  }
  return undefined
}

/** The character an escape at `at` stands for, and where the escape ends; none when none starts there. */
const escapedCharacter = (text: string, at: number): readonly [string, number] | undefined => {
  const start = text.charCodeAt(at)
  if (start === 0x25) return percentCharacter(text, at)
  if (start === 0x5c) {
    const next = text.charAt(at + 1)
    if (next !== "u") {
      const escaped = jsonEscapes[next]
      return escaped === undefined ? undefined : [escaped, at + 2]
    }
    const digits = [2, 3, 4, 5].map((i) => hexDigit(text, at + i))
    if (digits.includes(-1)) return undefined
    return [String.fromCharCode(digits.reduce((code, digit) => (code << 4) | digit, 0)), at + 6]
  }
  if (start !== 0x26) return undefined
  if (text.charCodeAt(at + 1) === 0x23) {
    const hex = (text.charCodeAt(at + 2) | 0x20) === 0x78
    const found = referenceCode(text, at + (hex ? 3 : 2), hex, hex ? 6 : 7)
    return found === undefined ? undefined : [String.fromCodePoint(found[0]), found[1]]
  }
  for (const [name, character] of namedReferences) {
    if (text.startsWith(name, at + 1) || text.startsWith(name.toUpperCase(), at + 1))
      return [character, at + 1 + name.length]
  }
  return undefined
}

/**
 * `text` with its escapes undone, and with `maps` where each character came
 * from (`Decoded`); none when it has none to undo. Only where an escape may
 * start is one tried: the runs between are copied whole.
 */
const decoded = (text: string, maps: boolean): Decoded | undefined => {
  const parts: Array<string> = []
  const from = new Int32Array(maps ? text.length : 0)
  const to = new Int32Array(maps ? text.length : 0)
  let length = 0
  const copy = (start: number, end: number) => {
    if (end <= start) return
    parts.push(text.slice(start, end))
    if (!maps) return
    for (let at = start; at < end; at++, length++) {
      from[length] = at
      to[length] = at + 1
    }
  }
  let copied = 0
  escapeStarts.lastIndex = 0
  for (let found = escapeStarts.exec(text); found !== null; found = escapeStarts.exec(text)) {
    const undoes = escapedCharacter(text, found.index)
    if (undoes === undefined) continue
    const [character, end] = undoes
    copy(copied, found.index)
    parts.push(character)
    // A character past U+FFFF is two code units, both from the one escape.
    for (let unit = 0; maps && unit < character.length; unit++, length++) {
      from[length] = found.index
      to[length] = end
    }
    copied = end
    escapeStarts.lastIndex = end
  }
  if (copied === 0 && parts.length === 0) return undefined
  copy(copied, text.length)
  return { text: parts.join(""), from, to }
}

/**
 * `text` with each place its decoded copy holds `folded` (a secret in
 * `asciiLower` case) replaced where it was written, escapes and all.
 */
const replaceDecoded = (text: string, folded: string): string => {
  // Where each character came from is worked out only for a text that holds the secret.
  const plain = decoded(text, false)
  if (plain === undefined || !asciiLower(plain.text).includes(folded)) return text
  const view = decoded(text, true) ?? plain
  const lowered = asciiLower(view.text)
  const kept: Array<string> = []
  let written = 0
  for (let at = lowered.indexOf(folded); at !== -1; at = lowered.indexOf(folded, at + folded.length)) {
    const start = view.from[at] ?? 0
    const end = view.to[at + folded.length - 1] ?? start
    // A match that starts inside the escape the previous one ended in is part of it.
    if (start < written) continue
    kept.push(text.slice(written, start), REDACTED)
    written = end
  }
  if (kept.length === 0) return text
  kept.push(text.slice(written))
  return kept.join("")
}

interface Spellings {
  readonly spellings: ReadonlyArray<string>
  /** The secret in `asciiLower` case, as it is looked for in a decoded text. */
  readonly folded: string
}

/** How many secrets' spellings are kept: an API client sends one token per login for many calls. */
const keptSpellings = 8

/**
 * The most characters of spellings kept (some 8 MB), but for those of the
 * secret asked about last, which stay whatever their size: a long secret's
 * are many (a 64 KiB token of quotes and slashes has some megabytes), and
 * a few of them were hundreds of MB.
 */
const maxKeptCharacters = 8 * 1024 * 1024

// The spellings of the secrets asked about last, the least recently used first.
const known = new Map<string, Spellings>()

/** The characters of the spellings kept. */
let keptCharacters = 0

/** The characters of the spellings kept (a test's view of the bound). */
export const cachedSpellingCharacters = (): number => keptCharacters

const charactersOf = (made: Spellings): number =>
  made.spellings.reduce((sum, spelling) => sum + spelling.length, made.folded.length)

/** Drops the spellings of the secret asked about least recently. */
const forgetOldest = (): void => {
  const [oldest] = known
  if (oldest === undefined) return
  known.delete(oldest[0])
  keptCharacters -= charactersOf(oldest[1])
}

const spellingsOf = (secret: string): Spellings => {
  const found = known.get(secret)
  if (found !== undefined) {
    known.delete(secret)
    known.set(secret, found)
    return found
  }
  const made = { spellings: spellings(secret), folded: asciiLower(secret) }
  known.set(secret, made)
  keptCharacters += charactersOf(made)
  while (known.size > keptSpellings || (keptCharacters > maxKeptCharacters && known.size > 1)) forgetOldest()
  return made
}

/**
 * How much of the end of `text` begins `spelling` (less than all of it),
 * in time linear in their lengths (the Knuth–Morris–Pratt failure function:
 * trying each length in turn took quadratic time on a long secret).
 */
export const overlap = (text: string, spelling: string): number => {
  const failure = new Int32Array(spelling.length)
  for (let i = 1, k = 0; i < spelling.length; i++) {
    while (k > 0 && spelling.charCodeAt(i) !== spelling.charCodeAt(k)) k = failure[k - 1] ?? 0
    if (spelling.charCodeAt(i) === spelling.charCodeAt(k)) k++
    failure[i] = k
  }
  let matched = 0
  for (let i = Math.max(0, text.length - spelling.length + 1); i < text.length; i++) {
    while (matched > 0 && text.charCodeAt(i) !== spelling.charCodeAt(matched)) matched = failure[matched - 1] ?? 0
    if (text.charCodeAt(i) === spelling.charCodeAt(matched)) matched++
  }
  return matched
}

/**
 * `text` and `folded` (its `asciiLower` copy) with each place `folded`
 * holds `spelling` replaced, in both: `REDACTED` is lower case already, so
 * the one stays the other's copy.
 */
const replaceFolded = (text: string, folded: string, spelling: string): readonly [string, string] => {
  const kept: Array<string> = []
  const keptFolded: Array<string> = []
  let from = 0
  for (let at = folded.indexOf(spelling); at !== -1; at = folded.indexOf(spelling, from)) {
    kept.push(text.slice(from, at))
    keptFolded.push(folded.slice(from, at))
    from = at + spelling.length
  }
  kept.push(text.slice(from))
  keptFolded.push(folded.slice(from))
  return [kept.join(REDACTED), keptFolded.join(REDACTED)]
}

/**
 * `text` with the secret's spellings, then any mix of its escapes, replaced,
 * in any ASCII case: the spellings are looked for in a folded copy, and
 * the secret in a folded copy of the text with its escapes undone.
 */
const replaceSpellings = (text: string, secret: string): string => {
  const made = spellingsOf(secret)
  let scrubbed = text
  let folded = asciiLower(text)
  for (const spelling of made.spellings) {
    if (folded.includes(spelling)) [scrubbed, folded] = replaceFolded(scrubbed, folded, spelling)
  }
  // After the exact spellings, which find the encodings that are not a character's escape
  // (base64, UTF-16, twice-encoded): what is left of the secret is written in escapes.
  return replaceDecoded(scrubbed, made.folded)
}

/**
 * `text` with every `known` secret, in any of its spellings, replaced, and
 * nothing else: for data an API answered with, which may echo the token it
 * was sent. A `cut` text (one that stops at a size limit) loses a tail that
 * begins a spelling too. With a known secret too short to find safely, the
 * whole text is withheld.
 */
export const withoutKnownSecrets = (
  text: string,
  known: ReadonlyArray<Redacted.Redacted<string>>,
  cut = false,
): string => {
  const values = known.map(Redacted.value).filter((value) => value.length > 0)
  if (values.some((value) => value.length < minScrubbableLength)) return values.length > 0 ? REDACTED : text
  let scrubbed = text
  for (const value of values) {
    scrubbed = replaceSpellings(scrubbed, value)
    if (cut) scrubbed = withoutCutSpelling(scrubbed, value)
  }
  return scrubbed
}

/**
 * A parsed JSON value with every `known` secret replaced in its strings
 * and member names, as `withoutKnownSecrets` replaces it in text: for an
 * answer already read, whose escapes (`\u0061` for `a`) parsing undid, so
 * that a secret spelled with them in the text is whole in the value. The
 * value nests at most as deep as `Json.parse` allows.
 */
export const withoutKnownSecretsIn = (value: unknown, known: ReadonlyArray<Redacted.Redacted<string>>): unknown => {
  if (known.length === 0) return value
  // A secret too short to find safely is replaced only where a string is that secret whole:
  // withholding every string with it, as a text is withheld, would leave no value at all.
  const values = known.map(Redacted.value).filter((secret) => secret.length > 0)
  const short = new Set(values.filter((secret) => secret.length < minScrubbableLength).map(asciiLower))
  const long = known.filter((secret) => Redacted.value(secret).length >= minScrubbableLength)
  const scrub = (text: string): string => (short.has(asciiLower(text)) ? REDACTED : withoutKnownSecrets(text, long))
  const walk = (member: unknown): unknown => {
    if (typeof member === "string") return scrub(member)
    if (Array.isArray(member)) return member.map(walk)
    if (typeof member !== "object" || member === null) return member
    // Object.fromEntries defines each member, `__proto__` too, as its own.
    return Object.fromEntries(Object.entries(member).map(([name, v]) => [scrub(name), walk(v)]))
  }
  return walk(value)
}

/** `scrubbed` without a tail that begins a spelling of `secret`: what a cut left of it, which no spelling matches. */
const withoutCutSpelling = (scrubbed: string, secret: string): string => {
  let text = scrubbed
  for (const spelling of spellingsOf(secret).spellings) {
    // The tail alone is folded: at most the spelling's length of it can begin the spelling.
    const length = overlap(asciiLower(text.slice(-spelling.length)), spelling)
    if (length >= minScrubbableLength) text = `${text.slice(0, -length)}${REDACTED}`
  }
  return text
}

/**
 * `text` with every `known` secret (in any of its spellings), JWT, Bearer
 * and Basic credential replaced: for fields a server wrote in prose, such
 * as an OAuth `error_description`. With a known secret too short to find
 * safely, the whole text is withheld.
 */
export const withoutSecrets = (text: string, known: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  const values = known.map(Redacted.value).filter((value) => value.length > 0)
  if (values.some((value) => value.length < minScrubbableLength)) return REDACTED
  let scrubbed = text
  for (const value of values) scrubbed = replaceSpellings(scrubbed, value)
  return scrubbed.replace(jwt, `$1${REDACTED}`).replace(bearer, `$1${REDACTED}`).replace(basic, basicCredentials)
}

/** The most characters of a server's prose (an OAuth `error_description`) put in an error. */
export const maxProseLength = 500

/**
 * Controls (C0, DEL, C1), line and paragraph separators, and the marks that
 * reorder text on screen: none belongs in one line of a message, where they
 * would forge log lines or rewrite a terminal.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g

/**
 * What a server wrote in prose (an OAuth `error_description`, `error_uri`,
 * an unregistered `error`), as it may go into an error: `withoutSecrets`,
 * then on one line of printable text (controls become spaces, runs of
 * spaces one) and at most `maxProseLength` characters. RFC 6749 §5.2 allows
 * printable ASCII only; a server that sends more cannot make a message long
 * or many lines.
 */
export const asProse = (text: string, known: ReadonlyArray<Redacted.Redacted<string>> = []): string =>
  shortened(withoutSecrets(oneLine(withoutSecrets(text, known)), spacedAlike(known)))

/** `text` on one line: controls and separators as spaces, every run of spaces one. */
export const oneLine = (text: string): string => text.replace(unprintable, " ").replace(/\s+/g, " ").trim()

/**
 * The secrets, and each as `oneLine` writes it where that differs: text is
 * scrubbed again once single-spaced, as a secret with spaces that came back
 * with line breaks or tabs between its words is whole only then.
 */
const spacedAlike = (known: ReadonlyArray<Redacted.Redacted<string>>): ReadonlyArray<Redacted.Redacted<string>> =>
  known.flatMap((secret) => {
    const spaced = oneLine(Redacted.value(secret))
    return spaced === Redacted.value(secret) || spaced === "" ? [secret] : [secret, Redacted.make(spaced)]
  })

/** `text` cut at `maxProseLength` characters, an ellipsis saying so. */
export const shortened = (text: string): string =>
  text.length > maxProseLength ? `${text.slice(0, maxProseLength)}…` : text

/**
 * The first characters of `body`, single-spaced, with token-like values and
 * every `known` secret replaced.
 */
export const excerpt = (body: string, known: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  // Only the start can reach the excerpt, so only a window of the body is
  // scrubbed (not all of it, up to 256 KiB), and the window must still be far
  // longer than the excerpt once scrubbed and single-spaced: indentation
  // shrinks to one space and a long secret to [redacted], and a window that
  // ends within the excerpt would show what is left of a secret it cut in
  // two, which no spelling matches. It grows until it is, and a tail that
  // begins a known secret's spelling is dropped as well.
  for (let size = excerptWindow; ; size *= 4) {
    const cut = body.length > size
    const text = scrubbedWindow(body.slice(0, size), known, cut)
    if (!cut || text.length >= excerptWindow / 2) {
      return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}…` : text
    }
  }
}

/** The first window scrubbed for an excerpt: far longer than the excerpt. */
const excerptWindow = EXCERPT_LENGTH * 20

/** `window`, the start of a body (`cut` when more follows), scrubbed and single-spaced. */
const scrubbedWindow = (window: string, known: ReadonlyArray<Redacted.Redacted<string>>, cut: boolean): string => {
  let text = withoutSecrets(window, known)
  if (cut && text !== REDACTED) {
    for (const secret of known) {
      const value = Redacted.value(secret)
      if (value.length > 0) text = withoutCutSpelling(text, value)
    }
  }
  const spaced = oneLine(withoutCredentialMembers(text).replace(formSecret, `$1${REDACTED}`).replace(opaque, REDACTED))
  return spaced === text || known.length === 0 ? spaced : withoutSecrets(spaced, spacedAlike(known))
}

/** Origin and path of a URL: never its query, fragment or user info. */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return "(invalid URL)"
  }
}
