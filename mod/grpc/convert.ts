/**
 * Conversions between wire messages (snake_case, as loaded with keepCase) and domain values.
 *
 * @module
 */

import type { WorkerEvent } from "../events/transitions.ts";
import type { TaskLogLine } from "../logs/task_logs.ts";
import type { ScaleResult } from "../scaler/scaler.ts";
import type { ScaleRequest } from "../scaler/scaler.ts";
import { ValidationError } from "../worker/errors.ts";
import type { WorkerStatus } from "../worker/types.ts";
import type { PipelineRequest as DomainPipelineRequest } from "../pipeline/compile.ts";
import type { StageType as WireStageType } from "../../proto/generated/ottoscaler/v1/StageType.ts";
import type { StageProgress } from "../pipeline/executor.ts";
import type { PipelineProgress } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { PipelineRequest__Output } from "../../proto/generated/ottoscaler/v1/PipelineRequest.ts";
import type { ScaleRequest__Output } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerPodStatus } from "../../proto/generated/ottoscaler/v1/WorkerPodStatus.ts";
import type { WorkerStatusResponse } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import type { WorkerLogEntry } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusNotification } from "../../proto/generated/ottoscaler/v1/WorkerStatusNotification.ts";

/** A wire ScaleRequest as a domain request. */
export function scaleRequestFromWire(wire: ScaleRequest__Output): ScaleRequest {
  return {
    taskId: wire.task_id,
    workerCount: wire.worker_count,
    repository: wire.repository,
    commitSha: wire.commit_sha,
    buildConfig: wire.build_config ?? {},
    triggeredBy: wire.triggered_by,
    reason: wire.reason,
    metadata: wire.metadata ?? {},
  };
}

/** A scale result as a wire ScaleResponse. */
export function scaleResponseToWire(result: ScaleResult): ScaleResponse {
  return {
    status: result.status,
    message: result.message,
    processed_count: result.processedCount,
    worker_pod_names: result.workerNames,
    started_at: result.startedAt,
    completed_at: result.completedAt,
  };
}

/** A worker's state as a wire WorkerPodStatus. */
export function workerToWire(status: WorkerStatus): WorkerPodStatus {
  return {
    pod_name: status.id,
    task_id: status.taskId,
    status: status.phase,
    created_at: status.createdAt,
    started_at: status.startedAt ?? "",
    completed_at: status.finishedAt ?? "",
    node_name: status.nodeName ?? "",
    pod_ip: status.podIp ?? "",
    labels: { ...status.labels },
    // A failed worker says why; a waiting one where it stands in line (Queued: position N, ...).
    error_message: status.phase === "failed"
      ? errorMessage(status)
      : status.phase === "pending"
      ? status.message ?? ""
      : "",
  };
}

/** The error message of a failed worker: its reason and, when known, its exit code. */
export function errorMessage(status: WorkerStatus): string {
  const parts = [status.reason ?? "Failed", status.message ?? ""].filter(Boolean).join(": ");
  if (
    status.exitCode !== undefined && !(status.message ?? "").includes(`code ${status.exitCode}`)
  ) {
    return `${parts} (exit code ${status.exitCode})`;
  }
  return parts;
}

/** Workers as a wire WorkerStatusResponse with counts by phase. */
export function statusResponseToWire(workers: readonly WorkerStatus[]): WorkerStatusResponse {
  const count = (phase: WorkerStatus["phase"]) => workers.filter((w) => w.phase === phase).length;
  return {
    total_count: workers.length,
    running_count: count("running"),
    pending_count: count("pending"),
    succeeded_count: count("succeeded"),
    failed_count: count("failed"),
    workers: workers.map(workerToWire),
  };
}

/** A task's log line as a wire WorkerLogEntry. */
export function logEntryToWire(item: TaskLogLine, namespace: string): WorkerLogEntry {
  const { line, worker } = item;
  return {
    worker_id: line.workerId,
    task_id: worker.taskId,
    timestamp: line.timestamp,
    level: line.level ?? (line.source === "stderr" ? "error" : "info"),
    source: line.source,
    message: line.message,
    sequence: line.sequence,
    metadata: { ...line.metadata },
    pod_metadata: {
      pod_name: worker.id,
      namespace,
      node_name: worker.nodeName ?? "",
      created_at: worker.createdAt,
      labels: { ...worker.labels },
    },
  };
}

/** A worker event as a wire WorkerStatusNotification. */
export function eventToWire(event: WorkerEvent): WorkerStatusNotification {
  return {
    worker_id: event.workerId,
    task_id: event.taskId,
    status: event.type,
    timestamp: event.timestamp,
    reason: event.reason,
    metadata: { ...event.metadata },
  };
}

/** Parses resume_after (int64 values arrive as strings); throws naming the bad entry. */
export function resumeAfterFromWire(
  wire: Readonly<Record<string, string | number>> | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [worker, raw] of Object.entries(wire ?? {})) {
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError(`resume_after.${worker}`, "must be a sequence of 0 or more");
    }
    out[worker] = value;
  }
  return out;
}

/** A wire PipelineRequest as a domain request. */
export function pipelineRequestFromWire(wire: PipelineRequest__Output): DomainPipelineRequest {
  return {
    pipelineId: wire.pipeline_id,
    name: wire.name,
    stages: wire.stages.map((stage) => ({
      stageId: stage.stage_id,
      // A StageType name, an unknown StageType number, or the older string form (decode.ts).
      type: stage.type as string | number,
      name: stage.name,
      workerCount: stage.worker_count,
      dependsOn: stage.depends_on,
      config: stage.config,
      image: stage.image,
      command: stage.command,
      args: stage.args,
      timeoutSeconds: stage.timeout_seconds,
      retryPolicy: stage.retry_policy
        ? {
          maxAttempts: stage.retry_policy.max_attempts,
          retryDelaySeconds: stage.retry_policy.retry_delay_seconds,
          retryableFailures: stage.retry_policy.retryable_failures,
        }
        : undefined,
    })),
  };
}

/** A stage transition as a wire PipelineProgress. */
export function progressToWire(progress: StageProgress): PipelineProgress {
  return {
    pipeline_id: progress.pipelineId,
    stage_id: progress.stageId,
    stage_type: `STAGE_TYPE_${progress.stageType.toUpperCase()}` as WireStageType,
    status: progress.status,
    message: progress.message,
    worker_pod_names: [...progress.workers],
    progress_percentage: progress.progressPercentage,
    timestamp: progress.timestamp,
    started_at: progress.startedAt,
    completed_at: progress.completedAt,
    error_message: progress.errorMessage,
    metrics: {
      duration_seconds: progress.metrics.durationSeconds,
      successful_workers: progress.metrics.successfulWorkers,
      failed_workers: progress.metrics.failedWorkers,
      total_workers: progress.metrics.totalWorkers,
      avg_cpu_usage: 0,
      avg_memory_mb: 0,
    },
  };
}
