/**
 * Pods that show they cannot start (Unschedulable, image errors, container config errors) are
 * given up after a grace period: the reason is written on the pod (so it survives restarts) and
 * its deadline cut to 1 s (so a late start is killed at once); the runtime then reports the
 * worker failed with that reason, and a Warning Event says so on the pod.
 *
 * On a standby (leader election) a timer that fires writes nothing: it looks again after another
 * grace period, so a standby that takes over gives such pods up in its turn.
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import type { KubeApi, PodObject } from "../../kube/api.ts";
import type { PodCache } from "../../kube/cache.ts";
import type { WorkerStatus } from "../types.ts";
import {
  FAILED_AT_ANNOTATION,
  FAILURE_MESSAGE_ANNOTATION,
  FAILURE_REASON_ANNOTATION,
  podToStatus,
  startProblem,
} from "./status.ts";

/** Options for {@linkcode StartFailures}. */
export interface StartFailuresOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the pods. */
  readonly namespace: string;
  /** The runtime's pod cache (read when a timer fires; given-up pods are put back into it). */
  readonly cache: PodCache;
  /** Where to log. */
  readonly logger: Logger;
  /** How long a pod may show a start failure. */
  readonly graceMs: number;
  /** Whether this instance may write now. */
  readonly mayWrite: () => boolean;
  /** The task of a worker, for the log. */
  readonly taskOf: (id: string) => string | undefined;
  /** Records a Warning Event on the pod. */
  readonly event: (id: string, reason: string, message: string) => void;
}

/** The grace timers of pods that show they cannot start; see the module doc. */
export class StartFailures {
  readonly #o: StartFailuresOptions;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** Creates the timers (none armed). */
  constructor(options: StartFailuresOptions) {
    this.#o = options;
  }

  /** Arms (or disarms) the grace timer of `pod`, whose state is `status`. */
  track(pod: PodObject, status: WorkerStatus): void {
    const id = pod.metadata.name;
    const problem = status.phase === "pending" ? startProblem(pod) : undefined;
    if (!problem) {
      this.clear(id);
      return;
    }
    if (this.#timers.has(id)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      const now = this.#o.cache.get(id);
      const still = now && podToStatus(now).phase === "pending" ? startProblem(now) : undefined;
      if (!now || !still) return;
      if (!this.#o.mayWrite()) {
        this.track(now, podToStatus(now)); // a standby looks again later
        return;
      }
      this.#giveUp(id, still.reason, still.message).catch((err) =>
        this.#o.logger.warn("could not mark a worker that cannot start", {
          worker: id,
          task: this.#o.taskOf(id),
          error: String(err),
        })
      );
    }, this.#o.graceMs);
    this.#timers.set(id, timer);
  }

  /** Disarms the timer of a pod, if armed. */
  clear(id: string): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
  }

  /** Disarms every timer. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Records on the pod that it will not start, and makes sure it never runs late. */
  async #giveUp(id: string, reason: string, message: string): Promise<void> {
    const task = this.#o.taskOf(id);
    this.#o.logger.warn("worker cannot start; giving up", { worker: id, task, reason, message });
    this.#o.event(id, reason, `worker cannot start; failed as ${reason}: ${message}`);
    const pod = await this.#o.api.mergePatch<PodObject>(
      `/api/v1/namespaces/${this.#o.namespace}/pods/${id}`,
      {
        metadata: {
          annotations: {
            [FAILURE_REASON_ANNOTATION]: reason,
            [FAILURE_MESSAGE_ANNOTATION]: message,
            [FAILED_AT_ANNOTATION]: new Date().toISOString(),
          },
        },
        spec: { activeDeadlineSeconds: 1 },
      },
    );
    this.#o.cache.observe(pod);
  }
}
