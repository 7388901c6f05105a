/**
 * One watch-fed cache of the worker pods: list once, then watch from the list's resourceVersion,
 * and relist when the server says that version expired (410 Gone). Never polls.
 *
 * ```
 * list ──▶ map ◀── watch(rv) ◀── ADDED / MODIFIED / DELETED / BOOKMARK
 *   ▲                 │ stream ended: watch again from the last rv
 *   └── 410 Gone ◀────┘ network error: back off, then watch again
 * ```
 *
 * A watch that goes silent past a deadline (a half-open connection) is cut and restarted: 75 s,
 * as the API server sends a bookmark about every minute, so a healthy watch is never silent that
 * long (and cutting one that is costs only a new watch from the same version). Sooner, a watch
 * is cut and resumed when another request found the API server unreachable
 * ({@linkcode PodCache.resumeWatch}): a watch whose API server was killed can stay open with no
 * error at all (seen on Deno with a restarted kube-apiserver), and would miss every change until
 * the deadline.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import { backoffDelay, sleep } from "../async/backoff.ts";
import type { KubeApi, PodObject, WatchEvent } from "./api.ts";
import { isGone, KubeApiError } from "./errors.ts";

/** What happened to a pod. */
export type PodChange = "upsert" | "delete";

/** Called for every change of a pod, in the order the server sent them. */
export type PodListener = (pod: PodObject, change: PodChange) => void;

/** Options for {@linkcode PodCache}. */
export interface PodCacheOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace watched. */
  readonly namespace: string;
  /** The label selector (e.g. `managed-by=ottoscaler`). */
  readonly labelSelector: string;
  /** Where to log. */
  readonly logger: Logger;
  /** Seconds after which the server ends each watch (it is then resumed); default 240. */
  readonly watchTimeoutSeconds?: number;
  /** Called each time a watch ended and is opened again (for a metric). */
  readonly onWatchRestart?: () => void;
}

const RETRY = { initialMs: 200, maxMs: 10_000 };
/** The longest a watch may stay silent (the API server bookmarks about every 60 s). */
const SILENCE_LIMIT_SECONDS = 75;

/** The watch-fed cache of pods; see the module doc. */
export class PodCache {
  readonly #options: PodCacheOptions;
  readonly #pods = new Map<string, PodObject>();
  readonly #listeners = new Set<PodListener>();
  readonly #abort = new AbortController();
  #resourceVersion = "";
  #loop: Promise<void> | undefined;
  #synced = false;
  #problem: string | undefined;
  /** The open watch request, to cut it ({@linkcode PodCache.resumeWatch}). */
  #request: AbortController | undefined;
  /** Counts lists done; a test reads it to see a relist happened. */
  lists = 0;

  /** Creates the cache; call {@linkcode start} to fill it. */
  constructor(options: PodCacheOptions) {
    this.#options = options;
  }

