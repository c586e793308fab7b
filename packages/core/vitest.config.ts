import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@hyperauth/source"] },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../scripts/fuzzSetup.ts"],
    benchmark: { include: ["bench/**/*.bench.ts"] },
  },
})
