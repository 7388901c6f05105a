/**
 * Whether the API server answered recently, for readiness: every answer of any request (any
 * status code; a 404 is an answer) counts, and when nothing was asked for a while a cheap
 * `GET /version` (readable by every authenticated user) asks, so a quiet instance still knows.
 *
 * @module
 */

import type { KubeApi } from "./api.ts";

/** Options for {@linkcode ApiContact}. */
export interface ApiContactOptions {
  /** Ask `/version` when nothing answered for this long; default 5 s. */
  readonly quietMs?: number;
  /** Not ready when nothing answered for this long; default 20 s. */
  readonly staleMs?: number;
}

/** Tracks the last answer of the API server; see the module doc. */
export class ApiContact {
  readonly #quietMs: number;
  readonly #staleMs: number;
  #lastAnswer = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates the tracker; feed it with {@linkcode answered}, start pinging with {@linkcode start}. */
  constructor(options: ApiContactOptions = {}) {
    this.#quietMs = options.quietMs ?? 5_000;
    this.#staleMs = options.staleMs ?? 20_000;
  }

  /** Records a request's outcome: `code` 0 is no answer. */
  answered(code: number): void {
    if (code !== 0) this.#lastAnswer = performance.now();
  }

  /** Pings `/version` over `api` whenever nothing answered for the quiet period. */
  start(api: KubeApi): void {
    this.#timer ??= setInterval(() => {
      if (performance.now() - this.#lastAnswer < this.#quietMs) return;
      api.get("/version").catch(() => {}); // the observer records the outcome
    }, Math.max(500, this.#quietMs / 2));
  }

  /** Why the API server does not count as reachable now, if it does not. */
  get problem(): string | undefined {
    const age = performance.now() - this.#lastAnswer;
    if (age < this.#staleMs) return undefined;
    return age === Infinity
      ? "the API server has not answered yet"
      : `the API server has not answered for ${Math.round(age / 1000)} s`;
  }

  /** Stops pinging; safe to call more than once. */
  close(): void {
    clearInterval(this.#timer);
  }
}
