/**
 * A public signature names public types only: a user must be able to write
 * down every type a public module's declarations mention. So each name a
 * public declaration file (`dist/*.d.ts`, outside `dist/internal/`) imports
 * from `./internal/` must be one that file re-exports, and no internal
 * module comes in whole as a namespace, whose members users cannot reach.
 *
 * Reads the built declarations: `pnpm test` builds before it runs vitest.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { assert, describe, it } from "vitest"

const dist = fileURLToPath(new URL("../dist", import.meta.url))

const isInternal = (specifier: ts.Expression): specifier is ts.StringLiteral =>
  ts.isStringLiteral(specifier) && specifier.text.startsWith("./internal/")

/** What a declaration file takes from internal modules without handing it on to its users. */
const unreachableOf = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, readFileSync(join(dist, file), "utf8"), ts.ScriptTarget.Latest)
  const imported = new Map<string, string>()
  const exported = new Set<string>()
  const problems: Array<string> = []
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && isInternal(statement.moduleSpecifier)) {
      const bindings = statement.importClause?.namedBindings
      if (bindings !== undefined && ts.isNamespaceImport(bindings))
        problems.push(`${bindings.name.text} (all of ${statement.moduleSpecifier.text})`)
      else if (bindings !== undefined)
        for (const element of bindings.elements) imported.set(element.name.text, statement.moduleSpecifier.text)
    }
    if (ts.isExportDeclaration(statement) && statement.exportClause !== undefined) {
      if (ts.isNamedExports(statement.exportClause))
        for (const element of statement.exportClause.elements) exported.add(element.name.text)
    }
  }
  for (const [name, from] of imported) if (!exported.has(name)) problems.push(`${name} (from ${from})`)
  return problems
}

describe("public declarations", () => {
  it("name no internal type a user cannot import", () => {
    const files = readdirSync(dist).filter((name) => name.endsWith(".d.ts"))
    assert.isAbove(files.length, 10, "the core is built")
    const problems = files.flatMap((file) => unreachableOf(file).map((what) => `${file}: ${what}`))
    assert.deepStrictEqual(problems, [])
  })
})
