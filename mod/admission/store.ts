/**
 * Where the admission line is kept, so it survives a restart of Ottoscaler: one record per
 * waiting entry (a worker or a gang), and the workers that ended while they waited (stopped, or
 * timed out) so they are reported as failed ever after. {@linkcode FileAdmissionStore} keeps them
 * in one file under STATE_DIR (local runtime); the Kubernetes runtime keeps one ConfigMap per
 * record (`mod/admission/configmap_store.ts`).
 *
 * @module
 */

import { readJson, writeJsonAtomic } from "../storage/json_file.ts";
import type { EndReason, WorkerSpec } from "../worker/types.ts";

/** A worker that ended while it waited: it was never started. */
export interface EndedWhileWaiting {
  /** The worker's spec (id, task, index, labels). */
  readonly spec: WorkerSpec;
  /** When it was put in line, RFC 3339. */
  readonly queuedAt: string;
  /** When it ended, RFC 3339. */
  readonly finishedAt: string;
  /** `Stopped` (ScaleDown, a cancel, a stage timeout) or `QuotaExceeded`. */
  readonly reason: EndReason;
  /** The explanation. */
  readonly message: string;
}

/** One entry of the line as stored. */
export interface QueueRecord {
  /** The entry's key: the worker id, or `gang:<first worker id>` for a gang. */
  readonly key: string;
  /** The tenant. */
  readonly tenant: string;
  /** Its priority within the tenant. */
  readonly priority: number;
  /** Its arrival order. */
  readonly seq: number;
  /** When it was put in line, RFC 3339. */
  readonly queuedAt: string;
  /** Whether its workers go together (a gang) or each on its own. */
  readonly gang: boolean;
  /** The workers still waiting (empty once admitted or ended). */
  readonly specs: readonly WorkerSpec[];
  /** The workers of the entry that ended while they waited. */
  readonly ended: readonly EndedWhileWaiting[];
}

/** Keeps the line; see the module doc. Calls for one key are made in order. */
export interface AdmissionStore {
  /** Every record. */
  load(): Promise<QueueRecord[]>;
  /** Creates or replaces a record. */
  put(record: QueueRecord): Promise<void>;
  /** Removes a record (does nothing if it is not there). */
  delete(key: string): Promise<void>;
}

/**
 * The line in one JSON file, replaced atomically on each change. Changes made while a write is
 * on its way are written together by the next one; each call resolves once its change is on disk.
 */
export class FileAdmissionStore implements AdmissionStore {
  readonly #path: string;
  readonly #records = new Map<string, QueueRecord>();
  #writing: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;

  /** A store in file `path` (its directory must exist). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Every record in the file. */
  async load(): Promise<QueueRecord[]> {
    const saved = await readJson<{ records: QueueRecord[] }>(this.#path);
    this.#records.clear();
    for (const record of saved?.records ?? []) this.#records.set(record.key, record);
    return [...this.#records.values()];
  }

  /** Creates or replaces a record; resolves once it is on disk. */
  put(record: QueueRecord): Promise<void> {
    this.#records.set(record.key, record);
    return this.#flush();
  }

  /** Removes a record; resolves once the removal is on disk. */
  delete(key: string): Promise<void> {
    if (!this.#records.delete(key)) return this.#writing;
    return this.#flush();
  }

  #flush(): Promise<void> {
    // One write at a time; every change made meanwhile rides on the one write after it.
    this.#next ??= this.#writing.catch(() => {}).then(() => {
      this.#next = undefined;
      return writeJsonAtomic(this.#path, { records: [...this.#records.values()] });
    });
    this.#writing = this.#next;
    return this.#next;
  }
}
