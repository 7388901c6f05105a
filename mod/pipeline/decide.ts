/**
 * The pipeline's decision step, pure: the stage states, the workers of each stage's current
 * attempt, the clock and one event in; the next stage states, the stages whose transition to
 * report, and the actions to carry out (start or stop workers) out. No I/O, no clock of its own:
 * {@linkcode PipelineExecutor} carries the actions out and stores the states.
 *
 * Stages are visited in dependency order on a working copy, so a transition is seen by the
 * stages after it in the same step (a failure skips its dependents at once).
 *
 * - Ordinary stages (UNSPECIFIED, BUILD, TEST, DEPLOY, SETUP, CUSTOM) start once every dependency
 *   completed and are skipped once one failed, was cancelled or skipped; a failed attempt is
 *   retried as the stage's policy allows.
 * - CLEANUP and NOTIFY start once every dependency ended, however it ended (GitLab's
 *   `when: always`, Tekton's `finally`); they are not run after a cancel.
 * - APPROVAL runs no workers: it waits (STAGE_RUNNING) for an {@linkcode ApprovalEvent}, its
 *   timeout or a cancel.
 *
 * @module
 */

import { workerName } from "../worker/naming.ts";
import { isTerminal, type WorkerStatus } from "../worker/types.ts";
import {
  type CompiledPipeline,
  type CompiledStage,
  type RetryableFailure,
  runsAfterFailure,
} from "./compile.ts";
import { isFinalStage, type StageState } from "./state.ts";

/** Something happened: workers changed or a timer fired (`evaluate`), or a request came in. */
export type PipelineEvent =
  | { readonly type: "evaluate" }
  | { readonly type: "cancel" }
  | ApprovalEvent
  | {
    /** Starting an attempt's workers failed (the actor reports it). */
    readonly type: "start_failed";
    readonly stageId: string;
    readonly error: string;
  };

/** A person approved or rejected an APPROVAL stage. */
export interface ApprovalEvent {
  readonly type: "approval";
  readonly stageId: string;
  readonly approved: boolean;
  readonly approver: string;
  readonly comment: string;
}

/** What the decision step looks at. */
export interface DecideInput {
  readonly definition: CompiledPipeline;
  /** Every stage's state (not modified). */
  readonly stages: Readonly<Record<string, StageState>>;
  /** Whether the pipeline was cancelled before this event. */
  readonly cancelled: boolean;
  /** The workers of a stage's current attempt, as the runtime reports them. */
  readonly workers: (stageId: string) => readonly WorkerStatus[];
  /** The clock, epoch ms. */
  readonly now: number;
  /** The event. */
  readonly event: PipelineEvent;
}

/** Work for the actor. */
export type PipelineAction =
  /** Make sure every worker of the stage's attempt exists (starts are idempotent). */
  | { readonly type: "start"; readonly stageId: string; readonly attempt: number }
  /** Stop these workers. */
  | { readonly type: "stop"; readonly workerIds: readonly string[] };

/** What the decision step decided. */
export interface Decision {
  /** Every stage's next state. */
  readonly stages: Record<string, StageState>;
  /** Whether the pipeline is cancelled now. */
  readonly cancelled: boolean;
  /** The stages whose state changed, in stage order (each reported once). */
  readonly changed: readonly string[];
  /** What to do, in order. */
  readonly actions: readonly PipelineAction[];
  /** When to evaluate again (a retry delay or an approval timeout), epoch ms. */
  readonly wakeAt?: number;
  /** Why the event was refused (an approval of a stage that is not waiting); nothing changed. */
  readonly refused?: string;
}

/** The task id of one attempt of one stage: readable, so worker names show the attempt. */
export function attemptTaskId(pipelineId: string, stageId: string, attempt: number): string {
  return `${pipelineId}-${stageId}-a${attempt}`.toLowerCase();
}

/** The failure classes a failed worker belongs to. */
function failureClasses(worker: WorkerStatus): RetryableFailure[] {
  const classes: RetryableFailure[] = [{ class: "any" }];
  if (worker.reason === "DeadlineExceeded") classes.push({ class: "timeout" });
  else if (worker.reason === "Error" && worker.exitCode !== undefined) {
    classes.push({ class: "exit_code" }, { exitCode: worker.exitCode });
  } else if (worker.reason !== "Lost" && worker.reason !== "Stopped") {
    classes.push({ class: "start_failure" });
  }
  return classes;
}

