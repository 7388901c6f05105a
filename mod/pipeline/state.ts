/**
 * A pipeline's state: the compiled definition and each stage's status, as stored so a restarted
 * Ottoscaler continues the pipeline (completed stages are not re-run) and a re-attaching client
 * sees where it stands.
 *
 * @module
 */

import type { CompiledPipeline } from "./compile.ts";
import { readJson, writeJsonAtomic } from "../storage/json_file.ts";
import type { AdmissionTicket, WorkerOwner } from "../worker/types.ts";

/** The states of a stage (the wire's StageStatus). */
export type StageStatus =
  | "STAGE_PENDING"
  | "STAGE_RUNNING"
  | "STAGE_COMPLETED"
  | "STAGE_FAILED"
  | "STAGE_CANCELLED"
  | "STAGE_SKIPPED"
  | "STAGE_RETRYING";

/** Whether a stage status is final. */
export function isFinalStage(status: StageStatus): boolean {
  return ["STAGE_COMPLETED", "STAGE_FAILED", "STAGE_CANCELLED", "STAGE_SKIPPED"].includes(status);
}

/** One stage's state. */
export interface StageState {
  /** Its status. */
  status: StageStatus;
  /** The current (or last) attempt, from 1; 0 before the first. */
  attempt: number;
  /** When the first attempt started, RFC 3339. */
  startedAt?: string;
  /** When it reached a final status, RFC 3339. */
  completedAt?: string;
  /** When the next attempt may start (STAGE_RETRYING), epoch ms. */
  retryAt?: number;
  /** A readable account of the last transition. */
  message: string;
  /** Why it failed, was skipped or cancelled. */
  errorMessage: string;
  /** The current attempt's workers. */
  workers: string[];
  /** Workers of the current attempt that succeeded / failed. */
  successful: number;
  failed: number;
}

/** A pipeline's whole state. */
export interface PipelineState {
  /** The definition it runs. */
  readonly definition: CompiledPipeline;
  /** Who started it, and what for. */
  readonly repository: string;
  readonly commitSha: string;
  /** When it was started, RFC 3339. */
  readonly createdAt: string;
  /** Its place when its stages wait for room: tenant and priority (absent: `default`, 0). */
  readonly admission?: AdmissionTicket;
  /** Set by CancelPipeline. */
  cancelled: boolean;
  /** Per stage id. */
  readonly stages: Record<string, StageState>;
}

/** Where pipeline state lives (files locally; the cluster in Kubernetes mode). */
export interface PipelineStore {
  /** Every stored pipeline. */
  loadAll(): Promise<PipelineState[]>;
  /** Stores a pipeline's state, replacing the previous one. */
  save(state: PipelineState): Promise<void>;
  /**
   * The object a pipeline's workers belong to (so deleting the pipeline's record deletes its
   * workers), once the pipeline was saved or loaded; undefined before, or for stores whose
   * records own nothing (files).
   */
  ownerOf?(pipelineId: string): WorkerOwner | undefined;
}

/** A {@linkcode PipelineStore} with one JSON file per pipeline in a directory. */
export class FilePipelineStore implements PipelineStore {
  readonly #dir: string;
  readonly #writes = new Map<string, Promise<void>>();

  /** Creates the store over `dir` (created on first save). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(id: string): string {
    return `${this.#dir}/${encodeURIComponent(id)}.json`;
  }

  /** See {@linkcode PipelineStore.loadAll}. */
  async loadAll(): Promise<PipelineState[]> {
    const out: PipelineState[] = [];
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        const state = await readJson<PipelineState>(`${this.#dir}/${entry.name}`);
        if (state) out.push(state);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out;
  }

  /** See {@linkcode PipelineStore.save}. Saves of one pipeline are applied in order. */
  save(state: PipelineState): Promise<void> {
    const id = state.definition.id;
    const snapshot = structuredClone(state);
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      await Deno.mkdir(this.#dir, { recursive: true });
      await writeJsonAtomic(this.#path(id), snapshot);
    });
    this.#writes.set(id, next);
    return next;
  }
}
