/**
 * The settings tables of docs/mcp-tools.md and the README against the code:
 * each provider's row names exactly the settings its definition reads off
 * its `Config`, the shared row names the shared ones, and the defaults
 * written there are the core's constants.
 */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { Provider, Settings } from "@hyperauth/core"
import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"

const documents = {
  "docs/mcp-tools.md": "../../../docs/mcp-tools.md",
  "README.md": "../../../README.md",
}

const read = (path: string) => readFile(fileURLToPath(new URL(path, import.meta.url)), "utf8")

/** The setting names a table row writes in backticks. */
const namesIn = (row: string) => [...row.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1])

const rowOf = (text: string, first: string) => text.split("\n").find((line) => line.startsWith(`| ${first} |`))

/** Settings every provider shares are documented once, in the `all` row. */
const shared = (name: string) => name.startsWith("HYPERAUTH_")

describe.each(Object.entries(documents))("the settings table of %s", (_, path) => {
  it("has a row per provider naming exactly the settings its Config reads", async () => {
    const text = await read(path)
    for (const definition of Provider.definitions) {
      const row = rowOf(text, definition.id)
      expect(row, `a row for ${definition.id}`).toBeDefined()
      const own = definition.settings.map((setting) => setting.name).filter((name) => !shared(name))
      expect(new Set(namesIn(row ?? "")), definition.id).toEqual(new Set(own))
    }
  })

  it("names the shared settings in its all row, with the core's defaults", async () => {
    const all = rowOf(await read(path), "all") ?? ""
    const sharedNames = Provider.definitions.flatMap((d) => d.settings.map((s) => s.name)).filter(shared)
    for (const name of sharedNames) expect(namesIn(all), name).toContain(name)
    expect(all).toMatch(new RegExp(`HYPERAUTH_CALLBACK_PORT\`[^|]*default ${Settings.defaultCallbackPort}\\b`))
    expect(all).toMatch(
      new RegExp(`HYPERAUTH_HTTP_TIMEOUT\`[^|]*default ${Duration.toSeconds(Settings.defaultHttpTimeout)}\\b`),
    )
  })
})
