import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@hyperauth/source"] },
  test: {
    name: "mcp-server",
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../scripts/fuzzSetup.ts"],
    // End-to-end tests start the built server as a child process.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