/** Whether a failure of `worker` may be retried by the stage's policy. */
export function isRetryable(stage: CompiledStage, worker: WorkerStatus): boolean {
  const classes = failureClasses(worker);
  return stage.retryable.some((r) =>
    classes.some((c) =>
      "class" in r
        ? "class" in c && c.class === r.class
        : "exitCode" in c && c.exitCode === r.exitCode
    )
  );
}

/** Whether a stage is an APPROVAL stage waiting for its decision. */
export function isWaitingForApproval(stage: CompiledStage, state: StageState): boolean {
  return stage.type === "approval" && state.status === "STAGE_RUNNING";
}

const ENDED_BADLY = ["STAGE_FAILED", "STAGE_CANCELLED", "STAGE_SKIPPED"];

/** Decides one step; see the module doc. */
export function decide(input: DecideInput): Decision {
  const { definition, event, now } = input;
  const stages: Record<string, StageState> = structuredClone(input.stages) as Record<
    string,
    StageState
  >;
  const changed = new Set<string>();
  const actions: PipelineAction[] = [];
  let wakeAt: number | undefined;
  const iso = new Date(now).toISOString();
  const wake = (at: number) => (wakeAt = Math.min(wakeAt ?? Infinity, at));
  const set = (id: string, patch: Partial<StageState>) => {
    Object.assign(stages[id], patch);
    changed.add(id);
  };
  const byId = new Map(definition.stages.map((s) => [s.id, s]));
  const cancelled = input.cancelled || event.type === "cancel";

  if (event.type === "approval") {
    const stage = byId.get(event.stageId);
    const st = stages[event.stageId];
    if (!stage || !st || !isWaitingForApproval(stage, st) || cancelled) {
      const what = !stage
        ? `pipeline "${definition.id}" has no stage "${event.stageId}"`
        : stage.type !== "approval"
        ? `stage "${event.stageId}" is not an APPROVAL stage`
        : `stage "${event.stageId}" is not waiting for approval (it is ${st.status})`;
      return { stages: { ...input.stages }, cancelled, changed: [], actions: [], refused: what };
    }
    const who = event.approver || "someone";
    const why = event.comment ? `: ${event.comment}` : "";
    set(
      stage.id,
      event.approved
        ? {
          status: "STAGE_COMPLETED",
          completedAt: iso,
          message: `approved by ${who}${why}`,
          errorMessage: "",
        }
        : {
          status: "STAGE_FAILED",
          completedAt: iso,
          message: `rejected by ${who}${why}`,
          errorMessage: `rejected by ${who}${why}`,
        },
    );
  }
  if (event.type === "start_failed" && stages[event.stageId]?.status === "STAGE_RUNNING") {
    set(event.stageId, {
      status: "STAGE_FAILED",
      completedAt: iso,
      message: "its workers could not be started",
      errorMessage: `start failure: ${event.error}`,
    });
  }

  const start = (stage: CompiledStage, attempt: number) => {
    const st = stages[stage.id];
    if (stage.type === "approval") {
      set(stage.id, {
        status: "STAGE_RUNNING",
        attempt: 1,
        startedAt: st.startedAt ?? iso,
        message: stage.timeoutSeconds > 0
          ? `waiting for approval (up to ${stage.timeoutSeconds}s)`
          : "waiting for approval",
        errorMessage: "",
      });
      if (stage.timeoutSeconds > 0) wake(now + stage.timeoutSeconds * 1000);
      return;
    }
    set(stage.id, {
      status: "STAGE_RUNNING",
      attempt,
      retryAt: undefined,
      startedAt: st.startedAt ?? iso,
      message: attempt > 1 ? `attempt ${attempt} of ${stage.maxAttempts} running` : "running",
      errorMessage: "",
      workers: Array.from(
        { length: stage.workerCount },
        (_, i) => workerName(attemptTaskId(definition.id, stage.id, attempt), i + 1),
      ),
      successful: 0,
      failed: 0,
    });
    actions.push({ type: "start", stageId: stage.id, attempt });
  };

  for (const stage of definition.stages) {
    const st = stages[stage.id];
    if (isFinalStage(st.status)) continue;
    const workers = stage.type === "approval" ? [] : input.workers(stage.id);

    if (cancelled) {
      if (st.status === "STAGE_RUNNING") {
        const live = workers.filter((w) => !isTerminal(w.phase)).map((w) => w.id);
        if (live.length > 0) actions.push({ type: "stop", workerIds: live });
        set(stage.id, {
          status: "STAGE_CANCELLED",
          completedAt: iso,
          message: stage.type === "approval"
            ? "cancelled while waiting for approval"
            : "cancelled; its workers were stopped",
          errorMessage: "pipeline cancelled",
        });
      } else {
        set(stage.id, {
          status: st.status === "STAGE_RETRYING" ? "STAGE_CANCELLED" : "STAGE_SKIPPED",
          completedAt: iso,
          message: "not run: the pipeline was cancelled",
          errorMessage: "pipeline cancelled",
        });
      }
      continue;
    }

    if (st.status === "STAGE_PENDING") {
      const deps = stage.dependsOn.map((d) => [d, stages[d].status] as const);
      if (runsAfterFailure(stage.type)) {
        if (deps.every(([, s]) => isFinalStage(s))) start(stage, 1);
        continue;
      }
      const blocker = deps.find(([, s]) => ENDED_BADLY.includes(s));
      if (blocker) {
        set(stage.id, {
          status: "STAGE_SKIPPED",
          completedAt: iso,
          message: `skipped: dependency "${blocker[0]}" did not complete`,
          errorMessage: `dependency "${blocker[0]}" ${
            blocker[1].replace("STAGE_", "").toLowerCase()
          }`,
        });
      } else if (deps.every(([, s]) => s === "STAGE_COMPLETED")) start(stage, 1);
      continue;
    }

    if (st.status === "STAGE_RETRYING") {
      if ((st.retryAt ?? 0) <= now) start(stage, st.attempt + 1);
      else wake(st.retryAt!);
      continue;
    }

    // STAGE_RUNNING.
    if (stage.type === "approval") {
      if (stage.timeoutSeconds > 0) {
        const deadline = Date.parse(st.startedAt ?? iso) + stage.timeoutSeconds * 1000;
        if (deadline <= now) {
          set(stage.id, {
            status: "STAGE_FAILED",
            completedAt: iso,
            message: `no decision within ${stage.timeoutSeconds}s`,
            errorMessage: `approval timed out after ${stage.timeoutSeconds}s`,
          });
        } else wake(deadline);
      }
      continue;
    }
    if (workers.length < stage.workerCount) {
      // After a crash mid-start: make sure every worker of the attempt exists.
      if (!actions.some((a) => a.type === "start" && a.stageId === stage.id)) {
        actions.push({ type: "start", stageId: stage.id, attempt: st.attempt });
      }
      continue;
    }
    const succeeded = workers.filter((w) => w.phase === "succeeded").length;
    const failed = workers.filter((w) => w.phase === "failed");
    // Counts are kept, but only a change of status is reported.
    st.successful = succeeded;
    st.failed = failed.length;
    if (succeeded === stage.workerCount) {
      set(stage.id, {
        status: "STAGE_COMPLETED",
        completedAt: iso,
        message: `all ${stage.workerCount} worker(s) succeeded`,
        errorMessage: "",
      });
    } else if (failed.length > 0) {
      const first = failed[0];
      const why = `worker ${first.id} failed: ${
        [first.reason, first.message].filter(Boolean).join(": ")
      }`;
      // The stage's fate is decided: stop the attempt's other workers.
      const live = workers.filter((w) => !isTerminal(w.phase)).map((w) => w.id);
      if (live.length > 0) actions.push({ type: "stop", workerIds: live });
      if (st.attempt < stage.maxAttempts && isRetryable(stage, first)) {
        const delay = stage.retryDelaySeconds * st.attempt * 1000;
        set(stage.id, {
          status: "STAGE_RETRYING",
          retryAt: now + delay,
          message: `attempt ${st.attempt} of ${stage.maxAttempts} failed; retrying in ${
            delay / 1000
          }s`,
          errorMessage: why,
        });
        wake(now + delay);
      } else {
        set(stage.id, {
          status: "STAGE_FAILED",
          completedAt: iso,
          message: st.attempt > 1 ? `failed after ${st.attempt} attempts` : "failed",
          errorMessage: why,
        });
      }
    }
  }

  return {
    stages,
    cancelled,
    changed: definition.stages.map((s) => s.id).filter((id) => changed.has(id)),
    actions,
    ...(wakeAt !== undefined ? { wakeAt } : {}),
  };
}
