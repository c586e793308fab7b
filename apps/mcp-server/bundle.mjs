// Bundles the compiled server (dist/main.js) into dist/hyperauth-mcp.js, the
// bin, plus the chunks it loads only when a run needs them (`--http`, the
// Redis store): a few minified files to parse at start instead of hundreds of
// modules, and none of the code only other runs use. Run after `tsc -b`.
import { rmSync } from "node:fs"
import { build } from "esbuild"

const dist = new URL("dist/", import.meta.url).pathname
// Chunk names carry a hash: clear the last build's so none is left stale.
rmSync(`${dist}chunks`, { recursive: true, force: true })

const result = await build({
  entryPoints: { "hyperauth-mcp": `${dist}main.js` },
  outdir: dist,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  // No `keepNames`: it wraps every named function and class in a call that
  // redefines its `name` each time one is made, closures on Effect's hot
  // paths included (about 3 MiB allocated at start alone, and about 0.1 ms
  // of every `call_api`). Stack traces map back to the source's names through the linked
  // source map (`node --enable-source-maps`), and error names do not depend
  // on class names (Effect sets a tagged error's `name` from its tag).
  minify: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  metafile: process.argv.includes("--metafile"),
  // Bundled CommonJS dependencies call `require` for Node's own modules.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  logLevel: "warning",
})

if (result.metafile !== undefined) {
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith(".map")) process.stdout.write(`${(output.bytes / 1024).toFixed(0).padStart(6)} KiB ${file}\n`)
  }
}
