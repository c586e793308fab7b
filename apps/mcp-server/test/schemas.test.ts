/**
 * What an MCP client sees of every tool — name, title, description,
 * annotations, input and output JSON Schemas — is pinned in
 * `fixtures/tools.json`: changing how the schemas are written must not
 * change what they accept or say (see `support/jsonSchema.ts` for what
 * counts as the same). A deliberate contract change updates the fixture
 * and docs/mcp-tools.md together.
 */
import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { connect } from "./support/harness.js"
import { normalJsonSchema } from "./support/jsonSchema.js"

const pinned = async (): Promise<unknown> =>
  JSON.parse(await readFile(new URL("./fixtures/tools.json", import.meta.url), "utf8"))

describe("tools/list", () => {
  it("lists the tools with the pinned schemas, titles, descriptions and annotations", async () => {
    const session = await connect({ HYPERAUTH_STORE: "memory" })
    try {
      const { tools } = await session.client.listTools()
      expect(normalJsonSchema(tools)).toEqual(await pinned())
    } finally {
      await session.close()
    }
  })
})
