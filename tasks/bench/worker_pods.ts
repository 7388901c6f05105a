/**
 * The pods a ScaleUp of N workers creates, built here the way Ottoscaler builds them (the
 * scaler's names, labels and environment; the runtime's labels; {@linkcode buildPod} with the
 * configuration the benchmark's `serve` process gets), so the baselines create the very same pods.
 *
 * @module
 */

import type { Config } from "../../mod/config/config.ts";
import { workerLabels, workerName } from "../../mod/worker/naming.ts";
import { buildPod, type WorkerPod } from "../../mod/worker/kube/pod.ts";
import type { WorkerSpec } from "../../mod/worker/types.ts";

/** What a ScaleUp asks for: the task and how many workers; its build_config is empty. */
export interface ScaleUpShape {
  readonly taskId: string;
  readonly workers: number;
}

/** The spec the scaler makes for worker `index` of a ScaleUp with an empty build_config. */
export function workerSpec(config: Config, taskId: string, index: number): WorkerSpec {
  const id = workerName(taskId, index);
  return {
    id,
    taskId,
    index,
    image: config.agentImage,
    timeoutSeconds: 0,
    labels: workerLabels(taskId, index),
    env: {
      OTTO_TASK_ID: taskId,
      OTTO_WORKER_ID: id,
      OTTO_WORKER_INDEX: String(index),
      OTTO_REPOSITORY: "",
      OTTO_COMMIT_SHA: "",
    },
  };
}

/** The resources main.ts gives the Kubernetes runtime (empty quantities left out). */
function resources(
  config: Config,
): { requests: Record<string, string>; limits: Record<string, string> } {
  const quantities = (cpu: string, memory: string) => ({
    ...(cpu ? { cpu } : {}),
    ...(memory ? { memory } : {}),
  });
  return {
    requests: quantities(config.workerCpuRequest, config.workerMemoryRequest),
    limits: quantities(config.workerCpuLimit, config.workerMemoryLimit),
  };
}

/** The pods of workers 1..N, as the Kubernetes runtime would POST them to `namespace`. */
export function workerPods(config: Config, namespace: string, shape: ScaleUpShape): WorkerPod[] {
  return Array.from({ length: shape.workers }, (_, i) => {
    const spec = workerSpec(config, shape.taskId, i + 1);
    return buildPod(spec, {
      namespace,
      resources: resources(config),
      annotations: spec.annotations,
      terminationGracePeriodSeconds: config.stopGraceSeconds,
    });
  });
}

/**
 * Where `actual` (a pod read back from the API, with the server's defaults filled in) differs
 * from `expected` (a built pod), looking only at what `expected` sets: JSON paths, empty if none.
 */
export function specMismatches(expected: unknown, actual: unknown, path = ""): string[] {
  if (expected === null || typeof expected !== "object") {
    // The API server leaves out empty strings (omitempty).
    return expected === actual || (expected === "" && actual === undefined)
      ? []
      : [`${path}: want ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  if (actual === null || typeof actual !== "object") return [`${path}: missing`];
  if (Array.isArray(expected) && (!Array.isArray(actual) || actual.length !== expected.length)) {
    return [`${path}: want ${expected.length} item(s), got ${JSON.stringify(actual)}`];
  }
  const got = actual as Record<string, unknown>;
  return Object.entries(expected as Record<string, unknown>).flatMap(([key, value]) =>
    specMismatches(value, got[key], `${path}.${key}`)
  );
}
