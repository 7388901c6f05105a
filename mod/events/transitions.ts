/**
 * Worker state changes as the wire reports them: CREATED, RUNNING, then COMPLETED, FAILED or
 * TERMINATED. They are derived from a worker's state alone (a pure function), so the same
 * history comes out after a restart, and a subscriber can be told exactly what it has not seen.
 *
 * @module
 */

import type { WorkerStatus } from "../worker/types.ts";

/** The kinds of change (the wire's WorkerStatusNotification.StatusType). */
export type EventType = "CREATED" | "RUNNING" | "COMPLETED" | "FAILED" | "TERMINATED";

/** One change of one worker. */
export interface WorkerEvent {
  /** The worker. */
  readonly workerId: string;
  /** Its task. */
  readonly taskId: string;
  /** What happened. */
  readonly type: EventType;
  /** When, RFC 3339. */
  readonly timestamp: string;
  /** Why (terminal events): the reason and its explanation. */
  readonly reason: string;
  /** Attributes: exit_code, node_name, index. */
  readonly metadata: Record<string, string>;
  /**
   * The event's place in a worker's history, fixed by its kind: CREATED 1, RUNNING 2, the end 3.
   * Fixed, not counted, so a RUNNING learnt only after the end (a start time reported late) never
   * moves the end's number: "every event up to n was acknowledged" stays true, nothing is resent.
   */
  readonly ordinal: number;
}

const ORDINALS: Readonly<Record<EventType, number>> = {
  CREATED: 1,
  RUNNING: 2,
  COMPLETED: 3,
  FAILED: 3,
  TERMINATED: 3,
};

/** Every change a worker in state `status` has gone through, in order. */
export function transitionsOf(status: WorkerStatus): WorkerEvent[] {
  const metadata: Record<string, string> = { index: String(status.index) };
  if (status.nodeName) metadata.node_name = status.nodeName;
  const events: Omit<WorkerEvent, "ordinal">[] = [];
  const base = { workerId: status.id, taskId: status.taskId };
  // A worker waiting for room says so on its CREATED event (Queued: position N, held by ...).
  const waiting = status.phase === "pending" ? status.message ?? "" : "";
  events.push({ ...base, type: "CREATED", timestamp: status.createdAt, reason: waiting, metadata });
  if (status.startedAt) {
    events.push({ ...base, type: "RUNNING", timestamp: status.startedAt, reason: "", metadata });
  }
  if (status.phase === "succeeded" || status.phase === "failed") {
    const end = { ...metadata };
    if (status.exitCode !== undefined) end.exit_code = String(status.exitCode);
    const type: EventType = status.phase === "succeeded"
      ? "COMPLETED"
      : status.reason === "Stopped"
      ? "TERMINATED"
      : "FAILED";
    events.push({
      ...base,
      type,
      timestamp: status.finishedAt ?? status.createdAt,
      reason: [status.reason, status.message].filter(Boolean).join(": "),
      metadata: end,
    });
  }
  return events.map((event) => ({ ...event, ordinal: ORDINALS[event.type] }));
}
