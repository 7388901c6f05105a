/**
 * Chaos scenario: kube-apiserver restarted (stopped, SIGKILL after a 3 s grace, and started again
 * on the same etcd) during a ScaleUp of many workers on the Kubernetes runtime; Ottoscaler must
 * create every worker exactly once and resume its pod watch by itself (kube_scale_fault.ts).
 *
 * @module
 */

import { fault } from "./kube_plane.ts";
import { scaleThroughFault } from "./kube_scale_fault.ts";
import type { ScenarioResult } from "./table.ts";

/** Runs the scenario with `workers` workers, each printing `lines` lines. */
export function kubeApiserverRestart(workers: number, lines: number): Promise<ScenarioResult> {
  return scaleThroughFault({
    scenario: "kube-apiserver restarted",
    workers,
    lines,
    duration: "15s",
    faultAfterPods: Math.ceil(workers / 4),
    fault: () => fault("kube-apiserver"),
  });
}