  #path(): string {
    return `/api/v1/namespaces/${this.#options.namespace}/pods`;
  }

  /** Lists the pods and starts watching; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    await this.#relist();
    this.#loop = this.#watchLoop();
  }

  /**
   * Why the cache cannot be trusted now (not listed yet, or its watch failing), or undefined when
   * it is synced and following: for readiness.
   */
  get problem(): string | undefined {
    if (!this.#synced) return "the pod cache has not synced (first list pending)";
    return this.#problem;
  }

  /** The pod named `name`, if the cache has it. */
  get(name: string): PodObject | undefined {
    return this.#pods.get(name);
  }

  /** Every cached pod. */
  all(): PodObject[] {
    return [...this.#pods.values()];
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: PodListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Puts a pod the runtime just wrote (a create's or patch's answer) into the cache, unless the
   * cache already holds a newer version; the watch event that follows then changes nothing.
   */
  observe(pod: PodObject): void {
    this.#apply(pod, "upsert");
  }

  /**
   * Cuts the open watch, which is then opened again from the last resourceVersion (after a
   * backoff while the server cannot be reached): for when another request found the API server
   * unreachable, so the watch's connection may be dead without knowing it.
   */
  resumeWatch(): void {
    if (!this.#request || this.#request.signal.aborted) return;
    this.#options.logger.debug("pod watch cut: the API server was found unreachable");
    this.#request.abort();
  }

  /** Stops watching; safe to call more than once, or before {@linkcode PodCache.start}. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  #apply(pod: PodObject, change: PodChange): void {
    const name = pod.metadata.name;
    const known = this.#pods.get(name);
    if (change === "upsert") {
      if (known && known.metadata.uid === pod.metadata.uid && !newer(pod, known)) return;
      this.#pods.set(name, pod);
    } else {
      if (!known || known.metadata.uid !== pod.metadata.uid) return;
      this.#pods.delete(name);
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(pod, change);
      } catch (err) {
        this.#options.logger.error("pod listener failed", { error: String(err) });
      }
    }
  }

  async #relist(): Promise<void> {
    const { items, resourceVersion } = await this.#options.api.list<PodObject>(
      this.#path(),
      { labelSelector: this.#options.labelSelector },
      this.#abort.signal,
    );
    this.lists++;
    const seen = new Set<string>();
    for (const pod of items) {
      seen.add(pod.metadata.name);
      this.#apply(pod, "upsert");
    }
    for (const [name, pod] of [...this.#pods]) {
      if (!seen.has(name)) this.#apply(pod, "delete");
    }
    this.#resourceVersion = resourceVersion;
    this.#synced = true;
    this.#problem = undefined;
  }

  async #watchLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.#watchOnce();
        failures = 0;
        this.#problem = undefined;
      } catch (err) {
        if (signal.aborted) break;
        this.#problem = `the pod watch failed: ${(err as Error).message ?? err}`;
        if (isGone(err)) {
          this.#options.logger.info("pod watch expired; relisting");
          await this.#relistUntilDone();
          continue;
        }
        this.#options.logger.warn("pod watch failed; resuming", { error: String(err) });
        await sleep(backoffDelay(++failures, RETRY), signal);
      }
      if (!signal.aborted) this.#options.onWatchRestart?.();
    }
  }

  async #relistUntilDone(): Promise<void> {
    const signal = this.#abort.signal;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.#relist();
        return;
      } catch (err) {
        this.#options.logger.warn("pod relist failed", { error: String(err) });
        await sleep(backoffDelay(attempt, RETRY), signal);
      }
    }
  }

  /** One watch request, from the last resourceVersion, until the server ends it. */
  async #watchOnce(): Promise<void> {
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? 240;
    const request = new AbortController();
    this.#request = request;
    const onStop = () => request.abort();
    this.#abort.signal.addEventListener("abort", onStop);
    // Cut a watch that stays silent past the bookmarks' period (or the server's own timeout): a
    // dead connection.
    const silenceMs = Math.min(timeoutSeconds + 30, SILENCE_LIMIT_SECONDS) * 1000;
    let silence = setTimeout(() => request.abort(), silenceMs);
    try {
      await this.#options.api.watch<PodObject>(
        this.#path(),
        {
          labelSelector: this.#options.labelSelector,
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: "true",
          timeoutSeconds: String(timeoutSeconds),
        },
        (event) => {
          this.#problem = undefined;
          clearTimeout(silence);
          silence = setTimeout(() => request.abort(), silenceMs);
          this.#onEvent(event);
        },
        request.signal,
      );
    } finally {
      if (this.#request === request) this.#request = undefined;
      clearTimeout(silence);
      this.#abort.signal.removeEventListener("abort", onStop);
    }
  }

  #onEvent(event: WatchEvent<PodObject>): void {
    if (event.type === "ERROR") {
      const status = event.object as unknown as {
        code?: number;
        reason?: string;
        message?: string;
      };
      throw new KubeApiError(
        status.code ?? 500,
        status.reason ?? "Error",
        `pod watch: ${status.message ?? "error event"}`,
      );
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (event.type === "BOOKMARK") return;
    this.#apply(event.object, event.type === "DELETED" ? "delete" : "upsert");
  }
}

/** Whether `a` is a later version of the same object than `b` (resourceVersions are numbers). */
function newer(a: PodObject, b: PodObject): boolean {
  const ra = Number(a.metadata.resourceVersion ?? 0);
  const rb = Number(b.metadata.resourceVersion ?? 0);
  return ra > rb;
}
