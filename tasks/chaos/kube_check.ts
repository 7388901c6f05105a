/**
 * The Kubernetes chaos scenarios' reckoning, once every worker ended: each task worker's lines read
 * back from Ottoscaler (lost, numbered twice), workers that did not succeed, and the pods as the
 * API server has them (duplicates, orphans).
 *
 * An orphan is a worker pod nobody owns after all is done: one Ottoscaler does not report, or a
 * pipeline's pod whose owning ConfigMap (the pipeline's state) is gone.
 *
 * @module
 */

import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerPodStatus__Output } from "../../proto/generated/ottoscaler/v1/WorkerPodStatus.ts";
import type { ConfigMapObject, KubeApi, PodObject } from "../../mod/kube/api.ts";
import { stream } from "./kill_serve.ts";

/** A task whose workers print `<tag(index)> 1`..`<tag(index)> lines` (see `printLines`). */
export interface PrintingTask {
  /** The task. */
  readonly taskId: string;
  /** Its workers. */
  readonly workers: number;
  /** Lines each prints. */
  readonly lines: number;
  /** The text before each line's number, for worker `index`. */
  readonly tag: (index: number) => string;
}

/** What the reckoning found. */
export interface KubeReckoning {
  /** Printed lines missing from the numbered logs (all of a worker's if it never ran). */
  readonly lost: number;
  /** Lines numbered twice, or sequences with gaps. */
  readonly duplicates: number;
  /** Task workers missing, or ended otherwise than succeeded. */
  readonly failedWorkers: number;
  /** Pods of a task beyond the workers asked for. */
  readonly extraPods: number;
  /** Pods nobody owns (see the module doc). */
  readonly orphanPods: number;
  /** The task workers' reasons for not succeeding, for the log. */
  readonly failures: string[];
}

/** Reads everything back; see the module doc. */
export async function reckon(options: {
  readonly client: OttoscalerServiceClient;
  readonly workers: readonly WorkerPodStatus__Output[];
  readonly api: KubeApi;
  readonly namespace: string;
  readonly pods: readonly PodObject[];
  readonly tasks: readonly PrintingTask[];
}): Promise<KubeReckoning> {
  const { client, workers, tasks } = options;
  let lost = 0;
  let duplicates = 0;
  let failedWorkers = 0;
  let extraPods = 0;
  const failures: string[] = [];
  for (const task of tasks) {
    const prefix = `otto-agent-${task.taskId}-`;
    extraPods += options.pods.filter((p) => {
      const name = p.metadata.name;
      if (!name.startsWith(prefix)) return false;
      const index = Number(name.slice(prefix.length));
      return Number.isInteger(index) && index > task.workers;
    }).length;
    for (let i = 1; i <= task.workers; i++) {
      const id = `${prefix}${i}`;
      const w = workers.find((w) => w.pod_name === id);
      if (w?.status !== "succeeded") {
        failedWorkers++;
        failures.push(`${id}: ${w ? `${w.status} ${w.error_message}` : "unknown to Ottoscaler"}`);
      }
      if (!w) {
        lost += task.lines;
        continue;
      }
      const entries = await stream<WorkerLogEntry__Output>(
        client.WatchWorkerLogs({ task_id: task.taskId, worker_id: id }),
      );
      const seen = new Map<string, number>();
      entries.forEach((e, k) => {
        if (Number(e.sequence) !== k + 1) duplicates++;
        seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
      });
      for (let j = 1; j <= task.lines; j++) {
        const n = seen.get(`${task.tag(i)} ${j}`) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicates += n - 1;
      }
    }
  }
  const { items: configMaps } = await options.api.list<ConfigMapObject>(
    `/api/v1/namespaces/${options.namespace}/configmaps`,
  );
  const owners = new Set(configMaps.map((c) => c.metadata.uid));
  const known = new Set(workers.map((w) => w.pod_name));
  const orphanPods = options.pods.filter((p) => {
    if (!known.has(p.metadata.name)) return true;
    const meta = p.metadata as { ownerReferences?: { uid?: string }[] };
    const refs = meta.ownerReferences ?? [];
    return refs.length > 0 && !refs.some((r) => owners.has(r.uid));
  }).length;
  return { lost, duplicates, failedWorkers, extraPods, orphanPods, failures };
}
