// Bundles the compiled server (dist/main.js) into one file, dist/hyperauth-mcp.js:
// one file to load instead of hundreds of modules starts the server about
// twice as fast. Run after `tsc -b`.
import { build } from "esbuild"

await build({
  entryPoints: [new URL("dist/main.js", import.meta.url).pathname],
  outfile: new URL("dist/hyperauth-mcp.js", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  // Bundled CommonJS dependencies call `require` for Node's own modules.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
  },
  logLevel: "warning",
})
