/**
 * One pipeline being run ({@linkcode PipelineRun}): its stored state, the listeners of its
 * progress, and the timer of its next re-evaluation; and the progress record streams send.
 *
 * @module
 */

import { Channel } from "../async/channel.ts";
import type { StageType } from "./compile.ts";
import { isFinalStage, type PipelineState, type StageState } from "./state.ts";

/** One stage transition, as progress streams report it. */
export interface StageProgress {
  readonly pipelineId: string;
  readonly stageId: string;
  /** The stage's type. */
  readonly stageType: StageType;
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

/** One pipeline being run: its state, its listeners and its retry/approval timer. */
export class PipelineRun {
  readonly state: PipelineState;
  readonly #listeners = new Set<(progress: StageProgress) => void>();
  readonly #finished = Promise.withResolvers<void>();
  #timer?: ReturnType<typeof setTimeout>;
  #ended = false;

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
      stageType: stage.type,
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

  /** Marks the pipeline finished; true the first time only. */
  finish(): boolean {
    clearTimeout(this.#timer);
    if (this.#ended) return false;
    this.#ended = true;
    this.#finished.resolve();
    return true;
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

/**
 * Follows a run: subscribes to its transitions at once (so a snapshot taken after this call
 * misses none) and yields them until the run is finished or `signal` aborts. Disposing it (a
 * `using` binding) unsubscribes, however the consumer stops.
 */
export function followTransitions(
  run: PipelineRun,
  signal: AbortSignal,
): AsyncIterable<StageProgress> & Disposable {
  // Unbounded: the run's listener cannot wait. Transitions are bounded by stages x attempts x 3.
  const live = Channel.unbounded<StageProgress>();
  const unsubscribe = run.subscribe((p) => live.send(p));
  const stop = () => live.close();
  signal.addEventListener("abort", stop, { once: true });
  run.done.then(stop);
  return {
    [Symbol.asyncIterator]: () => live[Symbol.asyncIterator](),
    [Symbol.dispose]: () => {
      unsubscribe();
      signal.removeEventListener("abort", stop);
    },
  };
}
