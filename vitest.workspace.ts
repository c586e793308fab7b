// The test projects. vitest.config.ts hands this list to `test.projects`.
export default ["packages/core", "packages/emulator", "apps/mcp-server", "apps/demo", "bench"]
