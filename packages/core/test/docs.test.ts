/**
 * Every public export is documented: a doc comment that says what it is,
 * with `@since`, `@category` and an `@example`, types (interfaces, type
 * aliases) as well as values (functions, constants, classes, tags, layers,
 * schemas): a user reads how a type is built or used; every module has a doc
 * comment with `@since`. Every example, of an export or of a module,
 * type-checks against the sources as a user would write it
 * (`import { … } from "@hyperauth/core"`), and so do the `ts` blocks of the
 * README and of each package's README, which names each of its modules.
 *
 * What is public is read off the packages themselves, so there is no list to
 * keep: every entry point in the `exports` of `@hyperauth/core`'s and
 * `@hyperauth/emulator`'s `package.json`, and every module an entry point
 * re-exports as a namespace (`export * as Token from "./Token.js"`). The
 * failure lists what is missing.
 */
import { readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { assert, describe, it } from "vitest"

const coreRoot = fileURLToPath(new URL("..", import.meta.url))
const repoRoot = join(coreRoot, "..", "..")

/** The packages whose public API is documented (the MCP server is a `bin` and exports nothing). */
const packages: ReadonlyArray<string> = ["packages/core", "packages/emulator"]

interface EntryPoint {
  /** As a user imports it, e.g. `@hyperauth/core/promise`. */
  readonly name: string
  readonly file: string
}

/** The entry points of a package's `package.json` `exports`, by the source file the workspace resolves them to. */
const entryPointsOf = (dir: string): ReadonlyArray<EntryPoint> => {
  const manifest: { name: string; exports: Record<string, { "@hyperauth/source": string }> } = JSON.parse(
    readFileSync(join(repoRoot, dir, "package.json"), "utf8"),
  )
  return Object.entries(manifest.exports).map(([subpath, conditions]) => ({
    name: subpath === "." ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, "")}`,
    file: join(repoRoot, dir, conditions["@hyperauth/source"]),
  }))
}

const entryPoints: ReadonlyArray<EntryPoint> = packages.flatMap(entryPointsOf)

/**
 * The release a package's unreleased exports belong to: the next minor one
 * after its `package.json` `version` (0.1.0 → 0.2.0), so that what this
 * release adds says one `@since`.
 */
const nextRelease = (dir: string): string => {
  const { version }: { version: string } = JSON.parse(readFileSync(join(repoRoot, dir, "package.json"), "utf8"))
  const [major = 0, minor = 0] = version.split(".").map(Number)
  return major === 0 ? `0.${minor + 1}.0` : `${major}.${minor + 1}.0`
}

const compareVersions = (a: string, b: string): number => {
  const [x, y] = [a, b].map((version) => version.split(".").map(Number))
  for (let i = 0; i < 3; i++) {
    const d = (x?.[i] ?? 0) - (y?.[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2022.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  // Resolve the workspace packages to their sources, as the tests do.
  customConditions: ["@hyperauth/source"],
  types: ["node"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  noEmit: true,
}

/** A program over files on disk plus `virtual` files that exist only in memory. */
const makeProgram = (roots: ReadonlyArray<string>, virtual: ReadonlyMap<string, string> = new Map()): ts.Program => {
  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file)
  host.readFile = (file) => virtual.get(file) ?? readFile.call(host, file)
  host.getSourceFile = (file, language, onError, create) => {
    const text = virtual.get(file)
    return text === undefined
      ? getSourceFile.call(host, file, language, onError, create)
      : ts.createSourceFile(file, text, language)
  }
  return ts.createProgram([...roots], options, host)
}

interface Example {
  /** What the example documents, e.g. `TokenStore.makeFile`. */
  readonly where: string
  readonly code: string
}

interface Findings {
  /** One line per export or module whose documentation is incomplete. */
  readonly offenders: ReadonlyArray<string>
  readonly examples: ReadonlyArray<Example>
}

const fence = /```ts\n([\s\S]*?)```/g
const codeBlocks = (text: string): ReadonlyArray<string> => [...text.matchAll(fence)].map((match) => match[1] ?? "")

/** The module's own doc comment: the file's first comment, without its `*` margins. */
const moduleDoc = (source: ts.SourceFile): string | undefined => {
  const first = ts.getLeadingCommentRanges(source.text, 0)?.[0]
  const text = first === undefined ? "" : source.text.slice(first.pos, first.end)
  return text.startsWith("/**")
    ? text
        .split("\n")
        .map((line) => line.replace(/^\s*\/?\*+\/? ?/, ""))
        .join("\n")
    : undefined
}

interface Doc {
  readonly description: string
  readonly tags: ReadonlyArray<{ readonly name: string; readonly text: string }>
}

/** The doc comment of an export: of its declarations, or of the `export * as` line. */
const docOf = (checker: ts.TypeChecker, symbol: ts.Symbol): Doc => {
  const namespaceExport = symbol.declarations?.find(ts.isNamespaceExport)
  if (namespaceExport !== undefined) {
    const docs = ts.getJSDocCommentsAndTags(namespaceExport.parent).filter(ts.isJSDoc)
    return {
      description: docs.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "").join("\n"),
      tags: docs
        .flatMap((doc) => doc.tags ?? [])
        .map((tag) => ({
          name: tag.tagName.text,
          text: ts.getTextOfJSDocComment(tag.comment) ?? "",
        })),
    }
  }
  return {
    description: ts.displayPartsToString(symbol.getDocumentationComment(checker)),
    tags: symbol.getJsDocTags(checker).map((tag) => ({ name: tag.name, text: ts.displayPartsToString(tag.text) })),
  }
}

/** Checks the documentation of every export of `modules`, and collects their examples. */
const inspect = (
  checker: ts.TypeChecker,
  modules: ReadonlyArray<{ readonly name: string; readonly source: ts.SourceFile }>,
): Findings => {
  const offenders: Array<string> = []
  const examples: Array<Example> = []
  for (const { name, source } of modules) {
    const file = relative(repoRoot, source.fileName)
    const doc = moduleDoc(source)
    if (doc === undefined) offenders.push(`${file}: no module doc comment`)
    else if (!/@since \d/.test(doc)) offenders.push(`${file}: the module doc comment has no @since`)
    for (const code of codeBlocks(doc ?? "")) examples.push({ where: `${name} (module)`, code })
    const moduleSymbol = checker.getSymbolAtLocation(source)
    for (const exported of moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      // `export * as Token from "./Token.js"`: the module's own doc comment has the examples.
      const isModule = target.declarations?.some(ts.isSourceFile) === true
      // A re-export is documented where it is re-exported, or else where it is defined.
      const own = docOf(checker, exported)
      const { description, tags } = own.tags.length > 0 || target === exported ? own : docOf(checker, target)
      const has = (tag: string) => tags.some((t) => t.name === tag)
      const missing = [
        ...(description.trim() === "" ? ["a description"] : []),
        ...(has("since") ? [] : ["@since"]),
        ...(has("category") || isModule ? [] : ["@category"]),
        ...(!isModule && !has("example") ? ["@example"] : []),
      ]
      const where = `${name}.${exported.getName()}`
      if (missing.length > 0) offenders.push(`${file}: ${where} lacks ${missing.join(", ")}`)
      for (const tag of tags.filter((t) => t.name === "example")) {
        const blocks = codeBlocks(tag.text)
        if (blocks.length === 0) offenders.push(`${file}: ${where} has an @example without a \`\`\`ts block`)
        for (const code of blocks) examples.push({ where, code })
      }
    }
  }
  return { offenders, examples }
}

