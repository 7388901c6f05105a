/**
 * Whether the API server answered recently and can serve, for readiness: every answer of any
 * request (any status code; a 404 is an answer) counts as contact, and when nothing was asked for
 * a while a cheap `GET /version` (readable by every authenticated user) asks, so a quiet instance
 * still knows. An API server can answer and still not serve (its etcd stopped: reads from its
 * cache work, writes hang): its own `GET /readyz` (also readable by every authenticated user) is
 * asked every few seconds, and while it says no, so does {@linkcode ApiContact.problem}, with the
 * checks that fail (e.g. `[-]etcd failed`).
 *
 * @module
 */

import type { KubeApi } from "./api.ts";
import { KubeApiError } from "./errors.ts";

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
  #notReady: string | undefined;
  #asking = false;
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

  /**
   * Pings `/version` over `api` whenever nothing answered for the quiet period, and asks
   * `/readyz` at the same pace (one at a time).
   */
  start(api: KubeApi): void {
    this.#timer ??= setInterval(() => {
      if (performance.now() - this.#lastAnswer >= this.#quietMs) {
        api.get("/version").catch(() => {}); // the observer records the outcome
      }
      if (!this.#asking) {
        this.#asking = true;
        this.#askReady(api).finally(() => this.#asking = false);
      }
    }, Math.max(500, this.#quietMs / 2));
  }

  async #askReady(api: KubeApi): Promise<void> {
    try {
      const body = await api.stream("/readyz", {}, AbortSignal.timeout(10_000));
      await body.cancel(); // "ok"
      this.#notReady = undefined;
    } catch (err) {
      // No answer at all is the staleness above; an answer that is not 200 is this.
      if (!(err instanceof KubeApiError) || err.code === 0) return;
      const failing = err.statusMessage.split("\n").filter((l) => l.startsWith("[-]"));
      const named = failing.length > 3
        ? [...failing.slice(0, 3), `${failing.length - 3} more`]
        : failing;
      this.#notReady = `the API server is not ready (HTTP ${err.code})${
        named.length ? `: ${named.join(", ")}` : ""
      }`;
    }
  }

  /** Why the API server does not count as reachable now, if it does not. */
  get problem(): string | undefined {
    const age = performance.now() - this.#lastAnswer;
    if (age < this.#staleMs) return this.#notReady;
    return age === Infinity
      ? "the API server has not answered yet"
      : `the API server has not answered for ${Math.round(age / 1000)} s`;
  }

  /** Stops pinging; safe to call more than once. */
  close(): void {
    clearInterval(this.#timer);
  }
}
