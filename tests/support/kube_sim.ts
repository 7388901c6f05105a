/**
 * Test support: runs conformance {@linkcode Behaviour}s as KWOK-simulated worker pods on the local
 * control plane (tasks/control_plane). KWOK plays the kubelet: the stages in stages.yaml end a pod
 * after its `ottoscaler.io/sim-duration` with its `ottoscaler.io/sim-exit-code`, or at its
 * activeDeadlineSeconds; what the container "prints" is a CRI log file this module writes and names in a kwok
 * `Logs` object, so `pods/log` through the API server returns it.
 *
 * {@linkcode simulated} wraps a runtime so that `start` first lays down the pod's log (and
 * schedules the lines printed after its sleep) and `stop` cancels what the container would still
 * have printed.
 *
 * @module
 */

import type { Behaviour } from "./conformance.ts";
import type { Runtime, WorkerSpec } from "../../mod/worker/types.ts";
import type { KubeApi } from "../../mod/kube/api.ts";

/** Where simulated logs go. */
export interface SimulationOptions {
  /** The API (admin). */
  readonly api: KubeApi;
  /** The namespace of the pods. */
  readonly namespace: string;
  /** An absolute directory for the CRI log files. */
  readonly logDir: string;
}

/**
 * The annotations that make KWOK run a pod as `behaviour` describes. A timeout needs none: the
 * pod's activeDeadlineSeconds ends it as a kubelet would (see stages.yaml).
 */
export function simAnnotations(behaviour: Behaviour): Record<string, string> {
  return {
    "ottoscaler.io/sim-duration": `${(behaviour.sleepSeconds ?? 0) + 0.5}s`,
    "ottoscaler.io/sim-exit-code": String(behaviour.exitCode ?? 0),
  };
}

/** The worker spec for `behaviour`, as the scaler would build it. */
export function simSpec(
  taskId: string,
  index: number,
  behaviour: Behaviour,
  options: { timeoutSeconds?: number } = {},
): WorkerSpec {
  return {
    id: `otto-agent-${taskId}-${index}`,
    taskId,
    index,
    image: "busybox:1.36",
    command: "true",
    env: { OTTO_TASK_ID: taskId },
    labels: { "ottoscaler.io/task": taskId, "ottoscaler.io/index": String(index) },
    annotations: {
      ...simAnnotations(behaviour),
      "ottoscaler.io/sim-behaviour": JSON.stringify(behaviour),
    },
    timeoutSeconds: options.timeoutSeconds ?? 0,
  };
}

function criLine(stream: "stdout" | "stderr", text: string): string {
  return `${new Date().toISOString()} ${stream} F ${text}\n`;
}

/** Timers of lines still to be "printed", by worker; shared by every wrapped runtime. */
const pendingPrints = new Map<string, ReturnType<typeof setTimeout>>();

/** Writes the pod's log file and its kwok `Logs` object; schedules the after-sleep lines. */
export async function prepareLog(options: SimulationOptions, spec: WorkerSpec): Promise<void> {
  const behaviour = JSON.parse(
    spec.annotations?.["ottoscaler.io/sim-behaviour"] ?? "{}",
  ) as Behaviour;
  const file = `${options.logDir}/${options.namespace}_${spec.id}.log`;
  const text = [
    ...(behaviour.stdout ?? []).map((l) => criLine("stdout", l)),
    ...(behaviour.stderr ?? []).map((l) => criLine("stderr", l)),
  ].join("");
  await Deno.writeTextFile(file, text);
  await options.api.create(
    `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${options.namespace}/logs`,
    {
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "Logs",
      metadata: { name: spec.id, namespace: options.namespace },
      spec: { logs: [{ logsFile: file }] },
    },
  ).catch((err) => {
    if (!/AlreadyExists|409/.test(String(err))) throw err;
  });
  const after = behaviour.stdoutAfterSleep ?? [];
  if (after.length > 0 && !pendingPrints.has(spec.id)) {
    const timer = setTimeout(() => {
      pendingPrints.delete(spec.id);
      Deno.writeTextFileSync(file, after.map((l) => criLine("stdout", l)).join(""), {
        append: true,
      });
    }, (behaviour.sleepSeconds ?? 0) * 1000);
    pendingPrints.set(spec.id, timer);
  }
}

/** Cancels every line still to be printed (end of a test). */
export function cancelPrints(): void {
  for (const timer of pendingPrints.values()) clearTimeout(timer);
  pendingPrints.clear();
}

/** Wraps `runtime` so starts lay down the simulated log and stops cancel unprinted lines. */
export function simulated(runtime: Runtime, options: SimulationOptions): Runtime {
  return {
    name: runtime.name,
    requiresCommand: runtime.requiresCommand,
    start: async (spec) => {
      if (!runtime.list().some((s) => s.id === spec.id)) await prepareLog(options, spec);
      return await runtime.start(spec);
    },
    stop: async (id) => {
      const timer = pendingPrints.get(id);
      if (timer !== undefined) clearTimeout(timer);
      pendingPrints.delete(id);
      await runtime.stop(id);
    },
    list: (filter) => runtime.list(filter),
    watch: (listener) => runtime.watch(listener),
    logs: (id, options) => runtime.logs(id, options),
    close: () => runtime.close(),
  };
}
