/** The benchmark report: one table per measurement, as Markdown. */
import { arch, cpus, platform, release, totalmem } from "node:os"

export interface Section {
  readonly title: string
  /** What was measured and how, in a sentence or two. */
  readonly method: string
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  /** What the numbers show, in a sentence each, after the table. */
  readonly notes?: ReadonlyArray<string>
  /** Checks the issue demands, e.g. "token requests = 1"; false fails the run. */
  readonly checks?: ReadonlyArray<Check>
  /** Figures issue 14 asks for; reported in their own list, never failing the run. */
  readonly targets?: ReadonlyArray<Check>
}

export interface Check {
  readonly what: string
  readonly ok: boolean
}

const mark = (check: Check): string => `- ${check.ok ? "✅" : "❌"} ${check.what}`

export const machine = (): string => {
  const cores = cpus()
  const model = cores[0]?.model.trim() ?? "unknown CPU"
  const memory = (totalmem() / 2 ** 30).toFixed(0)
  return `${model}, ${cores.length} cores, ${memory} GiB, ${platform()} ${release()} ${arch()}, Node ${process.version}`
}

const table = (section: Section): string =>
  [
    `| ${section.header.join(" | ")} |`,
    `| ${section.header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...section.rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n")

/** The heading of the list of targets, after every section. */
export const targetsTitle = "Targets (issue 14)"

export const render = (sections: ReadonlyArray<Section>, startedAt: Date): string =>
  [
    "# Benchmarks",
    "",
    `Written by \`pnpm bench\` on ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "",
    `Machine: ${machine()}.`,
    "",
    "Every comparison is measured side by side in the same run, against the same",
    "emulator over loopback HTTP, the contenders taking turns round by round.",
    "Numbers from another machine, or another run, are not comparable with these.",
    ...sections.flatMap((section) => [
      "",
      `## ${section.title}`,
      "",
      section.method,
      "",
      table(section),
      ...(section.notes ?? []).flatMap((note) => ["", note]),
      ...(section.checks === undefined || section.checks.length === 0 ? [] : ["", ...section.checks.map(mark)]),
    ]),
    "",
    `## ${targetsTitle}`,
    "",
    "What issue 14 asks each figure to reach, from the numbers above. A target",
    "not met is reported here and does not fail the run; only the checks above do.",
    "",
    ...sections.flatMap((section) => (section.targets ?? []).map(mark)),
    "",
  ].join("\n")
