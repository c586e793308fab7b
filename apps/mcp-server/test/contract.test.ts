/**
 * docs/mcp-tools.md is the contract of the server this repository builds:
 * every tool the server lists, and every input and output field of each,
 * is named there, and its error codes are exactly those tool errors can carry.
 */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { toolErrorCodes } from "../src/errors.js"
import { connect } from "./support/harness.js"

const contract = () => readFile(fileURLToPath(new URL("../../../docs/mcp-tools.md", import.meta.url)), "utf8")

describe("docs/mcp-tools.md", () => {
  it("names every tool the server lists, with every input field", async () => {
    const text = await contract()
    const session = await connect({ HYPERAUTH_STORE: "memory" })
    try {
      const { tools } = await session.client.listTools()
      expect(tools.length).toBeGreaterThan(0)
      for (const tool of tools) {
        const row = text.split("\n").find((line) => line.startsWith(`| \`${tool.name}\` |`))
        expect(row, `a row for ${tool.name}`).toBeDefined()
        for (const field of Object.keys(tool.inputSchema.properties ?? {})) {
          expect(row, `${tool.name}.${field}`).toMatch(new RegExp(`\\b${field}\\b`))
        }
      }
    } finally {
      await session.close()
    }
  })

  it("names every output field of every tool, in its row or in the token info", async () => {
    const text = await contract()
    const tokenInfo = text.split("\n").find((line) => line.startsWith("Token info is ")) ?? ""
    expect(tokenInfo).not.toBe("")
    /** The fields of an object schema, and of the objects its arrays and objects hold, by path. */
    const fieldsOf = (schema: unknown, path: string): ReadonlyArray<readonly [string, string]> => {
      const node = schema as { properties?: Record<string, unknown>; items?: unknown }
      return [
        ...Object.entries(node.properties ?? {}).flatMap(([name, child]) => [
          [`${path}.${name}`, name] as const,
          ...fieldsOf(child, `${path}.${name}`),
        ]),
        ...(node.items === undefined ? [] : fieldsOf(node.items, `${path}[]`)),
      ]
    }
    const session = await connect({ HYPERAUTH_STORE: "memory" })
    try {
      const { tools } = await session.client.listTools()
      for (const tool of tools) {
        const row = text.split("\n").find((line) => line.startsWith(`| \`${tool.name}\` |`)) ?? ""
        expect(tool.outputSchema, tool.name).toBeDefined()
        for (const [path, field] of fieldsOf(tool.outputSchema, tool.name)) {
          const named = new RegExp(`\\b${field}\\b`)
          expect(named.test(row) || named.test(tokenInfo), path).toBe(true)
        }
      }
    } finally {
      await session.close()
    }
  })

  it("lists exactly the error codes a tool error can carry", async () => {
    const text = await contract()
    const section = /Codes: ([\s\S]*?)\.\n/.exec(text)?.[1] ?? ""
    const listed = [...section.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])
    expect([...listed].sort()).toEqual([...toolErrorCodes].sort())
  })
})
