/**
 * Ends a test run with the plain line "N passed, N failed", which CI reads
 * to know how many tests ran.
 */
import type { Reporter, TestModule } from "vitest/node"

export default class SummaryReporter implements Reporter {
  #line = ""

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
    }
    this.#line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`
  }

  // Runs after the default reporter's summary, so the line closes the output.
  onFinished(): void {
    if (this.#line !== "") process.stdout.write(`\n${this.#line}\n`)
  }
}
