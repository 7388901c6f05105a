/**
 * Counts a namespace's worker pods from a watch opened before the work starts: the most
 * unfinished at once (`peak`), and every pod object seen per name (`uids`: a worker started twice
 * would show two), for the admission tests on the local control plane.
 *
 * @module
 */

import type { KubeApi, PodObject } from "../../mod/kube/api.ts";

/** A running meter; see the module doc. */
export interface PodMeter {
  /** Resolves once the first list is in and the watch runs. */
  readonly ready: Promise<void>;
  /** The most pods unfinished at once since the start (or the last reset). */
  peak(): number;
  /** Starts the peak again from the pods unfinished now. */
  reset(): void;
  /** Every pod uid seen, by pod name. */
  uids(): Map<string, Set<string>>;
  /** Stops the watch. */
  close(): Promise<void>;
}

/** Watches the pods of `namespace`; see the module doc. */
export function podMeter(api: KubeApi, namespace: string): PodMeter {
  const live = new Set<string>();
  const uids = new Map<string, Set<string>>();
  let peak = 0;
  const abort = new AbortController();
  const ready = Promise.withResolvers<void>();
  const path = `/api/v1/namespaces/${namespace}/pods`;
  const run = async () => {
    const { items, resourceVersion } = await api.list<PodObject>(path);
    for (const pod of items) observe(pod, "ADDED");
    ready.resolve();
    await api.watch<PodObject>(
      path,
      { resourceVersion },
      (e) => observe(e.object, e.type),
      abort.signal,
    );
  };
  const observe = (pod: PodObject, type: string) => {
    const name = pod.metadata.name;
    if (pod.metadata.uid) uids.set(name, (uids.get(name) ?? new Set()).add(pod.metadata.uid));
    const ended = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    if (type === "DELETED" || ended) live.delete(name);
    else live.add(name);
    peak = Math.max(peak, live.size);
  };
  const done = run().catch((err) => ready.reject(err));
  return {
    ready: ready.promise,
    peak: () => peak,
    reset: () => (peak = live.size),
    uids: () => uids,
    close: async () => {
      abort.abort();
      await done;
    },
  };
}
