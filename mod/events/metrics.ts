/**
 * Worker metrics from the runtime's state changes: a worker seen running for the first time is a
 * start (and its creation-to-running time a sample of the start duration); a worker seen ending
 * failed is a failure by reason. The workers-by-phase gauge is read from the runtime at scrape
 * time. Only changes seen after {@linkcode observeWorkerMetrics} count, so a restarted instance
 * does not count the workers it re-adopts again.
 *
 * @module
 */

import type { Metrics } from "../telemetry/metrics.ts";
import { isTerminal, type Runtime } from "../worker/types.ts";

/** Options for {@linkcode observeWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Whether changes count now (a standby does not count the leader's workers); default always. */
  readonly counting?: () => boolean;
}

/** Feeds `metrics` from `runtime`; returns the function that stops it. */
export function observeWorkerMetrics(
  runtime: Runtime,
  metrics: Metrics,
  options: WorkerMetricsOptions = {},
): () => void {
  const counting = options.counting ?? (() => true);
  const known = new Map<string, { started: boolean; ended: boolean }>();
  for (const w of runtime.list()) {
    known.set(w.id, {
      started: w.phase !== "pending" || w.startedAt !== undefined,
      ended: isTerminal(w.phase),
    });
  }
  metrics.observeWorkers(() => runtime.list());
  return runtime.watch((status) => {
    let seen = known.get(status.id);
    if (!seen) known.set(status.id, seen = { started: false, ended: false });
    const counts = counting();
    if (!seen.started && (status.phase === "running" || status.startedAt !== undefined)) {
      seen.started = true;
      if (counts) {
        metrics.workerStarts.inc();
        const from = Date.parse(status.createdAt);
        const to = Date.parse(status.startedAt ?? new Date().toISOString());
        if (Number.isFinite(from) && Number.isFinite(to)) {
          metrics.workerStartDuration.observe(Math.max(0, (to - from) / 1000));
        }
      }
    }
    if (!seen.ended && isTerminal(status.phase)) {
      seen.ended = true;
      if (counts && status.phase === "failed") {
        metrics.workerFailures.inc({ reason: status.reason ?? "Unknown" });
      }
    }
  });
}
