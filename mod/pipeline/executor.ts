/**
 * Runs pipelines: each stage starts once all its dependencies completed, independent stages run
 * in parallel, a stage completes when all its workers succeed. A failed stage is retried as its
 * policy allows (the attempt shows in worker names and labels, the delay grows with each attempt),
 * else it fails and everything depending on it is skipped while independent branches go on.
 *
 * The executor is driven by state, not by callbacks: on every worker change (the runtime's watch)
 * and every retry timer it re-evaluates each unfinished pipeline from the runtime's worker states
 * and its stored stage states. That makes a restart trivial: load the stored states, evaluate.
 * Completed stages are never re-run; a running stage's workers are found again by name (starts
 * are idempotent, so there are no duplicates).
 *
 * A pipeline does not belong to the client that started it: a dropped stream changes nothing,
 * and asking for the same pipeline_id again re-attaches.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import { workerLabels, workerName } from "../worker/naming.ts";
import { workerSpec } from "../worker/spec.ts";
import { isTerminal, type Runtime, type WorkerStatus } from "../worker/types.ts";
import type { CompiledPipeline, CompiledStage, RetryableFailure } from "./compile.ts";
import { NotLeaderError } from "../kube/leader.ts";
import { isFinalStage, type PipelineState, type PipelineStore, type StageState } from "./state.ts";

/** One stage transition, as progress streams report it. */
export interface StageProgress {
  readonly pipelineId: string;
  readonly stageId: string;
  readonly status: StageState["status"];
  readonly message: string;
  readonly workers: readonly string[];
  /** Share of the pipeline's stages that are finished, 0-100. */
  readonly progressPercentage: number;
  readonly timestamp: string;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly errorMessage: string;
  readonly metrics: {
    readonly durationSeconds: number;
    readonly successfulWorkers: number;
    readonly failedWorkers: number;
    readonly totalWorkers: number;
  };
}

