/**
 * Pod → worker state (pure). How a worker pod's Kubernetes status, and the annotations Ottoscaler
 * writes on it, read as a {@linkcode WorkerStatus}:
 *
 * | pod                                                     | worker                          |
 * | ------------------------------------------------------- | ------------------------------- |
 * | Pending                                                 | pending                         |
 * | Pending, given up on (failure annotations)              | failed, the recorded reason     |
 * | Pending or Running, stop requested                      | stays until the pod ends        |
 * | Running                                                 | running                         |
 * | Succeeded                                               | succeeded, Completed, exit 0    |
 * | Failed after a stop request                             | failed, Stopped                 |
 * | Failed, reason DeadlineExceeded (activeDeadlineSeconds) | failed, DeadlineExceeded        |
 * | Failed, container exit code N                           | failed, Error, exit N           |
 *
 * A stop is a cut of `activeDeadlineSeconds` to 1 plus a `stop-requested` annotation: the kubelet
 * then kills the containers (SIGTERM, the pod's grace period, SIGKILL) and keeps the pod and its
 * logs, which a delete would not.
 *
 * @module
 */

import type { EndReason, Phase, WorkerSpec, WorkerStatus } from "../types.ts";
import type { PodObject } from "../../kube/api.ts";
import { INDEX_LABEL, TASK_ID_ANNOTATION, WORKER_CONTAINER } from "./pod.ts";

/** Annotation set when Ottoscaler stops a worker (RFC 3339 time of the request). */
export const STOP_ANNOTATION = "ottoscaler.io/stop-requested";
/** Annotation with the reason Ottoscaler gave up on a worker that could not start. */
export const FAILURE_REASON_ANNOTATION = "ottoscaler.io/failure-reason";
/** Annotation with the message for {@linkcode FAILURE_REASON_ANNOTATION}. */
export const FAILURE_MESSAGE_ANNOTATION = "ottoscaler.io/failure-message";
/** Annotation with the time Ottoscaler gave up (RFC 3339). */
export const FAILED_AT_ANNOTATION = "ottoscaler.io/failed-at";

/** The reasons a pending container or pod shows when it cannot start. */
const WAITING_FAILURES: ReadonlySet<string> = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
]);

/** A reason the pod cannot start, and the API server's words for it. */
export interface StartProblem {
  /** The typed reason. */
  readonly reason: EndReason;
  /** What Kubernetes said. */
  readonly message: string;
}

/**
 * Why a pending pod cannot start, if it shows a reason: unschedulable, an image that cannot be
 * pulled or named, or a container config error. Undefined while it is merely on its way.
 */
export function startProblem(pod: PodObject): StartProblem | undefined {
  const status = pod.status;
  if (!status || status.phase !== "Pending") return undefined;
  const scheduled = status.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    return { reason: "Unschedulable", message: scheduled.message ?? "no node fits the pod" };
  }
  for (const container of status.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (waiting?.reason && WAITING_FAILURES.has(waiting.reason)) {
      return {
        reason: waiting.reason as EndReason,
        message: waiting.message ?? waiting.reason,
      };
    }
  }
  return undefined;
}

/** The worker state a pod shows. */
export function podToStatus(pod: PodObject): WorkerStatus {
  const meta = pod.metadata;
  const annotations = meta.annotations ?? {};
  const labels = meta.labels ?? {};
  const status = pod.status ?? {};
  const container = (status.containerStatuses ?? []).find((c) => c.name === WORKER_CONTAINER) ??
    status.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  const base = {
    id: meta.name,
    taskId: annotations[TASK_ID_ANNOTATION] ?? labels["ottoscaler.io/task"] ?? "",
    index: Number(labels[INDEX_LABEL] ?? 0),
    createdAt: meta.creationTimestamp ?? new Date(0).toISOString(),
    startedAt: container?.state?.running?.startedAt ?? terminated?.startedAt ?? status.startTime,
    nodeName: pod.spec?.nodeName,
    podIp: status.podIP,
    labels,
  };
  const stopped = annotations[STOP_ANNOTATION] !== undefined;
  const phase = status.phase ?? "Pending";
  if (phase === "Succeeded") {
    return {
      ...base,
      phase: "succeeded",
      finishedAt: terminated?.finishedAt,
      exitCode: terminated?.exitCode ?? 0,
      reason: "Completed",
    };
  }
  if (phase === "Failed") {
    const end = failedEnd(pod, stopped);
    return {
      ...base,
      phase: "failed",
      finishedAt: terminated?.finishedAt ?? annotations[FAILED_AT_ANNOTATION],
      exitCode: terminated?.exitCode,
      ...end,
    };
  }
  const givenUp = annotations[FAILURE_REASON_ANNOTATION];
  if (givenUp !== undefined && phase === "Pending") {
    return {
      ...base,
      phase: "failed",
      finishedAt: annotations[FAILED_AT_ANNOTATION],
      reason: givenUp as EndReason,
      message: annotations[FAILURE_MESSAGE_ANNOTATION] ?? givenUp,
    };
  }
  const live: Phase = phase === "Running" ? "running" : "pending";
  return { ...base, phase: live };
}

function failedEnd(pod: PodObject, stopped: boolean): { reason: EndReason; message: string } {
  const status = pod.status ?? {};
  const annotations = pod.metadata.annotations ?? {};
  const terminated = status.containerStatuses?.[0]?.state?.terminated;
  if (stopped) return { reason: "Stopped", message: "stopped on request" };
  if (status.reason === "DeadlineExceeded") {
    const deadline = pod.spec?.activeDeadlineSeconds;
    return {
      reason: "DeadlineExceeded",
      message: `timed out after ${deadline ?? "?"}s (activeDeadlineSeconds)`,
    };
  }
  const givenUp = annotations[FAILURE_REASON_ANNOTATION];
  if (givenUp !== undefined) {
    return {
      reason: givenUp as EndReason,
      message: annotations[FAILURE_MESSAGE_ANNOTATION] ?? givenUp,
    };
  }
  if (terminated && terminated.exitCode !== 0) {
    const why = terminated.reason && terminated.reason !== "Error" ? ` (${terminated.reason})` : "";
    return { reason: "Error", message: `exited with code ${terminated.exitCode}${why}` };
  }
  const why = [status.reason, status.message].filter(Boolean).join(": ");
  return { reason: "Error", message: why || "the pod failed" };
}

/** The status of a worker whose pod the API server refused (no pod exists): failed at once. */
export function refusedStatus(spec: WorkerSpec, reason: EndReason, message: string): WorkerStatus {
  const now = new Date().toISOString();
  return {
    id: spec.id,
    taskId: spec.taskId,
    index: spec.index,
    phase: "failed",
    createdAt: now,
    finishedAt: now,
    reason,
    message,
    labels: { ...spec.labels },
  };
}

/** Whether a worker's state changed in anything a listener is told of. */
export function statusChanged(a: WorkerStatus, b: WorkerStatus): boolean {
  return a.phase !== b.phase || a.reason !== b.reason || a.startedAt !== b.startedAt ||
    a.finishedAt !== b.finishedAt || a.nodeName !== b.nodeName || a.podIp !== b.podIp ||
    a.exitCode !== b.exitCode;
}

/** Orders workers by task, then index (as `Runtime.list` answers). */
export function byTaskAndIndex(a: WorkerStatus, b: WorkerStatus): number {
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.index - b.index;
}
