/**
 * A pipeline's state: the compiled definition and each stage's status, as stored so a restarted
 * Ottoscaler continues the pipeline (completed stages are not re-run) and a re-attaching client
 * sees where it stands.
 *
 * @module
 */

import type { CompiledPipeline } from "./compile.ts";
import { readJson, readJsonOrSetAside, writeJsonAtomic } from "../storage/json_file.ts";
import type { Logger } from "../telemetry/logger.ts";
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

/** When a pipeline finished (epoch ms): its last stage's end; undefined while it runs. */
function finishedTime(state: PipelineState): number | undefined {
  const stages = Object.values(state.stages ?? {});
  if (stages.length === 0 || !stages.every((s) => isFinalStage(s.status))) return undefined;
  const ends = stages.map((s) => Date.parse(s.completedAt ?? state.createdAt));
  const last = Math.max(...ends.filter((t) => Number.isFinite(t)));
  return Number.isFinite(last) ? last : undefined;
}

/** A {@linkcode PipelineStore} with one JSON file per pipeline in a directory. */
export class FilePipelineStore implements PipelineStore {
  readonly #dir: string;
  readonly #logger?: Logger;
  readonly #writes = new Map<string, Promise<void>>();

  /**
   * Creates the store over `dir` (created on first save). An unreadable file found by
   * {@linkcode loadAll} is set aside and logged to `logger`.
   */
  constructor(dir: string, logger?: Logger) {
    this.#dir = dir;
    this.#logger = logger;
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
        const path = `${this.#dir}/${entry.name}`;
        const read = await readJsonOrSetAside<PipelineState>(
          path,
          (v) => typeof (v as PipelineState)?.definition?.id === "string",
        );
        if (read.value) out.push(read.value);
        if (read.setAside) {
          this.#logger?.error("a pipeline's state is unreadable; set aside", {
            file: path,
            reason: read.setAside.reason,
            movedTo: read.setAside.path,
          });
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out;
  }

  /**
   * Removes the files of pipelines that finished (every stage final) at least `retentionMs`
   * before `now`, so a long-running `serve` does not fill the disk; resolves with their ids. A
   * file that cannot be read as a pipeline is left alone.
   */
  async prune(retentionMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(this.#dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return removed;
      throw err;
    }
    for (const entry of entries) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const path = `${this.#dir}/${entry.name}`;
      const state = await readJson<PipelineState>(path).catch(() => undefined);
      const finishedAt = state && finishedTime(state);
      if (finishedAt === undefined || now - finishedAt < retentionMs) continue;
      const id = state!.definition.id;
      // Behind a save in progress of the same pipeline, so the file is not written back.
      await this.#writes.get(id)?.catch(() => {});
      await Deno.remove(path).catch(() => {});
      this.#writes.delete(id);
      removed.push(id);
    }
    return removed;
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
