/**
 * The reaper of the Kubernetes runtime: a finished pod is deleted once its log was delivered
 * (push delivery says so; in pull mode at once) and its retention has passed since it ended. A
 * delete in flight is not started twice; a failed one is tried again at the next sweep.
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import type { KubeApi } from "../../kube/api.ts";
import { isTerminal, type WorkerStatus } from "../types.ts";

/** Options for {@linkcode Reaper}. */
export interface ReaperOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the pods. */
  readonly namespace: string;
  /** Where to log. */
  readonly logger: Logger;
  /** How long a finished, delivered pod is kept. */
  readonly retentionMs: () => number;
  /** Whether a finished worker's log was delivered. */
  readonly isDelivered: (workerId: string) => boolean;
}

/** Deletes finished pods; see the module doc. */
export class Reaper {
  readonly #o: ReaperOptions;
  readonly #deleting = new Set<string>();

  /** Creates the reaper; the runtime calls {@linkcode sweep} periodically (only as leader). */
  constructor(options: ReaperOptions) {
    this.#o = options;
  }

  /** Starts the deletes that are due among `statuses`. */
  sweep(statuses: Iterable<WorkerStatus>): void {
    const now = Date.now();
    for (const status of statuses) {
      if (!isTerminal(status.phase)) continue;
      const ended = Date.parse(status.finishedAt ?? status.createdAt);
      if (now - ended < this.#o.retentionMs() || !this.#o.isDelivered(status.id)) continue;
      if (this.#deleting.has(status.id)) continue;
      this.#deleting.add(status.id);
      const fields = { worker: status.id, task: status.taskId };
      this.#o.logger.debug("deleting finished worker pod", fields);
      this.#o.api.remove(`/api/v1/namespaces/${this.#o.namespace}/pods/${status.id}`, {
        gracePeriodSeconds: "0",
      }).catch((err) =>
        this.#o.logger.warn("could not delete a finished pod", { ...fields, error: String(err) })
      ).finally(() => this.#deleting.delete(status.id));
    }
  }
}
