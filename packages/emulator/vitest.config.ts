import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@hyperauth/source"] },
  test: {
    name: "emulator",
    include: ["test/**/*.test.ts"],
  },
})
