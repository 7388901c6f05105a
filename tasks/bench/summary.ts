/**
 * The one table of `deno task bench`: each benchmark prints its headline figures as summary lines
 * (`SUMMARY <json>` on stdout), and `tasks/bench/main.ts` gathers them into one table at the end,
 * every row with its same-run baseline and ratio.
 *
 * @module
 */

/** One row of the table. */
export interface SummaryRow {
  /** What is measured. */
  readonly figure: string;
  /** Ottoscaler's figure, with its unit. */
  readonly ottoscaler: string;
  /** The same-run baseline's figure, with what it is; "–" when there is none. */
  readonly baseline: string;
  /** Ottoscaler against the baseline (higher is better); "–" when there is none. */
  readonly ratio: string;
  /** The goal for the figure; "–" (or absent) when it has none. */
  readonly goal?: string;
  /** Whether the goal was met in this run: "yes", or "no: " and why (see {@linkcode verdict}). */
  readonly met?: string;
}

/**
 * The `met` cell of a row: "yes", or "no" with the reason the goal is out of reach, which
 * docs/performance.md shows with measurements.
 */
export function verdict(ok: boolean, whyNot: string): string {
  return ok ? "yes" : `no: ${whyNot}`;
}

const PREFIX = "SUMMARY ";

/** Prints a summary row for main.ts to gather. */
export function printSummary(row: SummaryRow): void {
  console.log(PREFIX + JSON.stringify(row));
}

/** The summary row of a line of output, if it is one. */
export function parseSummary(line: string): SummaryRow | undefined {
  if (!line.startsWith(PREFIX)) return undefined;
  try {
    return JSON.parse(line.slice(PREFIX.length)) as SummaryRow;
  } catch {
    return undefined;
  }
}

/** The rows as a Markdown table. */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const header: SummaryRow = {
    figure: "figure",
    ottoscaler: "Ottoscaler",
    baseline: "same-run baseline",
    ratio: "ratio",
    goal: "goal",
    met: "met",
  };
  const keys = ["figure", "ottoscaler", "baseline", "ratio", "goal", "met"] as const;
  const cell = (r: SummaryRow, k: typeof keys[number]) => r[k] ?? "–";
  const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => cell(r, k).length)));
  const line = (r: SummaryRow) =>
    `| ${keys.map((k, i) => cell(r, k).padEnd(widths[i])).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
