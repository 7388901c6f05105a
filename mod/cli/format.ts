/**
 * Readable output for the CLI: aligned tables and one-line renderings of log lines and events.
 *
 * @module
 */

import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusNotification__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusNotification.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";

/** Renders rows as columns separated by two spaces, the first row being the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/** GetWorkerStatus as a table with a summary line. */
export function statusTable(res: WorkerStatusResponse__Output): string {
  const summary = `${res.total_count} worker(s): ${res.pending_count} pending, ` +
    `${res.running_count} running, ${res.succeeded_count} succeeded, ${res.failed_count} failed`;
  if (res.workers.length === 0) return summary;
  const rows = [["WORKER", "TASK", "STATUS", "STARTED", "COMPLETED", "DETAIL"]];
  for (const w of res.workers) {
    rows.push([
      w.pod_name,
      w.task_id,
      w.status,
      w.started_at || "-",
      w.completed_at || "-",
      w.error_message || "",
    ]);
  }
  return `${table(rows)}\n${summary}`;
}

/** One log line: `<worker> <sequence> | <message>`, stderr marked. */
export function logLine(entry: WorkerLogEntry__Output): string {
  const marker = entry.source === "stderr" ? " !" : "";
  return `${entry.worker_id} ${String(entry.sequence).padStart(4)}${marker} | ${entry.message}`;
}

/** One event: `<time> <worker> <STATUS> <reason>`. */
export function eventLine(event: WorkerStatusNotification__Output): string {
  return [event.timestamp, event.worker_id, event.status, event.reason].filter(Boolean).join("  ");
}
