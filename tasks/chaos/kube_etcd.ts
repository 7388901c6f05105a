/**
 * Chaos scenario: etcd frozen (SIGSTOP, then SIGCONT `seconds` later: its connections stay open
 * and hang, as in a stalled disk or a partition) during a ScaleUp on the Kubernetes runtime, while
 * pods are being created and the first ones end; Ottoscaler must create every worker exactly once,
 * see every end, and recover by itself (kube_scale_fault.ts).
 *
 * @module
 */

import { fault } from "./kube_plane.ts";
import { scaleThroughFault } from "./kube_scale_fault.ts";
import type { ScenarioResult } from "./table.ts";

/** Runs the scenario: `workers` workers printing `lines` lines each, etcd stopped `seconds`. */
export function kubeEtcdStopped(
  workers: number,
  lines: number,
  seconds: number,
): Promise<ScenarioResult> {
  return scaleThroughFault({
    scenario: `etcd stopped ${seconds} s`,
    workers,
    lines,
    duration: "4s",
    faultAfterPods: Math.ceil(workers / 2),
    fault: () => fault("etcd", { pauseSeconds: seconds }),
  });
}
