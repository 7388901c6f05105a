/**
 * The chaos suite's figures: one row per scenario run, printed as a table.
 *
 * @module
 */

/** What one run of a scenario measured. */
export interface ScenarioResult {
  /** The scenario. */
  readonly scenario: string;
  /** Faults injected. */
  readonly faults: number;
  /** Workers started (pipeline stages included). */
  readonly workers: number;
  /** Lines the checked workers printed. */
  readonly lines: number;
  /** Printed lines missing from the numbered logs. */
  readonly lost: number;
  /** Lines numbered twice, or sequences with gaps. */
  readonly duplicates: number;
  /** Workers beyond what was asked. */
  readonly duplicateWorkers: number;
  /** Kubernetes: pods beyond one per worker (a worker's pod created again); absent elsewhere. */
  readonly duplicatePods?: number;
  /** Kubernetes: worker pods left that no task or pipeline owns; absent elsewhere. */
  readonly orphanPods?: number;
  /** Workers asked for that never ran or ended otherwise than succeeded, where all should. */
  readonly failedWorkers?: number;
  /** Pipeline stages run more than once (with no failure to retry) or not completed. */
  readonly stagesRerun: number;
  /** Exits that were not injected (e.g. denoland/deno#36788), or starts that failed. */
  readonly aborts: number;
  /** Median time from a fault until service answered again, ms. */
  readonly recoverP50Ms: number;
  /** Longest such time, ms. */
  readonly recoverMaxMs: number;
  /** Wall time of the run, s. */
  readonly seconds: number;
}

/** The results as a Markdown table. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const head = [
    "scenario",
    "faults",
    "workers",
    "lines",
    "lost",
    "dup lines",
    "dup workers",
    "dup pods",
    "orphan pods",
    "failed workers",
    "stage re-runs",
    "aborts",
    "recover p50",
    "recover max",
    "run",
  ];
  const rows = results.map((r) => [
    r.scenario,
    String(r.faults),
    String(r.workers),
    String(r.lines),
    String(r.lost),
    String(r.duplicates),
    String(r.duplicateWorkers),
    r.duplicatePods === undefined ? "-" : String(r.duplicatePods),
    r.orphanPods === undefined ? "-" : String(r.orphanPods),
    r.failedWorkers === undefined ? "-" : String(r.failedWorkers),
    String(r.stagesRerun),
    String(r.aborts),
    `${(r.recoverP50Ms / 1000).toFixed(2)} s`,
    `${(r.recoverMaxMs / 1000).toFixed(2)} s`,
    `${r.seconds.toFixed(0)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  const rule = `|${
    widths.map((w, i) => i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`).join("|")
  }|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}
