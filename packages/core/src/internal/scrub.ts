/**
 * Turning a response body into a short excerpt that is safe to put in an
 * error message: token-like values are replaced before the text is cut.
 */
import * as Redacted from "effect/Redacted"

const REDACTED = "[redacted]"
const EXCERPT_LENGTH = 200

const secretNames = "access_token|refresh_token|id_token|device_code|code|client_secret|token|password|api_key|secret"

// "access_token": "..." in JSON, also when the closing quote was cut off; an empty one stays empty
// (shown as [redacted], it would read as a token that came).
const jsonSecret = new RegExp(`("(?:${secretNames})"\\s*:\\s*")([^"]+)`, "gi")
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

/** Hex digits matched in either case: `2f` as `[2][fF]`. */
const eitherCase = (hex: string): string => hex.replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`)

const namedReferences: Readonly<Record<string, string>> = { "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }

/**
 * Every way one character of a secret may be written by an encoder that
 * escapes some characters and not others, in any mix: raw, percent-encoded
 * UTF-8 (either hex case, as Python's `quote()` leaves `/` raw and escapes
 * `!'()*`), an HTML numeric (`&#61;`, `&#x3D;`) or named reference, or a
 * JSON `\u` escape. Letters and digits are matched only as themselves.
 */
const characterPattern = (character: string): string => {
  if (/^[A-Za-z0-9]$/.test(character)) return character
  const code = character.codePointAt(0) ?? 0
  const forms = [
    character.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"),
    [...Buffer.from(character, "utf8")].map((byte) => `%${eitherCase(byte.toString(16).padStart(2, "0"))}`).join(""),
    `&#0*${code};`,
    `&#[xX]0*${eitherCase(code.toString(16))};`,
  ]
  const named = namedReferences[character]
  if (named !== undefined) forms.push(`&${named};`)
  if (code <= 0xffff) forms.push(`\\\\u${eitherCase(code.toString(16).padStart(4, "0"))}`)
  if (character === "/") forms.push("\\\\/")
  return `(?:${forms.join("|")})`
}

/**
 * The most characters of a secret in one pattern: V8 compiles a pattern of
 * some thousands of groups into a stack overflow, a SyntaxError whose
 * message quotes the pattern (the secret, character by character).
 */
const maxPatternCharacters = 256

/**
 * The longest secret looked for in mixed escapes (64 Ki characters, 256
 * patterns, compiled once in some hundreds of milliseconds); a longer one,
 * which no provider issues, only in its exact spellings.
 */
const maxMixedSecretLength = 64 * 1024

/**
 * Patterns for the secret written with any mix of the escapes
 * `characterPattern` knows: one for each of the equal pieces (at most
 * `maxPatternCharacters`, and more than half that when there are several)
 * the secret is cut into, so that every piece of a long secret found is
 * replaced, and with them the whole.
 */
const mixedEscapes = (secret: string): ReadonlyArray<Mixed> => {
  const characters = [...secret]
  if (characters.length > maxMixedSecretLength) return []
  const pieces = Math.ceil(characters.length / maxPatternCharacters)
  return Array.from({ length: pieces }, (_, i) => {
    const piece = characters.slice(
      Math.floor((i * characters.length) / pieces),
      Math.floor(((i + 1) * characters.length) / pieces),
    )
    try {
      return { pattern: new RegExp(piece.map(characterPattern).join(""), "gi"), anchor: anchorOf(piece.join("")) }
    } catch {
      // Never thrown on: the error's message would quote the pattern. The exact spellings still apply.
      return undefined
    }
  }).filter((mixed) => mixed !== undefined)
}

/** The fewest letters and digits in a row that make an anchor worth looking for. */
const minAnchorLength = 4

/**
 * The longest run of letters and digits in `piece`, which every match of
 * its pattern holds as it is (`characterPattern` matches them only as
 * themselves); none when no run is `minAnchorLength` long.
 */
const anchorOf = (piece: string): string | undefined => {
  const longest = (piece.match(/[A-Za-z0-9]+/g) ?? []).reduce((a, b) => (b.length > a.length ? b : a), "")
  return longest.length >= minAnchorLength ? asciiLower(longest) : undefined
}

/** A UTF-16 answer read as UTF-8: the secret's characters with NULs between them, either byte order. */
const utf16Spellings = (secret: string): ReadonlyArray<string> => {
  const littleEndian = Buffer.from(secret, "utf16le")
  return [littleEndian.toString("utf8"), Buffer.from(littleEndian).swap16().toString("utf8")]
}

/**
 * A pattern for a piece of a secret in mixed escapes, and the run of its
 * letters and digits every match holds: a text without that run has no
 * match, and an indexOf tells so in far less time than the pattern (some
 * hundred of them for a 64 KiB token, each slow to compile and to run
 * when it begins with punctuation) would.
 */
interface Mixed {
  readonly pattern: RegExp
  readonly anchor: string | undefined
}

