/**
 * A counting semaphore: at most `n` holders at once, the others wait in order.
 *
 * @module
 */

/** At most a fixed number of holders at once; waiters are served first come, first served. */
export class Permits {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /** Creates `n` permits (at least 1). */
  constructor(n: number) {
    this.#free = Math.max(1, Math.floor(n));
  }

  /**
   * Runs `fn` holding a permit, waiting for one first if none is free. The permit is given back
   * when `fn` settles, or earlier when `fn` calls the `release` it is passed (once is enough).
   */
  async with<T>(fn: (release: () => void) => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
    try {
      return await fn(release);
    } finally {
      release();
    }
  }
}
