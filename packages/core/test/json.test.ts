/**
 * How deeply a peer's JSON nests is judged without parsing it, strings
 * skipped, and the same with or without the shortcut for documents with
 * few brackets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { maxDepth, nestsDeeperThan, parse } from "../src/internal/json.js"

/** The depth of `text` by the plain scan, the reference the shortcut must agree with. */
const depthOf = (text: string): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === "[" || c === "{") deepest = Math.max(deepest, ++depth)
    else if (c === "]" || c === "}") depth--
  }
  return deepest
}

const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`

describe("nestsDeeperThan", () => {
  it("counts arrays and objects, up to the limit and one past it", () => {
    assert.isFalse(nestsDeeperThan(nested(maxDepth), maxDepth))
    assert.isTrue(nestsDeeperThan(nested(maxDepth + 1), maxDepth))
    assert.isTrue(nestsDeeperThan(`{"a":${nested(maxDepth)}}`, maxDepth))
  })

  it("skips brackets inside strings, escaped quotes included", () => {
    assert.isFalse(nestsDeeperThan(JSON.stringify({ text: nested(500) }), maxDepth))
    assert.isFalse(nestsDeeperThan(JSON.stringify({ text: `\\"${"[".repeat(500)}` }), maxDepth))
  })

  it("finds a deep document among many shallow brackets", () => {
    const shallow = JSON.stringify(Array.from({ length: 500 }, () => ({ a: [1] })))
    assert.isFalse(nestsDeeperThan(shallow, maxDepth))
    assert.isTrue(nestsDeeperThan(`[${shallow},${nested(maxDepth)}]`, maxDepth))
  })

  it("agrees with the plain scan on any JSON-like text", () => {
    const text = fc.stringOf(fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", ","), { maxLength: 300 })
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 80 }), (sample, limit) => {
        assert.strictEqual(nestsDeeperThan(sample, limit), depthOf(sample) > limit)
      }),
      { numRuns: 2000 },
    )
  })
})

describe("parse", () => {
  it("parses what nests within the limit and refuses what does not", () => {
    assert.deepStrictEqual(parse('{"a":[1,{"b":2}]}'), Either.right({ a: [1, { b: 2 }] }))
    assert.deepStrictEqual(parse(nested(maxDepth + 1)), Either.left("nested too deep"))
    assert.deepStrictEqual(parse("{"), Either.left("not JSON"))
  })
})