interface Spellings {
  readonly spellings: ReadonlyArray<string>
  readonly mixed: ReadonlyArray<Mixed>
  /** The patterns by the first `minAnchorLength` characters of their anchor (`anchorKey`). */
  readonly anchored: ReadonlyMap<number, ReadonlyArray<Mixed>>
}

const isLetterOrDigit = (unit: number): boolean =>
  (unit >= 0x30 && unit <= 0x39) || (unit >= 0x41 && unit <= 0x5a) || (unit >= 0x61 && unit <= 0x7a)

/** The key of `minAnchorLength` ASCII letters and digits: 7 bits each, the last ones rolled in. */
const rollKey = (key: number, unit: number): number => ((key << 7) | unit) & 0xfffffff

const anchorKey = (anchor: string): number => {
  let key = 0
  for (let i = 0; i < minAnchorLength; i++) key = rollKey(key, anchor.charCodeAt(i))
  return key
}

const byAnchorKey = (mixed: ReadonlyArray<Mixed>): ReadonlyMap<number, ReadonlyArray<Mixed>> => {
  const anchored = new Map<number, Array<Mixed>>()
  for (const piece of mixed) {
    if (piece.anchor === undefined) continue
    const key = anchorKey(piece.anchor)
    anchored.set(key, [...(anchored.get(key) ?? []), piece])
  }
  return anchored
}

/** Up to this many pieces, each anchor is looked for on its own. */
const fewPieces = 16

/**
 * The patterns that may match in `folded` (text in `asciiLower` case): those whose anchor it holds, found
 * in one pass over it (a key rolled over each run of letters and digits,
 * looked up), and those without an anchor. An indexOf per anchor was a pass
 * per piece of the secret, some 250 over each answer for a 64 KiB token.
 */
const patternsFor = (text: string, { mixed, anchored }: Spellings): ReadonlyArray<RegExp> => {
  // A few pieces (a secret of up to some 4 KiB): an indexOf each is faster than the pass.
  if (mixed.length <= fewPieces) {
    return mixed
      .filter((piece) => piece.anchor === undefined || text.includes(piece.anchor))
      .map((piece) => piece.pattern)
  }
  const held = new Set<Mixed>()
  let key = 0
  let run = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (!isLetterOrDigit(unit)) {
      run = 0
      continue
    }
    key = rollKey(key, unit)
    if (++run < minAnchorLength) continue
    const candidates = anchored.get(key)
    if (candidates === undefined) continue
    const start = i - minAnchorLength + 1
    for (const piece of candidates) {
      if (piece.anchor !== undefined && !held.has(piece) && text.startsWith(piece.anchor, start)) held.add(piece)
    }
  }
  return mixed.filter((piece) => piece.anchor === undefined || held.has(piece)).map((piece) => piece.pattern)
}

/** How many secrets' spellings are kept: an API client sends one token per login for many calls. */
const keptSpellings = 8

/**
 * The most characters of spellings kept (some 8 MB), but for those of the
 * secret asked about last, which stay whatever their size: a long secret's
 * are many (a 64 KiB token of quotes and slashes, some 8 M characters with
 * its patterns), and a few of them were hundreds of MB.
 */
const maxKeptCharacters = 8 * 1024 * 1024

// The spellings of the secrets asked about last, the least recently used first.
const known = new Map<string, Spellings>()

/** The characters of the spellings kept, the patterns' included. */
let keptCharacters = 0

/** The characters of the spellings kept (a test's view of the bound). */
export const cachedSpellingCharacters = (): number => keptCharacters

const charactersOf = (made: Spellings): number =>
  made.spellings.reduce((sum, spelling) => sum + spelling.length, 0) +
  made.mixed.reduce((sum, { pattern, anchor }) => sum + pattern.source.length + (anchor?.length ?? 0), 0)
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
  const mixed = mixedEscapes(secret)
  const made = { spellings: spellings(secret), mixed, anchored: byAnchorKey(mixed) }
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
 * in any ASCII case: the spellings are looked for in a folded copy, the
 * patterns ignore case.
 */
const replaceSpellings = (text: string, secret: string): string => {
  const made = spellingsOf(secret)
  let scrubbed = text
  let folded = asciiLower(text)
  for (const spelling of made.spellings) {
    if (folded.includes(spelling)) [scrubbed, folded] = replaceFolded(scrubbed, folded, spelling)
  }
  // After the exact spellings: an echo as it is leaves no anchor behind, and no pattern runs.
  for (const pattern of patternsFor(folded, made)) scrubbed = scrubbed.replace(pattern, REDACTED)
  return scrubbed
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
  const walk = (member: unknown): unknown => {
    if (typeof member === "string") return withoutKnownSecrets(member, known)
    if (Array.isArray(member)) return member.map(walk)
    if (typeof member !== "object" || member === null) return member
    // Object.fromEntries defines each member, `__proto__` too, as its own.
    return Object.fromEntries(Object.entries(member).map(([name, v]) => [withoutKnownSecrets(name, known), walk(v)]))
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
  const spaced = oneLine(
    text.replace(jsonSecret, `$1${REDACTED}`).replace(formSecret, `$1${REDACTED}`).replace(opaque, REDACTED),
  )
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
