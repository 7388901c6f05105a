/**
 * Runs pipelines: the actor around the pure decision step ({@linkcode decide} in decide.ts, which
 * holds the stage semantics). Each event (a worker change from the runtime's watch, a retry or
 * approval timer, CancelPipeline, ApproveStage) is handled in turn per pipeline: decide, store
 * the states, report the transitions, then carry out the actions (start or stop workers).
 *
 * The executor is driven by state, not by callbacks: each step looks at the runtime's worker
 * states and the stored stage states. That makes a restart trivial: load the stored states,
 * evaluate. Completed stages are never re-run; a running stage's workers are found again by name
 * (starts are idempotent, so there are no duplicates); an APPROVAL stage still waits.
 *
 * A pipeline does not belong to the client that started it: a dropped stream changes nothing,
 * and asking for the same pipeline_id again re-attaches.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import { workerLabels } from "../worker/naming.ts";
import { ValidationError } from "../worker/errors.ts";
import type { ImagePolicy } from "../worker/image_policy.ts";
import { workerSpec } from "../worker/spec.ts";
import { type AdmissionTicket, type Runtime, startsTogether } from "../worker/types.ts";
import type { CompiledPipeline, CompiledStage } from "./compile.ts";
import { attemptTaskId, decide, type Decision, type PipelineEvent } from "./decide.ts";
import { PipelineNotFoundError, PipelineRun } from "./run.ts";
import { isFinalStage, type PipelineStore, type StageState, type StageStatus } from "./state.ts";
import { NotLeaderError } from "../kube/leader.ts";
import { withTenantLabel } from "../admission/line.ts";

export { attemptTaskId } from "./decide.ts";
export { PipelineNotFoundError, PipelineRun, type StageProgress } from "./run.ts";

/** Thrown when ApproveStage names a stage that is not waiting for approval. */
export class StageNotWaitingError extends Error {
  /** Creates the error; the message says what the stage is doing instead. */
  constructor(message: string) {
    super(message);
    this.name = "StageNotWaitingError";
  }
}

/** Options for {@linkcode PipelineExecutor}. */
export interface ExecutorOptions {
  /** Where workers run. */
  readonly runtime: Runtime;
  /** Where pipeline state lives. */
  readonly store: PipelineStore;
  /** The logger. */
  readonly logger: Logger;
  /** The image of stages that name none (OTTO_AGENT_IMAGE); runtimes without images ignore it. */
  readonly defaultImage?: string;
  /** Which images workers may run (IMAGE_ALLOWLIST); absent: any. */
  readonly imagePolicy?: ImagePolicy;
  /**
   * Told when a stage reaches a final state (a metric): its type (`build`, `test`, `approval`, ...)
   * and its final status (`STAGE_COMPLETED`, `STAGE_FAILED`, ...).
   */
  readonly onStageFinished?: (type: string, status: string) => void;
}

/** A person's decision on an APPROVAL stage. */
export interface ApprovalDecision {
  /** Approved (the stage completes) or rejected (it fails). */
  readonly approved: boolean;
  /** Who decided. */
  readonly approver: string;
  /** Why. */
  readonly comment: string;
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

const EVALUATE: PipelineEvent = { type: "evaluate" };

/** Runs pipelines over a runtime; see the module doc. */
export class PipelineExecutor {
  readonly #opts: ExecutorOptions;
  readonly #log: Logger;
  readonly #runs = new Map<string, PipelineRun>();
  /** Per pipeline: the last queued step. */
  readonly #queue = new Map<string, Promise<unknown>>();
  /** Per pipeline: a queued evaluation not yet begun (later ones fold into it). */
  readonly #queuedEvaluation = new Map<string, Promise<Decision | undefined>>();
  /** Told of each run as it becomes known (submitted, or loaded at start). */
  readonly #runListeners = new Set<(run: PipelineRun) => void>();
  #unwatch?: () => void;
  #closed = false;

  /** Creates the executor; {@linkcode PipelineExecutor.start} starts it. */
  constructor(options: ExecutorOptions) {
    this.#opts = options;
    this.#log = options.logger.with({ component: "pipeline" });
  }

  /** Loads stored pipelines and continues the unfinished ones; {@linkcode close} stops. */
  async start(): Promise<void> {
    for (const state of await this.#opts.store.loadAll()) {
      const run = new PipelineRun(state);
      this.#add(run);
      if (run.finished) run.finish();
      else this.#log.info("continuing pipeline", { pipeline: run.id });
    }
    this.#unwatch = this.#opts.runtime.watch(() => this.#evaluateAll());
    this.#evaluateAll();
  }

  /** The run of a pipeline, if known. */
  get(id: string): PipelineRun | undefined {
    return this.#runs.get(id);
  }