/**
 * The compile errors of `examples`, each type-checked as a module of its own
 * inside the core package, so that `@hyperauth/core` resolves to its sources
 * and `effect` to the core's own dependency.
 */
const compile = (examples: ReadonlyArray<Example>): ReadonlyArray<string> => {
  const files = new Map(examples.map((example, i) => [join(coreRoot, "test", `example-${i}.ts`), example] as const))
  const program = makeProgram(
    [...files.keys()],
    new Map([...files].map(([file, example]) => [file, `${example.code}\nexport {}\n`])),
  )
  return [...files].flatMap(([file, example]) => {
    const source = program.getSourceFile(file)
    return ts.getPreEmitDiagnostics(program, source).map((diagnostic) => {
      const line =
        diagnostic.start === undefined || source === undefined
          ? ""
          : ` line ${source.getLineAndCharacterOfPosition(diagnostic.start).line + 1}`
      return `${example.where} (example${line}): ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`
    })
  })
}

describe("public documentation", () => {
  const program = makeProgram(entryPoints.map((entry) => entry.file))
  const checker = program.getTypeChecker()
  const sourceOf = (file: string): ts.SourceFile => {
    const source = program.getSourceFile(file)
    if (source === undefined) throw new Error(`${file} is not in the program`)
    return source
  }

  /** The modules an entry point re-exports as namespaces (`export * as Token`), by the name it gives them. */
  const namespacesOf = (
    entry: ts.SourceFile,
  ): ReadonlyArray<{ readonly name: string; readonly source: ts.SourceFile }> => {
    const symbol = checker.getSymbolAtLocation(entry)
    return (symbol === undefined ? [] : checker.getExportsOfModule(symbol)).flatMap((exported) => {
      const source =
        exported.flags & ts.SymbolFlags.Alias
          ? checker.getAliasedSymbol(exported).declarations?.find(ts.isSourceFile)
          : undefined
      return source === undefined ? [] : [{ name: exported.getName(), source }]
    })
  }

  /** Every public module: each entry point, and each module it re-exports as a namespace. */
  const modules = entryPoints.flatMap((entry) => {
    const source = sourceOf(entry.file)
    return [{ name: entry.name, source }, ...namespacesOf(source)]
  })

  const findings = (): Findings => inspect(checker, modules)

  it("finds every entry point and module", () => {
    const names = modules.map((module) => module.name)
    // The entry points, and a module of each kind: one re-exported as a namespace, one added this release.
    for (const name of ["@hyperauth/core", "@hyperauth/core/promise", "@hyperauth/emulator", "Token", "Requests"]) {
      assert.include(names, name)
    }
    assert.isAbove(names.length, entryPoints.length)
  })

  it("dates nothing later than the next release", () => {
    const late = modules.flatMap(({ source }) => {
      const file = relative(repoRoot, source.fileName)
      const dir = packages.find((dir) => file.startsWith(`${dir}/`))
      const next = dir === undefined ? "0.0.0" : nextRelease(dir)
      return [...source.text.matchAll(/@since (\d+\.\d+\.\d+)/g)].flatMap((match) =>
        compareVersions(match[1] ?? "", next) > 0
          ? [
              `${file}:${source.getLineAndCharacterOfPosition(match.index).line + 1}: @since ${match[1]} (next: ${next})`,
            ]
          : [],
      )
    })
    assert.deepStrictEqual(late, [])
  })

  it("documents every export of every public module", () => {
    const { offenders } = findings()
    assert.deepStrictEqual(offenders, [], `undocumented:\n${offenders.join("\n")}`)
  })

  it("has examples that type-check as a user would write them", { timeout: 180_000 }, () => {
    const { examples } = findings()
    assert.isAbove(examples.length, modules.length)
    const failures = compile(examples)
    assert.deepStrictEqual(failures, [], `examples that do not compile:\n${failures.join("\n")}`)
  })

  it("has README examples that type-check as a user would write them", { timeout: 180_000 }, () => {
    // The repository's README and each package's, where a user of that package reads first.
    const readmes = ["README.md", ...packages.map((dir) => `${dir}/README.md`)]
    const examples = readmes.flatMap((readme) =>
      codeBlocks(readFileSync(join(repoRoot, readme), "utf8")).map((code, i) => ({
        where: `${readme} block ${i + 1}`,
        code,
      })),
    )
    assert.isNotEmpty(examples.filter((example) => example.where.startsWith("README.md ")))
    const failures = compile(examples)
    assert.deepStrictEqual(failures, [], `README examples that do not compile:\n${failures.join("\n")}`)
  })

  it("names every module of each package in the package's README", () => {
    const missing = packages.flatMap((dir) => {
      const readme = readFileSync(join(repoRoot, dir, "README.md"), "utf8")
      return entryPointsOf(dir).flatMap((entry) =>
        namespacesOf(sourceOf(entry.file))
          .filter(({ name }) => !readme.includes(`\`${name}\``))
          .map(({ name }) => `${dir}/README.md: ${entry.name}'s ${name}`),
      )
    })
    assert.deepStrictEqual(missing, [], `modules the README does not name:\n${missing.join("\n")}`)
  })

  describe("the checker itself", () => {
    it("names each export without a description, @since, @category, or @example", () => {
      const file = join(coreRoot, "test", "fixture-module.ts")
      const fixture = makeProgram(
        [file],
        new Map([
          [
            file,
            [
              // The module's doc comment, then a statement it belongs to, as an import would be.
              "/**\n * A fixture.\n *\n * @since 0.1.0\n */",
              "const local = 1\nvoid local",
              "export const bare = 1",
              "/**\n * @since 0.1.0\n * @category constants\n */\nexport const noDescription = 1",
              "/**\n * Documented, without an example.\n *\n * @since 0.1.0\n * @category constants\n */\nexport const noExample = 1",
              "/**\n * A type needs an example too.\n *\n * @since 0.1.0\n * @category models\n */\nexport interface Model {}",
              "/**\n * Without a category.\n *\n * @since 0.1.0\n */\nexport type Alias = string",
              "/**\n * Complete.\n *\n * @example\n * ```ts\n * complete // 1\n * ```\n *\n * @since 0.1.0\n * @category constants\n */\nexport const complete = 1",
            ].join("\n"),
          ],
        ]),
      )
      const source = fixture.getSourceFile(file)
      assert.isDefined(source)
      const { offenders, examples } = inspect(fixture.getTypeChecker(), [
        { name: "Fixture", source: source as ts.SourceFile },
      ])
      assert.deepStrictEqual(
        offenders.map((line) => line.replace(/^[^:]*: /, "")),
        [
          "Fixture.bare lacks a description, @since, @category, @example",
          "Fixture.noDescription lacks a description, @example",
          "Fixture.noExample lacks @example",
          "Fixture.Model lacks @example",
          "Fixture.Alias lacks @category, @example",
        ],
      )
      assert.deepStrictEqual(examples, [{ where: "Fixture.complete", code: "complete // 1\n" }])
    })

    it("reports an example that names what does not exist, or misuses it", { timeout: 180_000 }, () => {
      const failures = compile([
        { where: "good", code: 'import { OAuthError } from "@hyperauth/core"\nOAuthError.codes.includes("timeout")\n' },
        { where: "unknown", code: 'import { OAuthError } from "@hyperauth/core"\nnew OAuthError.NoSuchError()\n' },
        { where: "misused", code: 'import { DeviceFlow } from "@hyperauth/core"\nDeviceFlow.intervalOf("5")\n' },
      ])
      assert.deepStrictEqual(
        failures.map((failure) => failure.split(" ")[0]),
        ["unknown", "misused"],
      )
    })
  })
})
