/**
 * How far push delivery got, per worker: the highest log sequence otto-handler acknowledged and
 * how many of the worker's state changes it received. Kept on disk so a restarted Ottoscaler
 * resumes after the last acknowledged line instead of starting over (or skipping ahead).
 *
 * Writes are batched: a crash may lose the last fraction of a second of progress, which only
 * means those lines are sent again, as the same (worker_id, sequence).
 *
 * @module
 */

import { readJson, writeJsonAtomic } from "../storage/json_file.ts";

/** Delivery progress of one worker. */
export interface DeliveryState {
  /** Every log line up to this sequence was acknowledged. */
  readonly logsAcked: number;
  /** The ordinal of the last state change received (CREATED 1, RUNNING 2, the end 3). */
  readonly eventsAcked: number;
  /** Set once everything the worker will ever produce was delivered. */
  readonly complete?: boolean;
}

/** Where delivery progress lives. */
export interface DeliveryStore {
  /** The progress of a worker (zeros if none). */
  get(workerId: string): DeliveryState;
  /** Records progress; persisted soon after. Progress never moves backwards. */
  update(workerId: string, patch: Partial<DeliveryState>): void;
  /** Persists everything recorded so far. */
  flush(): Promise<void>;
}

const EMPTY: DeliveryState = { logsAcked: 0, eventsAcked: 0 };

/** A {@linkcode DeliveryStore} in one JSON file. */
export class FileDeliveryStore implements DeliveryStore {
  readonly #path: string;
  readonly #states: Map<string, DeliveryState>;
  #timer?: ReturnType<typeof setTimeout>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, states: Map<string, DeliveryState>) {
    this.#path = path;
    this.#states = states;
  }

  /** Opens the store at `path`, creating it when missing. */
  static async open(path: string): Promise<FileDeliveryStore> {
    const saved = await readJson<Record<string, DeliveryState>>(path) ?? {};
    return new FileDeliveryStore(path, new Map(Object.entries(saved)));
  }

  /** See {@linkcode DeliveryStore.get}. */
  get(workerId: string): DeliveryState {
    return this.#states.get(workerId) ?? EMPTY;
  }

  /** See {@linkcode DeliveryStore.update}. */
  update(workerId: string, patch: Partial<DeliveryState>): void {
    const current = this.get(workerId);
    this.#states.set(workerId, {
      logsAcked: Math.max(current.logsAcked, patch.logsAcked ?? 0),
      eventsAcked: Math.max(current.eventsAcked, patch.eventsAcked ?? 0),
      complete: current.complete || patch.complete || undefined,
    });
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(() => {});
    }, 100);
  }

  /** See {@linkcode DeliveryStore.flush}. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const snapshot = Object.fromEntries(this.#states);
    this.#writing = this.#writing.catch(() => {}).then(() => writeJsonAtomic(this.#path, snapshot));
    return this.#writing;
  }
}