  /** Every known run, in the order they were started or loaded. */
  list(): PipelineRun[] {
    return [...this.#runs.values()];
  }

  /**
   * Calls `listener` with each run that becomes known from now on (submitted, or loaded by
   * {@linkcode start}), synchronously, before its first transition; returns the unsubscribe.
   * Listing after subscribing misses none.
   */
  watchRuns(listener: (run: PipelineRun) => void): () => void {
    this.#runListeners.add(listener);
    return () => this.#runListeners.delete(listener);
  }

  #add(run: PipelineRun): void {
    this.#runs.set(run.id, run);
    for (const listener of this.#runListeners) {
      try {
        listener(run);
      } catch (err) {
        this.#log.error("a pipeline listener failed", { err });
      }
    }
  }

  /**
   * Starts a pipeline, or returns the existing run of the same id (`created` false): re-attach,
   * never a second run.
   */
  async submit(
    definition: CompiledPipeline,
    meta: { repository?: string; commitSha?: string; admission?: AdmissionTicket } = {},
  ): Promise<{ run: PipelineRun; created: boolean }> {
    const existing = this.#runs.get(definition.id);
    if (existing) return { run: existing, created: false };
    const policy = this.#opts.imagePolicy;
    definition.stages.forEach((stage, i) => {
      const image = stage.image ?? this.#opts.defaultImage;
      // An approval stage runs no workers, so no image of its own is checked.
      if (policy && image !== undefined && stage.workerCount > 0) {
        policy.check(stage.image ? `stages[${i}].image` : `stages[${i}]: OTTO_AGENT_IMAGE`, image);
      }
    });
    const stages: Record<string, StageState> = {};
    for (const stage of definition.stages) {
      stages[stage.id] = {
        status: "STAGE_PENDING",
        attempt: 0,
        message: "waiting for its dependencies",
        errorMessage: "",
        workers: [],
        successful: 0,
        failed: 0,
      };
    }
    const run = new PipelineRun({
      definition,
      repository: meta.repository ?? "",
      commitSha: meta.commitSha ?? "",
      ...(meta.admission ? { admission: meta.admission } : {}),
      createdAt: new Date().toISOString(),
      cancelled: false,
      stages,
    });
    this.#add(run);
    await this.#opts.store.save(run.state);
    this.#log.info("pipeline started", { pipeline: run.id, stages: definition.stages.length });
    for (const stage of definition.stages) run.emit(stage.id);
    await this.#dispatch(run, EVALUATE);
    return { run, created: true };
  }

  /** Cancels a pipeline; false if it is unknown or already finished. */
  async cancel(id: string): Promise<boolean> {
    const run = this.#runs.get(id);
    if (!run || run.finished) return false;
    await this.#dispatch(run, { type: "cancel" });
    return true;
  }

