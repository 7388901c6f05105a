/**
 * The benchmark's independent observer: one watch on a namespace, opened before the first request
 * of a measurement, noting per pod when it was first seen and when it first ran. A pod counts as
 * running at the first event whose `status.phase` is Running, Succeeded or Failed (a pod may pass
 * Running between two events).
 *
 * The watch is kept whole the way Ottoscaler's own cache keeps its own (mod/kube/cache.ts): when
 * the API server ends it (a freshly started server closes watchers that fall behind during a burst
 * of creates, counted by its `apiserver_terminated_watchers_total`), it is reopened from the last
 * resourceVersion seen; when that version is gone (410), the pods are listed again and the watch
 * resumes from the list. Each cut and relist is counted and reported as a problem of the
 * benchmark: a pod first seen running in a relist is timed at the relist, later than it ran.
 *
 * @module
 */

import { sleep } from "../../mod/async/backoff.ts";
import { type BenchKube, type PodEvent, WatchGoneError } from "./kube_client.ts";

const RAN = new Set(["Running", "Succeeded", "Failed"]);
const ENDED = new Set(["Succeeded", "Failed"]);

/** The current time in ms (performance.now: the clock every figure of the benchmark uses). */
export const now = (): number => performance.now();

/** The observer; see the module doc. */
export class RunWatch {
  /** When each pod was first seen (ADDED), by name. */
  readonly seenAt = new Map<string, number>();
  /** When each pod was first seen running, by name. */
  readonly runningAt = new Map<string, number>();
  /** When each pod was first seen ended (Succeeded or Failed), by name. */
  readonly endedAt = new Map<string, number>();
  /** Events received. */
  events = 0;
  /** Times the server ended the watch and it was reopened from the last resourceVersion. */
  resumes = 0;
  /** Times the last resourceVersion was gone (410) and the pods were listed again. */
  relists = 0;
  readonly #waiters = new Set<() => void>();
  readonly #kube: BenchKube;
  readonly #namespace: string;
  #resourceVersion = "";
  #closed = false;
  #closeStream: () => void = () => {};
  #loop: Promise<void> = Promise.resolve();

  private constructor(kube: BenchKube, namespace: string) {
    this.#kube = kube;
    this.#namespace = namespace;
  }

  /** Opens the watch on `namespace`; resolves once it is established. */
  static async open(kube: BenchKube, namespace: string): Promise<RunWatch> {
    const watch = new RunWatch(kube, namespace);
    await watch.#relist();
    const first = await watch.#watch();
    watch.#loop = watch.#keep(first).catch((err) => {
      if (!watch.#closed) console.error(`the benchmark's watch failed: ${err}`);
    });
    return watch;
  }

  /** Problems of the observer itself, for the benchmark's report. */
  problems(): string[] {
    if (this.resumes === 0 && this.relists === 0) return [];
    return [
      `the benchmark's watch was ended by the API server ${this.resumes} time(s) and resumed ` +
      `from its resourceVersion, relisting ${this.relists} time(s) (pods seen running first in ` +
      `a relist are timed at the relist)`,
    ];
  }

  async #relist(): Promise<void> {
    const list = await this.#kube.listPods(this.#namespace);
    for (const object of list.items) this.#take({ type: "MODIFIED", object });
    this.#resourceVersion = list.resourceVersion;
  }

  /** Opens the watch from the last resourceVersion; `done` settles when the stream ends. */
  async #watch(): Promise<{ done: Promise<void> }> {
    const { done, close } = await this.#kube.watchPods(
      this.#namespace,
      this.#resourceVersion,
      (e) => this.#take(e),
    );
    this.#closeStream = close;
    return { done };
  }

  /**
   * Reopens the watch whenever the server ends it, until closed: from the last resourceVersion,
   * after a relist when that version is gone, after half a second when the connection failed.
   */
  async #keep(first: { done: Promise<void> }): Promise<void> {
    let stream: { done: Promise<void> } | undefined = first;
    while (!this.#closed) {
      try {
        stream ??= await this.#watch();
        await stream.done;
        stream = undefined;
        if (!this.#closed) this.resumes++;
      } catch (err) {
        if (this.#closed) return;
        stream = undefined;
        if (err instanceof WatchGoneError) {
          this.relists++;
          await this.#relist().catch(() => sleep(500));
        } else {
          this.resumes++;
          await sleep(500);
        }
      }
    }
  }

  #take(event: PodEvent): void {
    const t = now();
    this.events++;
    const version = event.object.metadata?.resourceVersion;
    if (version && event.type !== "ERROR") this.#resourceVersion = version;
    const name = event.object.metadata?.name;
    if (!name || (event.type !== "ADDED" && event.type !== "MODIFIED")) return;
    if (!this.seenAt.has(name)) this.seenAt.set(name, t);
    const phase = event.object.status?.phase ?? "";
    let changed = false;
    if (RAN.has(phase) && !this.runningAt.has(name)) {
      this.runningAt.set(name, t);
      changed = true;
    }
    if (ENDED.has(phase) && !this.endedAt.has(name)) {
      this.endedAt.set(name, t);
      changed = true;
    }
    if (changed) { for (const wake of this.#waiters) wake(); }
  }

  /** Resolves with true once `count` pods ran, or false when `timeoutMs` passed first. */
  waitRunning(count: number, timeoutMs: number): Promise<boolean> {
    return this.#waitFor(this.runningAt, count, timeoutMs);
  }

  /** Resolves with true once `count` pods ended, or false when `timeoutMs` passed first. */
  waitEnded(count: number, timeoutMs: number): Promise<boolean> {
    return this.#waitFor(this.endedAt, count, timeoutMs);
  }

  #waitFor(seen: Map<string, number>, count: number, timeoutMs: number): Promise<boolean> {
    if (seen.size >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (seen.size >= count) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** The time the last pod was first seen running. */
  lastRunning(): number {
    let last = -Infinity;
    for (const t of this.runningAt.values()) last = Math.max(last, t);
    return last;
  }

  /** The time the last pod was first seen ended. */
  lastEnded(): number {
    let last = -Infinity;
    for (const t of this.endedAt.values()) last = Math.max(last, t);
    return last;
  }

  /** Closes the watch (waiting at most a second for its stream to wind down). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closeStream();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#loop, new Promise((r) => timer = setTimeout(r, 1000))]);
    clearTimeout(timer);
  }
}
