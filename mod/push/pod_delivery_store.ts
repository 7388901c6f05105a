/**
 * A {@linkcode DeliveryStore} for the Kubernetes runtime: each worker's delivery progress is an
 * annotation on its own pod (`ottoscaler.io/delivery`), so it lives in the cluster with the
 * worker, survives a rescheduled Ottoscaler pod (whose STATE_DIR is an emptyDir), and goes away
 * with the pod, which is deleted only once delivery is complete.
 *
 * Like the file store, writes are batched (one merge patch per changed worker, about every
 * {@linkcode FLUSH_DELAY_MS}); a crash loses at most that much progress, which only means those
 * lines are sent again with the same (worker_id, sequence). A pod already gone is skipped.
 *
 * @module
 */

import type { Leadership } from "../kube/leader.ts";
import type { KubeApi, PodObject } from "../kube/api.ts";
import { isNotFound } from "../kube/errors.ts";
import type { DeliveryState, DeliveryStore } from "./delivery_store.ts";

/** The pod annotation holding a worker's delivery progress (JSON). */
export const DELIVERY_ANNOTATION = "ottoscaler.io/delivery";

/** Milliseconds between a change and its write. */
const FLUSH_DELAY_MS = 250;

const EMPTY: DeliveryState = { logsAcked: 0, eventsAcked: 0 };

/** Delivery progress in pod annotations; see the module doc. */
export class PodDeliveryStore implements DeliveryStore {
  readonly #api: KubeApi;
  readonly #namespace: string;
  readonly #states: Map<string, DeliveryState>;
  readonly #dirty = new Set<string>();
  #timer?: ReturnType<typeof setTimeout>;
  #writing: Promise<void> = Promise.resolve();
  readonly #leadership: Leadership | undefined;

  private constructor(
    api: KubeApi,
    namespace: string,
    states: Map<string, DeliveryState>,
    leadership: Leadership | undefined,
  ) {
    this.#api = api;
    this.#namespace = namespace;
    this.#states = states;
    this.#leadership = leadership;
  }

  /**
   * Reads the progress recorded on the worker pods (label `managed-by=ottoscaler`). With
   * `leadership`, progress is written only while this instance leads (a former leader's late
   * flush must not write over the new leader's).
   */
  static async open(
    api: KubeApi,
    namespace: string,
    leadership?: Leadership,
  ): Promise<PodDeliveryStore> {
    const { items } = await api.list<PodObject>(`/api/v1/namespaces/${namespace}/pods`, {
      labelSelector: "managed-by=ottoscaler",
    });
    const states = new Map<string, DeliveryState>();
    for (const pod of items) {
      const saved = parseState(pod.metadata.annotations?.[DELIVERY_ANNOTATION]);
      if (saved) states.set(pod.metadata.name, saved);
    }
    return new PodDeliveryStore(api, namespace, states, leadership);
  }

  /** See {@linkcode DeliveryStore.get}. */
  get(workerId: string): DeliveryState {
    return this.#states.get(workerId) ?? EMPTY;
  }

  /** See {@linkcode DeliveryStore.update}. */
  update(workerId: string, patch: Partial<DeliveryState>): void {
    const current = this.get(workerId);
    const next: DeliveryState = {
      logsAcked: Math.max(current.logsAcked, patch.logsAcked ?? 0),
      eventsAcked: Math.max(current.eventsAcked, patch.eventsAcked ?? 0),
      ...(current.complete || patch.complete ? { complete: true } : {}),
    };
    const same = next.logsAcked === current.logsAcked &&
      next.eventsAcked === current.eventsAcked && next.complete === current.complete;
    if (same) return; // nothing to write
    this.#states.set(workerId, next);
    this.#dirty.add(workerId);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(() => {});
    }, FLUSH_DELAY_MS);
  }

  /** See {@linkcode DeliveryStore.forget}: the annotation goes with the pod; only memory here. */
  forget(workerId: string): void {
    this.#states.delete(workerId);
    this.#dirty.delete(workerId);
  }

  /** See {@linkcode DeliveryStore.flush}. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = [...this.#dirty].map((id) => [id, this.get(id)] as const);
    this.#dirty.clear();
    this.#writing = this.#writing.catch(() => {}).then(async () => {
      if (this.#leadership && !this.#leadership.isLeader()) return; // the new leader writes
      const failed: string[] = [];
      await Promise.all(batch.map(async ([id, state]) => {
        try {
          await this.#api.mergePatch(`/api/v1/namespaces/${this.#namespace}/pods/${id}`, {
            metadata: { annotations: { [DELIVERY_ANNOTATION]: JSON.stringify(state) } },
          });
        } catch (err) {
          if (isNotFound(err)) return; // the pod is gone
          failed.push(id);
        }
      }));
      // Written again with the next change or flush.
      for (const id of failed) this.#dirty.add(id);
      if (failed.length > 0) {
        throw new Error(`delivery progress not saved for ${failed.length} pods`);
      }
    });
    return this.#writing;
  }
}

function parseState(text: string | undefined): DeliveryState | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<DeliveryState>;
    if (typeof v.logsAcked !== "number" || typeof v.eventsAcked !== "number") return undefined;
    return {
      logsAcked: v.logsAcked,
      eventsAcked: v.eventsAcked,
      ...(v.complete ? { complete: true } : {}),
    };
  } catch {
    return undefined;
  }
}
