/**
 * An adaptive limit on requests in flight (for pod creates): it grows while the API server's
 * throughput grows with it and halves when the server says it is overloaded (429, 5xx) or slows
 * down.
 *
 * The server's throughput at a limit is read off the answers, with no clock: while the limit is
 * full, `limit` requests are in flight, so by Little's law the server completes `limit / mean
 * latency` of them per millisecond. A "round" is `limit` answers to requests sent at the current
 * limit while it was full (one round trip's worth).
 *
 * - Growth (as TCP's slow start, and BBR's start-up): the limit doubles after each round whose
 *   throughput is at least `gain` (1.1) times the best seen, until `max`. An API server on a few
 *   cores is busy long before its throughput stops growing (etcd batches its writes), so latency
 *   alone, which grows from the first request queued, would keep the limit too low.
 * - Plateau: after `patience` (2) rounds in a row without that gain, it stops growing and stays
 *   where it is. It does not go back to the limit with the best throughput: on a shared machine a
 *   round's throughput is noisy, a limit one doubling too low costs throughput, and one too high
 *   only waits in the server's queue (which the server bounds itself, with 429s).
 * - Back-off: halve on an overload (429, 5xx, unreachable; not below `min`), and after `patience`
 *   rounds in a row whose throughput fell below half the best (not below `initial`: on a busy
 *   machine answers are only noisy, and must not make it slower than a fixed limit would be); then probe upwards
 *   again from there, but only up to 3/4 of the lowest limit the server was overloaded at (or
 *   `initial`, if more), so repeated overloads converge below the server's own limit. Answers
 *   to requests sent before a back-off are ignored, so one burst halves it once.
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
  /** Keep doubling while a round's throughput is at least this multiple of the best; 1.1. */
  readonly gain?: number;
  /** Rounds in a row without that gain before the limit settles; default 2. */
  readonly patience?: number;
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
  /** The most it grows to: `max`, or 3/4 of the lowest limit an overload was seen at. */
  #ceiling: number;
  readonly #gain: number;
  readonly #patience: number;
  readonly #queue: (() => void)[] = [];
  #limit: number;
  #inFlight = 0;
  /** Bumped on every change of the limit: answers to older requests say nothing of the new. */
  #generation = 0;
  /** The generation of the last back-off: overloads of requests sent before it are ignored. */
  #backedOffAt = -1;
  /** Doubling after each round with enough gain (else settled). */
  #growing = true;
  /** Rounds in a row without gain, while growing. */
  #flat = 0;
  /** Rounds in a row below half the best throughput. */
  #slow = 0;
  /** The best throughput seen (requests per ms) and the limit it was seen at. */
  #best: { rate: number; limit: number } | undefined;
  /** The answers of the round so far, and their summed latency. */
  #roundCount = 0;
  #roundMs = 0;

  /** Creates a limit; see {@linkcode AdaptiveLimitOptions}. */
  constructor(options: AdaptiveLimitOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max ?? options.initial * 16);
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial));
    this.#initial = this.#limit;
    this.#ceiling = this.#max;
    this.#gain = options.gain ?? 1.1;
    this.#patience = Math.max(1, options.patience ?? 2);
  }

  /** The current limit. */
  get limit(): number {
    return this.#limit;
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
    if (this.#inFlight < this.#limit && this.#queue.length === 0) this.#inFlight++;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    const generation = this.#generation;
    try {
      return await fn({
        done: (ms) => this.#done(ms, generation),
        overloaded: () => {
          if (generation <= this.#backedOffAt) return;
          const below = Math.floor(this.#limit * 3 / 4);
          this.#ceiling = Math.min(this.#ceiling, Math.max(this.#initial, below));
          this.#backOff(this.#min);
        },
      });
    } finally {
      this.#inFlight--;
      this.#admit();
    }
  }

  #admit(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#limit) {
      this.#inFlight++;
      this.#queue.shift()!();
    }
  }

  #done(ms: number, generation: number): void {
    // Only answers to requests sent at this limit, while it was full, tell what it yields.
    const full = this.#queue.length > 0 || this.#inFlight >= this.#limit;
    if (generation !== this.#generation || !full) return;
    this.#roundCount++;
    this.#roundMs += Math.max(ms, 0.001);
    if (this.#roundCount < this.#limit) return;
    const rate = this.#limit / (this.#roundMs / this.#roundCount);
    this.#roundCount = 0;
    this.#roundMs = 0;
    const best = this.#best;
    if (best === undefined || rate >= best.rate / 2) this.#slow = 0;
    if (best === undefined || rate >= best.rate * this.#gain) {
      this.#best = { rate, limit: this.#limit };
      this.#flat = 0;
      if (this.#growing) this.#set(Math.min(this.#ceiling, this.#limit * 2));
    } else if (rate < best.rate / 2) {
      if (++this.#slow >= this.#patience) this.#backOff(this.#initial);
      return;
    } else {
      if (rate > best.rate) this.#best = { rate, limit: this.#limit };
      if (this.#growing && ++this.#flat >= this.#patience) this.#growing = false;
    }
  }

  /** Halves the limit, not below `floor`, and probes upwards again from there. */
  #backOff(floor: number): void {
    this.#backedOffAt = this.#generation;
    this.#set(Math.max(Math.min(floor, this.#limit), Math.floor(this.#limit / 2)));
    this.#growing = true;
    this.#flat = 0;
    this.#slow = 0;
    this.#best = undefined;
  }

  #set(limit: number): void {
    this.#generation++;
    this.#roundCount = 0;
    this.#roundMs = 0;
    if (limit === this.#limit) return;
    this.#limit = limit;
    this.#admit();
  }
}
