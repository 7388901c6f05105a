/**
 * A change signal with a generation counter: waiters that remember the generation they last saw
 * never miss a change that happened between their last look and their wait.
 *
 * @module
 */

/** Broadcasts "something changed" to any number of waiters. */
export class Pulse {
  #generation = 0;
  #waiters = new Set<() => void>();

  /** Increments on every {@linkcode Pulse.notify}. */
  get generation(): number {
    return this.#generation;
  }

  /** Wakes every waiter. */
  notify(): void {
    this.#generation++;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Resolves at the first change after generation `since` (at once if there was one already),
   * after `ms` milliseconds, or when `signal` aborts, whichever comes first.
   */
  wait(since: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (since !== this.#generation || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
