/**
 * The one place a worker's spec is built: its deterministic name and labels, and the `OTTO_*`
 * environment every worker gets. ScaleUp and pipeline stages both call {@linkcode workerSpec}, so a
 * worker looks the same whoever started it.
 *
 * @module
 */

import { workerLabels, workerName } from "./naming.ts";
import type { WorkerOwner, WorkerSpec } from "./types.ts";

/** What a worker of a task is made from. */
export interface WorkerSpecInput {
  /** The task id. */
  readonly taskId: string;
  /** The worker's index within its task, from 1. */
  readonly index: number;
  /** The container image. */
  readonly image: string;
  /** The shell script, when given. */
  readonly command?: string;
  /** The timeout in seconds; 0 when none. */
  readonly timeoutSeconds: number;
  /** The caller's environment (already validated: no `OTTO_*` key of its own). */
  readonly env: Readonly<Record<string, string>>;
  /** Given to the worker as OTTO_REPOSITORY. */
  readonly repository?: string;
  /** Given to the worker as OTTO_COMMIT_SHA. */
  readonly commitSha?: string;
  /** More `OTTO_*` variables (e.g. a pipeline's OTTO_PIPELINE_ID); they win over `env`. */
  readonly ottoEnv?: Readonly<Record<string, string>>;
  /** More labels, next to the task and index labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The object that owns the worker, where the runtime has owners. */
  readonly owner?: WorkerOwner;
}

/** Builds a worker's spec: name, labels and environment with the `OTTO_*` variables. */
export function workerSpec(input: WorkerSpecInput): WorkerSpec {
  const id = workerName(input.taskId, input.index);
  return {
    id,
    taskId: input.taskId,
    index: input.index,
    image: input.image,
    command: input.command,
    timeoutSeconds: input.timeoutSeconds,
    ...(input.owner ? { owner: input.owner } : {}),
    labels: { ...workerLabels(input.taskId, input.index), ...input.labels },
    env: {
      ...input.env,
      OTTO_TASK_ID: input.taskId,
      OTTO_WORKER_ID: id,
      OTTO_WORKER_INDEX: String(input.index),
      OTTO_REPOSITORY: input.repository ?? "",
      OTTO_COMMIT_SHA: input.commitSha ?? "",
      ...input.ottoEnv,
    },
  };
}
