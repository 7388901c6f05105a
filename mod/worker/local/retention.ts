/**
 * Retention on the local runtime: a worker that has ended, and whose output and state changes
 * were delivered (push mode; in pull mode, at its end), is removed `retentionMs` after it ended:
 * its directory goes, the runtime forgets it, and `onRemoved` tells the others (push delivery
 * forgets its progress), so a long-running `serve` does not fill the disk.
 *
 * A directory is first renamed into `<stateDir>/trash/`, then removed: a crash halfway through a
 * removal leaves a half-removed directory only in the trash (emptied at the next open), never a
 * worker whose `state.json` is gone but whose `spec.json` remains, which would be started again.
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import { isTerminal } from "../types.ts";
import type { TrackedWorker } from "./worker_dir.ts";

/** Options for {@linkcode WorkerReaper.start}. */
export interface ReaperOptions {
  /** The runtime's state directory (the trash is made in it). */
  readonly stateDir: string;
  /** The runtime's workers, by id: removed ones are deleted from it. */
  readonly workers: Map<string, TrackedWorker>;
  /** How long an ended and delivered worker is kept. */
  readonly retentionMs: number;
  /** Whether a worker's output and state changes were delivered; default: always. */
  readonly isDelivered?: (workerId: string) => boolean;
  /** Called after a worker was removed. */
  readonly onRemoved?: (workerId: string) => void;
  /** The logger. */
  readonly logger: Logger;
}

/** The trash directory under a state directory. */
export function trashDir(stateDir: string): string {
  return `${stateDir}/trash`;
}

/** Empties the trash left by an interrupted removal. */
export async function emptyTrash(stateDir: string): Promise<void> {
  await Deno.remove(trashDir(stateDir), { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** Removes ended, delivered workers after their retention; see the module doc. */
export class WorkerReaper {
  readonly #o: ReaperOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #sweeping: Promise<unknown> = Promise.resolve();
  #closed = false;
  #serial = 0;

  private constructor(options: ReaperOptions) {
    this.#o = options;
    // Often enough that a worker outlives its retention by at most half of it (at most a minute).
    const everyMs = Math.max(200, Math.min(options.retentionMs / 2, 60_000));
    this.#timer = setInterval(() => {
      this.#sweeping = this.#sweeping.then(() => this.sweep());
    }, everyMs);
  }

  /** Starts sweeping on a timer; {@linkcode close} stops it. */
  static start(options: ReaperOptions): WorkerReaper {
    return new WorkerReaper(options);
  }

  /** Removes every worker due now; resolves with their ids. */
  async sweep(now = Date.now()): Promise<string[]> {
    const delivered = this.#o.isDelivered ?? (() => true);
    const due = [...this.#o.workers.values()].filter((w) => {
      if (!isTerminal(w.record.phase)) return false;
      const ended = Date.parse(w.record.finishedAt ?? w.record.createdAt);
      return now - ended >= this.#o.retentionMs && delivered(w.spec.id);
    });
    const removed: string[] = [];
    for (const worker of due) {
      if (this.#closed) break;
      try {
        await this.#remove(worker);
        removed.push(worker.spec.id);
      } catch (err) {
        this.#o.logger.warn("could not remove an expired worker", { worker: worker.spec.id, err });
      }
    }
    return removed;
  }

  async #remove(worker: TrackedWorker): Promise<void> {
    const id = worker.spec.id;
    const trash = trashDir(this.#o.stateDir);
    await Deno.mkdir(trash, { recursive: true });
    const target = `${trash}/${id}.${Date.now()}.${++this.#serial}`;
    // Renamed first: from here on the worker is gone from disk, whatever happens next.
    await Deno.rename(worker.dir, target);
    if (this.#o.workers.get(id) === worker) this.#o.workers.delete(id);
    this.#o.logger.debug("removed an expired worker", { worker: id });
    try {
      this.#o.onRemoved?.(id);
    } catch (err) {
      this.#o.logger.error("onRemoved threw", { worker: id, err });
    }
    await Deno.remove(target, { recursive: true });
  }

  /** Stops sweeping and waits for a sweep in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sweeping.catch(() => {});
  }
}
