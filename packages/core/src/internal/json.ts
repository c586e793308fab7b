/**
 * Parsing JSON from a peer without trusting its shape: a document nested
 * deeper than any real answer is refused before it is parsed, because
 * everything that walks a parsed value recursively (`JSON.stringify`, schema
 * validators, loggers) would overflow the stack on it.
 */
import * as Either from "effect/Either"

/** Deeper than any provider answer, far shallower than what overflows a stack. */
export const maxDepth = 64

/**
 * Whether `text` opens at most `limit` arrays and objects in all, strings
 * not skipped: then it cannot nest deeper. Counted with the native
 * `indexOf`, which on a typical API answer (a few dozen brackets in a few
 * KiB) costs a fraction of the character-by-character scan.
 */
const fewBrackets = (text: string, limit: number): boolean => {
  let count = 0
  for (const bracket of ["[", "{"]) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      if (++count > limit) return false
    }
  }
  return true
}

/** Whether arrays and objects in `text` nest deeper than `limit`; strings are skipped. */
export const nestsDeeperThan = (text: string, limit: number): boolean => {
  if (fewBrackets(text, limit)) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

/** Why text is not a JSON value hyperauth will handle. */
export type Refusal = "not JSON" | "nested too deep"

/**
 * `text` without a byte order mark that begins it: RFC 8259 §8.1 lets a
 * parser ignore one (some frameworks write it), and `JSON.parse` does not.
 * Bodies are decoded with `Buffer#toString`, which keeps it.
 */
const withoutByteOrderMark = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)

/** `text` parsed, unless it is not JSON or nests deeper than `maxDepth`; a leading byte order mark is ignored. */
export const parse = (text: string): Either.Either<unknown, Refusal> => {
  if (nestsDeeperThan(text, maxDepth)) return Either.left("nested too deep")
  try {
    return Either.right(JSON.parse(withoutByteOrderMark(text)))
  } catch {
    return Either.left("not JSON")
  }
}
