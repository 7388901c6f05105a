/**
 * The benchmark's independent observer: one watch on a namespace, opened before the first request
 * of a measurement, noting per pod when it was first seen and when it first ran. A pod counts as
 * running at the first event whose `status.phase` is Running, Succeeded or Failed (a pod may pass
 * Running between two events).
 *
 * @module
 */

import type { BenchKube, PodEvent } from "./kube_client.ts";

const RAN = new Set(["Running", "Succeeded", "Failed"]);

/** The current time in ms (performance.now: the clock every figure of the benchmark uses). */
export const now = (): number => performance.now();

/** The observer; see the module doc. */
export class RunWatch {
  /** When each pod was first seen (ADDED), by name. */
  readonly seenAt = new Map<string, number>();
  /** When each pod was first seen running, by name. */
  readonly runningAt = new Map<string, number>();
  /** Events received. */
  events = 0;
  readonly #waiters = new Set<() => void>();
  #done: Promise<void> = Promise.resolve();
  #close: () => void = () => {};

  private constructor() {}

  /** Opens the watch on `namespace`; resolves once it is established. */
  static async open(kube: BenchKube, namespace: string): Promise<RunWatch> {
    const watch = new RunWatch();
    const { done, close } = await kube.watchPods(namespace, (e) => watch.#take(e));
    watch.#close = close;
    watch.#done = done.catch((err) => console.error(`the benchmark's watch failed: ${err}`));
    return watch;
  }

  #take(event: PodEvent): void {
    const t = now();
    this.events++;
    const name = event.object.metadata?.name;
    if (!name || (event.type !== "ADDED" && event.type !== "MODIFIED")) return;
    if (!this.seenAt.has(name)) this.seenAt.set(name, t);
    const phase = event.object.status?.phase ?? "";
    if (RAN.has(phase) && !this.runningAt.has(name)) {
      this.runningAt.set(name, t);
      for (const wake of this.#waiters) wake();
    }
  }

  /** Resolves with true once `count` pods ran, or false when `timeoutMs` passed first. */
  waitRunning(count: number, timeoutMs: number): Promise<boolean> {
    if (this.runningAt.size >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.runningAt.size >= count) finish(true);
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

  /** Closes the watch (waiting at most a second for its stream to wind down). */
  async close(): Promise<void> {
    this.#close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#done, new Promise((r) => timer = setTimeout(r, 1000))]);
    clearTimeout(timer);
  }
}
