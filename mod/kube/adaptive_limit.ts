/**
 * An adaptive limit on requests in flight (for pod creates): it grows while the API server's
 * latency holds and halves when the server says it is overloaded (429, 5xx) or answers slowly.
 *
 * - Latency "holds" while a request takes at most `tolerance` times the fastest of the last
 *   `window` requests (plus `slackMs`, so jitter on a very fast server is not taken as load).
 * - Growth: +1 for each request that completes in time while the limit was in use, which doubles
 *   the limit once per round trip (as TCP's slow start) until `max`.
 * - Back-off: halve on an overload (not below `min`) or on a slow answer (not below `initial`: a
 *   latency that is only noisy, on a busy machine, must not make it slower than a fixed limit
 *   would be), then neither grow nor halve again until as many requests as were in flight have
 *   completed, so one burst halves once.
 *
 * @module
 */

import { isRetryable } from "./errors.ts";

/** Options for {@linkcode AdaptiveLimit}. */
export interface AdaptiveLimitOptions {
  /** The limit to start with. */
  readonly initial: number;
  /** The lowest limit; default 1. */
  readonly min?: number;
  /** The highest limit; default 16 times `initial`. */
  readonly max?: number;
  /** A request is slow above this multiple of the recent fastest; default 2. */
  readonly tolerance?: number;
  /** Added to the slow threshold; default 20 ms. */
  readonly slackMs?: number;
  /** How many recent requests the fastest is taken from; default 256. */
  readonly window?: number;
}

/** How a request went, for {@linkcode AdaptiveLimit.run}. */
export interface LimitReport {
  /** An answer came after `ms` milliseconds. */
  done(ms: number): void;
  /** The server said it is overloaded (429, 5xx) or could not be reached. */
  overloaded(): void;
}

/**
 * Wraps a request so each attempt reports to `report`: its latency when answered (an error
 * answer included, unless it is an overload, which is reported as such).
 */
export function timed<T>(report: LimitReport, request: () => Promise<T>): () => Promise<T> {
  return async () => {
    const start = performance.now();
    try {
      const result = await request();
      report.done(performance.now() - start);
      return result;
    } catch (err) {
      if (isRetryable(err)) report.overloaded();
      else report.done(performance.now() - start);
      throw err;
    }
  };
}

/** Limits concurrent work to a limit that adapts; see the module doc. */
export class AdaptiveLimit {
  readonly #min: number;
  readonly #initial: number;
  readonly #max: number;
  readonly #tolerance: number;
  readonly #slackMs: number;
  readonly #latencies: number[] = [];
  readonly #window: number;
  readonly #queue: (() => void)[] = [];
  #limit: number;
  #inFlight = 0;
  /** Completions to ignore back-off signals for, after a back-off. */
  #cooldown = 0;

  /** Creates a limit; see {@linkcode AdaptiveLimitOptions}. */
  constructor(options: AdaptiveLimitOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max ?? options.initial * 16);
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial));
    this.#initial = this.#limit;
    this.#tolerance = options.tolerance ?? 2;
    this.#slackMs = options.slackMs ?? 20;
    this.#window = options.window ?? 256;
  }

  /** The current limit. */
  get limit(): number {
    return Math.floor(this.#limit);
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs `fn` once a slot is free. `fn` reports how its request went through the callbacks it
   * gets: `done(ms)` for an answer after `ms`, `overloaded()` for a 429/5xx (it may retry and
   * report again). The slot is freed when `fn` settles.
   */
  async run<T>(fn: (report: LimitReport) => Promise<T>): Promise<T> {
    // A slot is counted when it is given: at once, or by #admit when it wakes a waiter.
    if (this.#inFlight < this.limit && this.#queue.length === 0) this.#inFlight++;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      return await fn({
        done: (ms) => this.#done(ms),
        overloaded: () => this.#backOff(this.#min),
      });
    } finally {
      this.#inFlight--;
      this.#admit();
    }
  }

  #admit(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.limit) {
      this.#inFlight++;
      this.#queue.shift()!();
    }
  }

  #done(ms: number): void {
    this.#latencies.push(ms);
    if (this.#latencies.length > this.#window) this.#latencies.shift();
    const fastest = Math.min(...this.#latencies);
    if (this.#cooldown > 0) {
      // Requests sent before the last back-off say nothing about the new limit.
      this.#cooldown--;
      return;
    }
    if (ms > fastest * this.#tolerance + this.#slackMs) {
      if (this.#limit > this.#initial) this.#backOff(this.#initial);
    } else if (this.#inFlight >= this.limit - 1 && this.#limit < this.#max) {
      this.#limit = Math.min(this.#max, this.#limit + 1);
      this.#admit();
    }
  }

  /** Halves the limit, not below `floor`. */
  #backOff(floor: number): void {
    if (this.#cooldown > 0) return;
    this.#limit = Math.max(floor, Math.floor(this.#limit / 2));
    this.#cooldown = Math.max(1, this.#inFlight);
  }
}
