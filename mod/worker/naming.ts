/**
 * Deterministic worker names and labels. A worker's name is `otto-agent-<task>-<index>`, so a
 * retried ScaleUp finds the workers it already made instead of making more.
 *
 * The task part is the task id itself when it is already a short DNS label; otherwise it is the
 * id made DNS-safe (lowercase, runs of other characters turned into one `-`), cut short, and
 * followed by 8 hex digits of its SHA-256, so two different task ids never share workers.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The prefix of every worker name. */
export const WORKER_NAME_PREFIX = "otto-agent-";

/** The longest worker name: 63, so a name is also a valid label value and host name. */
export const MAX_NAME_LENGTH = 63;

/** The most digits an index may have (indices go up to 99,999). */
const MAX_INDEX_DIGITS = 5;

/** The longest task part that still leaves room for the prefix and the index. */
export const MAX_TASK_PART = MAX_NAME_LENGTH - WORKER_NAME_PREFIX.length - 1 - MAX_INDEX_DIGITS;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether `value` is a DNS label (RFC 1123) of at most `max` characters. */
export function isDnsLabel(value: string, max = 63): boolean {
  return value.length <= max && DNS_LABEL.test(value);
}

/** The DNS-safe form of a task id, as used in worker names and the task label. */
export function taskPart(taskId: string): string {
  if (isDnsLabel(taskId, MAX_TASK_PART)) return taskId;
  const hash = createHash("sha256").update(taskId).digest("hex").slice(0, 8);
  const safe = taskId.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const cut = safe.slice(0, MAX_TASK_PART - hash.length - 1).replace(/-+$/, "");
  return cut ? `${cut}-${hash}` : hash;
}

/** The name of worker `index` (from 1) of task `taskId`. */
export function workerName(taskId: string, index: number): string {
  return `${WORKER_NAME_PREFIX}${taskPart(taskId)}-${index}`;
}

/** Label keys Ottoscaler puts on every worker. */
export const LABELS = {
  managedBy: "managed-by",
  app: "app",
  task: "ottoscaler.io/task",
  index: "ottoscaler.io/index",
} as const;

/** The labels of worker `index` of task `taskId`. */
export function workerLabels(taskId: string, index: number): Record<string, string> {
  return {
    [LABELS.managedBy]: "ottoscaler",
    [LABELS.app]: "otto-agent",
    [LABELS.task]: taskPart(taskId),
    [LABELS.index]: String(index),
  };
}