  /**
   * Decides a waiting APPROVAL stage; resolves with the stage's status after it.
   * {@linkcode PipelineNotFoundError} for an unknown pipeline, a ValidationError for an unknown
   * stage, {@linkcode StageNotWaitingError} for a stage that is not waiting for approval.
   */
  async approve(id: string, stageId: string, decision: ApprovalDecision): Promise<StageStatus> {
    const run = this.#runs.get(id);
    if (!run) throw new PipelineNotFoundError(id);
    if (!run.state.stages[stageId]) {
      throw new ValidationError("stage_id", `pipeline "${id}" has no stage "${stageId}"`);
    }
    const result = await this.#dispatch(run, { type: "approval", stageId, ...decision });
    if (!result || result.refused) {
      throw new StageNotWaitingError(
        result?.refused ??
          `stage "${stageId}" is not waiting for approval (it is ${
            run.state.stages[stageId].status
          })`,
      );
    }
    this.#log.info(decision.approved ? "stage approved" : "stage rejected", {
      pipeline: id,
      stage: stageId,
      approver: decision.approver,
    });
    return run.state.stages[stageId].status;
  }

  /** Stops evaluating (pipelines continue at the next open). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unwatch?.();
    for (const run of this.#runs.values()) run.stopTimer();
    await Promise.allSettled([...this.#queue.values()]);
  }

  #evaluateAll(): void {
    for (const run of this.#runs.values()) {
      if (!run.finished) {
        this.#dispatch(run, EVALUATE).catch((err) =>
          this.#log.error("evaluating a pipeline failed", { pipeline: run.id, err })
        );
      }
    }
  }

  /**
   * Queues an event for a run: steps of one pipeline never overlap. An evaluation asked for while
   * another is queued and not begun folds into it.
   */
  #dispatch(run: PipelineRun, event: PipelineEvent): Promise<Decision | undefined> {
    const folded = event.type === "evaluate" ? this.#queuedEvaluation.get(run.id) : undefined;
    if (folded) return folded;
    const previous = this.#queue.get(run.id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => {
      if (event.type === "evaluate") this.#queuedEvaluation.delete(run.id);
      if (this.#closed) return undefined;
      return this.#step(run, event);
    });
    if (event.type === "evaluate") this.#queuedEvaluation.set(run.id, next);
    this.#queue.set(run.id, next);
    next.finally(() => {
      if (this.#queue.get(run.id) === next) this.#queue.delete(run.id);
    }).catch(() => {});
    return next;
  }

  /** Handles one event: decide, store, report, act; then evaluate again until nothing changes. */
  async #step(run: PipelineRun, first: PipelineEvent): Promise<Decision | undefined> {
    const { runtime, store } = this.#opts;
    let event: PipelineEvent | undefined = first;
    let firstDecision: Decision | undefined;
    let last: Decision | undefined;
    while (event && !this.#closed && !run.finished) {
      const decision = decide({
        definition: run.state.definition,
        stages: run.state.stages,
        cancelled: run.state.cancelled,
        now: Date.now(),
        event,
        workers: (stageId) => {
          const attempt = Math.max(1, run.state.stages[stageId].attempt);
          return runtime.list({ taskId: attemptTaskId(run.id, stageId, attempt) });
        },
      });
      firstDecision ??= decision;
      last = decision;
      if (decision.refused) return decision;
      const wasCancelled = run.state.cancelled;
      for (const [id, state] of Object.entries(decision.stages)) {
        const wasFinal = isFinalStage(run.state.stages[id].status);
        run.state.stages[id] = state;
        if (!wasFinal && isFinalStage(state.status)) {
          const type = run.state.definition.stages.find((s) => s.id === id)?.type ?? "unspecified";
          this.#opts.onStageFinished?.(type, state.status);
        }
      }
      run.state.cancelled = decision.cancelled;
      // Stored before any worker starts, so a restart finds the attempt and its workers by name.
      if (decision.changed.length > 0 || decision.cancelled !== wasCancelled) {
        await store.save(run.state);
      }
      for (const id of decision.changed) run.emit(id);
      event = undefined;
      for (const action of decision.actions) {
        if (action.type === "stop") {
          await Promise.all(action.workerIds.map((id) => runtime.stop(id)));
          continue;
        }
        const stage = run.state.definition.stages.find((s) => s.id === action.stageId)!;
        const error = await this.#startWorkers(run, stage, action.attempt);
        if (error !== undefined && !event) {
          event = { type: "start_failed", stageId: stage.id, error };
        }
      }
      // A transition may unblock or skip other stages: look again.
      if (!event && decision.changed.length > 0) event = EVALUATE;
    }
    if (run.finished) {
      if (run.finish()) this.#log.info("pipeline finished", { pipeline: run.id });
    } else if (last?.wakeAt !== undefined) {
      run.wakeAt(last.wakeAt, () => {
        this.#dispatch(run, EVALUATE).catch((err) =>
          this.#log.error("evaluating a pipeline failed", { pipeline: run.id, err })
        );
      });
    }
    return firstDecision;
  }

  /** Starts the workers of one attempt of a stage; resolves with the first error, if any. */
  async #startWorkers(
    run: PipelineRun,
    stage: CompiledStage,
    attempt: number,
  ): Promise<string | undefined> {
    const task = attemptTaskId(run.id, stage.id, attempt);
    const command = stage.argv.length > 0 ? stage.argv.map(shellQuote).join(" ") : undefined;
    // In Kubernetes mode the pipeline's ConfigMap owns its pods: deleting it cleans them up.
    const owner = this.#opts.store.ownerOf?.(run.id);
    const specs = Array.from({ length: stage.workerCount }, (_, i) => ({
      ...workerSpec({
        taskId: task,
        index: i + 1,
        image: stage.image ?? this.#opts.defaultImage ?? "",
        command,
        timeoutSeconds: stage.timeoutSeconds,
        owner,
        labels: {
          "ottoscaler.io/pipeline": workerLabels(run.id, 1)["ottoscaler.io/task"],
          "ottoscaler.io/stage": stage.id.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
          "ottoscaler.io/stage-type": stage.type,
          "ottoscaler.io/attempt": String(attempt),
        },
        env: stage.env,
        repository: run.state.repository,
        commitSha: run.state.commitSha,
        ottoEnv: {
          OTTO_PIPELINE_ID: run.id,
          OTTO_STAGE_ID: stage.id,
          OTTO_STAGE_TYPE: stage.type,
          OTTO_ATTEMPT: String(attempt),
        },
      }),
      ...(run.state.admission ? { admission: run.state.admission } : {}),
    })).map(withTenantLabel); // the tenant as a label on every worker (the dashboard filters by it)
    // A stage's workers are admitted together or not at all, where the runtime can (workers that
    // wait for room): two pipelines never each hold half of what their stages need. Their
    // timeout runs from their start, so a stage's timeout starts when it is admitted.
    const runtime = this.#opts.runtime;
    const results = startsTogether(runtime)
      ? [
        await runtime.startTogether(specs).then(
          (value) => ({ status: "fulfilled", value }) as const,
          (reason) => ({ status: "rejected", reason }) as const,
        ),
      ]
      : await Promise.allSettled(specs.map((spec) => runtime.start(spec)));
    const failure = results.find((r) => r.status === "rejected");
    // Not the leader (any more): not this stage's failure; the new leader continues it.
    if (failure && failure.reason instanceof NotLeaderError) throw failure.reason;
    return failure ? String((failure as PromiseRejectedResult).reason) : undefined;
  }
}