/** Thrown when a pipeline id is not known. */
export class PipelineNotFoundError extends Error {
  /** The id asked for. */
  readonly pipelineId: string;
  /** Creates the error for `pipelineId`. */
  constructor(pipelineId: string) {
    super(`Pipeline "${pipelineId}" not found`);
    this.name = "PipelineNotFoundError";
    this.pipelineId = pipelineId;
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
  /**
   * Told when a stage reaches a final state (a metric): its type (`build`, `test`, `deploy`,
   * `custom`) and its final status (`STAGE_COMPLETED`, `STAGE_FAILED`, ...).
   */
  readonly onStageFinished?: (type: string, status: string) => void;
}

/** The task id of one attempt of one stage: readable, so worker names show the attempt. */
export function attemptTaskId(pipelineId: string, stageId: string, attempt: number): string {
  return `${pipelineId}-${stageId}-a${attempt}`.toLowerCase();
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
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

function isRetryable(stage: CompiledStage, worker: WorkerStatus): boolean {
  const classes = failureClasses(worker);
  return stage.retryable.some((r) =>
    classes.some((c) =>
      "class" in r
        ? "class" in c && c.class === r.class
        : "exitCode" in c && c.exitCode === r.exitCode
    )
  );
}

/** One pipeline being run; see the module doc. */
export class PipelineRun {
  readonly state: PipelineState;
  readonly #listeners = new Set<(progress: StageProgress) => void>();
  readonly #finished = Promise.withResolvers<void>();
  #timer?: ReturnType<typeof setTimeout>;

  /** Wraps a stored or new state. */
  constructor(state: PipelineState) {
    this.state = state;
  }

  /** The pipeline's id. */
  get id(): string {
    return this.state.definition.id;
  }

  /** Whether every stage is final. */
  get finished(): boolean {
    return Object.values(this.state.stages).every((s) => isFinalStage(s.status));
  }

  /** Resolves once the pipeline is finished. */
  get done(): Promise<void> {
    return this.#finished.promise;
  }

  /** Each stage's current state as progress, in stage order. */
  snapshot(): StageProgress[] {
    return this.state.definition.stages.map((stage) => this.progress(stage.id));
  }

  /** Calls `listener` on every transition until the returned function is called. */
  subscribe(listener: (progress: StageProgress) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The progress record of a stage as it stands. */
  progress(stageId: string): StageProgress {
    const stage = this.state.definition.stages.find((s) => s.id === stageId)!;
    const st = this.state.stages[stageId];
    const stages = Object.values(this.state.stages);
    const started = st.startedAt ? Date.parse(st.startedAt) : undefined;
    const ended = st.completedAt ? Date.parse(st.completedAt) : Date.now();
    return {
      pipelineId: this.id,
      stageId,
      status: st.status,
      message: st.message,
      workers: [...st.workers],
      progressPercentage: Math.round(
        (100 * stages.filter((s) => isFinalStage(s.status)).length) / stages.length,
      ),
      timestamp: new Date().toISOString(),
      startedAt: st.startedAt ?? "",
      completedAt: st.completedAt ?? "",
      errorMessage: st.errorMessage,
      metrics: {
        durationSeconds: started === undefined
          ? 0
          : Math.max(0, Math.round((ended - started) / 1000)),
        successfulWorkers: st.successful,
        failedWorkers: st.failed,
        totalWorkers: stage.workerCount,
      },
    };
  }

  /** Tells listeners about a stage's transition. */
  emit(stageId: string): void {
    const progress = this.progress(stageId);
    for (const listener of this.#listeners) listener(progress);
  }

  /** Marks the pipeline finished (once). */
  finish(): void {
    clearTimeout(this.#timer);
    this.#finished.resolve();
  }

  /** Arranges the next re-evaluation at `at` (epoch ms), replacing any earlier arrangement. */
  wakeAt(at: number, wake: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(wake, Math.max(0, at - Date.now()));
  }

  /** Stops the timer (the pipeline continues at the next start). */
  stopTimer(): void {
    clearTimeout(this.#timer);
  }
}

/** Runs pipelines over a runtime; see the module doc. */
export class PipelineExecutor {
  readonly #opts: ExecutorOptions;
  readonly #log: Logger;
  readonly #runs = new Map<string, PipelineRun>();
  readonly #busy = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  #unwatch?: () => void;
  #closed = false;

  /** Creates the executor; call {@linkcode PipelineExecutor.open}. */
  constructor(options: ExecutorOptions) {
    this.#opts = options;
    this.#log = options.logger.with({ component: "pipeline" });
  }

  /** Loads stored pipelines and continues the unfinished ones. */
  async open(): Promise<void> {
    for (const state of await this.#opts.store.loadAll()) {
      const run = new PipelineRun(state);
      this.#runs.set(run.id, run);
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

  /**
   * Starts a pipeline, or returns the existing run of the same id (`created` false): re-attach,
   * never a second run.
   */
  async submit(
    definition: CompiledPipeline,
    meta: { repository?: string; commitSha?: string } = {},
  ): Promise<{ run: PipelineRun; created: boolean }> {
    const existing = this.#runs.get(definition.id);
    if (existing) return { run: existing, created: false };
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
      createdAt: new Date().toISOString(),
      cancelled: false,
      stages,
    });
    this.#runs.set(run.id, run);
    await this.#opts.store.save(run.state);
    this.#log.info("pipeline started", { pipeline: run.id, stages: definition.stages.length });
    for (const stage of definition.stages) run.emit(stage.id);
    await this.#evaluate(run);
    return { run, created: true };
  }

  /** Cancels a pipeline; false if it is unknown or already finished. */
  async cancel(id: string): Promise<boolean> {
    const run = this.#runs.get(id);
    if (!run || run.finished) return false;
    run.state.cancelled = true;
    await this.#opts.store.save(run.state);
    await this.#evaluate(run);
    return true;
  }

  /** Stops evaluating (pipelines continue at the next open). */
  close(): Promise<void> {
    this.#closed = true;
    this.#unwatch?.();
    for (const run of this.#runs.values()) run.stopTimer();
    return Promise.allSettled([...this.#busy.values()]).then(() => {});
  }

  #evaluateAll(): void {
    for (const run of this.#runs.values()) {
      if (!run.finished) {
        this.#evaluate(run).catch((err) =>
          this.#log.error("evaluating a pipeline failed", { pipeline: run.id, err })
        );
      }
    }
  }

  /** Evaluates a run; calls while one is under way fold into one more pass after it. */
  #evaluate(run: PipelineRun): Promise<void> {
    const busy = this.#busy.get(run.id);
    if (busy) {
      this.#again.add(run.id);
      return busy;
    }
    const pass = (async () => {
      do {
        this.#again.delete(run.id);
        if (this.#closed) return;
        await this.#step(run);
      } while (this.#again.has(run.id));
    })().finally(() => this.#busy.delete(run.id));
    this.#busy.set(run.id, pass);
    return pass;
  }

  async #step(run: PipelineRun): Promise<void> {
    const { runtime, store } = this.#opts;
    const changed: string[] = [];
    const now = () => new Date().toISOString();
    const set = (id: string, patch: Partial<StageState>) => {
      const wasFinal = isFinalStage(run.state.stages[id].status);
      Object.assign(run.state.stages[id], patch);
      const status = run.state.stages[id].status;
      if (!wasFinal && isFinalStage(status)) {
        const type = run.state.definition.stages.find((s) => s.id === id)?.type ?? "custom";
        this.#opts.onStageFinished?.(type, status);
      }
      changed.push(id);
    };
    let nextWake = Infinity;

    for (const stage of run.state.definition.stages) {
      const st = run.state.stages[stage.id];
      if (isFinalStage(st.status)) continue;
      const task = attemptTaskId(run.id, stage.id, Math.max(1, st.attempt));
      const workers = runtime.list({ taskId: task });

      if (run.state.cancelled) {
        if (st.status === "STAGE_RUNNING") {
          await Promise.all(workers.map((w) => runtime.stop(w.id)));
          set(stage.id, {
            status: "STAGE_CANCELLED",
            completedAt: now(),
            message: "cancelled; its workers were stopped",
            errorMessage: "pipeline cancelled",
          });
        } else {
          set(stage.id, {
            status: st.status === "STAGE_RETRYING" ? "STAGE_CANCELLED" : "STAGE_SKIPPED",
            completedAt: now(),
            message: "not run: the pipeline was cancelled",
            errorMessage: "pipeline cancelled",
          });
        }
        continue;
      }

      if (st.status === "STAGE_PENDING") {
        const blocker = stage.dependsOn.find((d) =>
          ["STAGE_FAILED", "STAGE_CANCELLED", "STAGE_SKIPPED"].includes(run.state.stages[d].status)
        );
        if (blocker) {
          set(stage.id, {
            status: "STAGE_SKIPPED",
            completedAt: now(),
            message: `skipped: dependency "${blocker}" did not complete`,
            errorMessage: `dependency "${blocker}" ${
              run.state.stages[blocker].status.replace("STAGE_", "").toLowerCase()
            }`,
          });
        } else if (stage.dependsOn.every((d) => run.state.stages[d].status === "STAGE_COMPLETED")) {
          await this.#startAttempt(run, stage, 1);
          changed.push(stage.id);
        }
        continue;
      }

      if (st.status === "STAGE_RETRYING") {
        if ((st.retryAt ?? 0) <= Date.now()) {
          await this.#startAttempt(run, stage, st.attempt + 1);
          changed.push(stage.id);
        } else nextWake = Math.min(nextWake, st.retryAt!);
        continue;
      }

      // STAGE_RUNNING: make sure every worker of the attempt exists (after a crash mid-start).
      if (workers.length < stage.workerCount) {
        await this.#startWorkers(run, stage, st.attempt);
        if (isFinalStage(st.status)) changed.push(stage.id);
        continue;
      }
      const succeeded = workers.filter((w) => w.phase === "succeeded").length;
      const failed = workers.filter((w) => w.phase === "failed");
      st.successful = succeeded;
      st.failed = failed.length;
      if (succeeded === stage.workerCount) {
        set(stage.id, {
          status: "STAGE_COMPLETED",
          completedAt: now(),
          message: `all ${stage.workerCount} worker(s) succeeded`,
          errorMessage: "",
        });
      } else if (failed.length > 0) {
        const first = failed[0];
        const why = `worker ${first.id} failed: ${
          [first.reason, first.message].filter(Boolean).join(": ")
        }`;
        // Stop the attempt's other workers; the stage's fate is decided.
        await Promise.all(
          workers.filter((w) => !isTerminal(w.phase)).map((w) => runtime.stop(w.id)),
        );
        if (st.attempt < stage.maxAttempts && isRetryable(stage, first)) {
          const delay = stage.retryDelaySeconds * st.attempt * 1000;
          set(stage.id, {
            status: "STAGE_RETRYING",
            retryAt: Date.now() + delay,
            message: `attempt ${st.attempt} of ${stage.maxAttempts} failed; retrying in ${
              delay / 1000
            }s`,
            errorMessage: why,
          });
          nextWake = Math.min(nextWake, Date.now() + delay);
        } else {
          set(stage.id, {
            status: "STAGE_FAILED",
            completedAt: now(),
            message: st.attempt > 1 ? `failed after ${st.attempt} attempts` : "failed",
            errorMessage: why,
          });
        }
      }
    }

    if (changed.length > 0) {
      await store.save(run.state);
      for (const id of new Set(changed)) run.emit(id);
      // A transition may unblock or skip other stages: look again.
      this.#again.add(run.id);
    }
    if (run.finished) {
      this.#log.info("pipeline finished", { pipeline: run.id });
      run.finish();
    } else if (nextWake !== Infinity) {
      run.wakeAt(nextWake, () => this.#evaluate(run));
    }
  }

  async #startAttempt(run: PipelineRun, stage: CompiledStage, attempt: number): Promise<void> {
    const st = run.state.stages[stage.id];
    const task = attemptTaskId(run.id, stage.id, attempt);
    Object.assign(
      st,
      {
        status: "STAGE_RUNNING",
        attempt,
        retryAt: undefined,
        startedAt: st.startedAt ?? new Date().toISOString(),
        message: attempt > 1 ? `attempt ${attempt} of ${stage.maxAttempts} running` : "running",
        errorMessage: "",
        workers: Array.from({ length: stage.workerCount }, (_, i) => workerName(task, i + 1)),
        successful: 0,
        failed: 0,
      } satisfies Partial<StageState>,
    );
    // Recorded before any worker starts, so a restart finds the attempt and its workers by name.
    await this.#opts.store.save(run.state);
    await this.#startWorkers(run, stage, attempt);
  }

  async #startWorkers(run: PipelineRun, stage: CompiledStage, attempt: number): Promise<void> {
    const task = attemptTaskId(run.id, stage.id, attempt);
    const command = stage.argv.length > 0 ? stage.argv.map(shellQuote).join(" ") : undefined;
    // In Kubernetes mode the pipeline's ConfigMap owns its pods: deleting it cleans them up.
    const owner = this.#opts.store.ownerOf?.(run.id);
    const results = await Promise.allSettled(
      Array.from({ length: stage.workerCount }, (_, i) => {
        const index = i + 1;
        return this.#opts.runtime.start(workerSpec({
          taskId: task,
          index,
          image: stage.image ?? this.#opts.defaultImage ?? "",
          command,
          timeoutSeconds: stage.timeoutSeconds,
          owner,
          labels: {
            "ottoscaler.io/pipeline": workerLabels(run.id, 1)["ottoscaler.io/task"],
            "ottoscaler.io/stage": stage.id.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
            "ottoscaler.io/attempt": String(attempt),
          },
          env: stage.env,
          repository: run.state.repository,
          commitSha: run.state.commitSha,
          ottoEnv: {
            OTTO_PIPELINE_ID: run.id,
            OTTO_STAGE_ID: stage.id,
            OTTO_ATTEMPT: String(attempt),
          },
        }));
      }),
    );
    const failure = results.find((r) => r.status === "rejected");
    // Not the leader (any more): not this stage's failure; the new leader continues it.
    if (failure && failure.reason instanceof NotLeaderError) throw failure.reason;
    if (failure) {
      const st = run.state.stages[stage.id];
      Object.assign(
        st,
        {
          status: "STAGE_FAILED",
          completedAt: new Date().toISOString(),
          message: "its workers could not be started",
          errorMessage: `start failure: ${(failure as PromiseRejectedResult).reason}`,
        } satisfies Partial<StageState>,
      );
      this.#opts.onStageFinished?.(stage.type, "STAGE_FAILED");
      await this.#opts.store.save(run.state);
    }
  }
}
