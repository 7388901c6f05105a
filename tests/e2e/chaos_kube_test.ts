/**
 * The short variants of `deno task chaos`'s Kubernetes scenarios (tasks/chaos/kube_*.ts), on the
 * suite's own local control plane (started here, stopped at the end; the test fails if it cannot
 * start): Ottoscaler SIGKILLed during workers and a pipeline, kube-apiserver restarted during a
 * ScaleUp, etcd stopped 5 s during a ScaleUp. Expected: nothing lost, nothing numbered twice, no
 * duplicate or orphan pods, every worker succeeded, every stage run once, no unexpected exit.
 */

import assert from "node:assert/strict";
import { kubeScenarios } from "../../tasks/chaos/main.ts";
import { stopChaosPlane } from "../../tasks/chaos/kube_plane.ts";
import { formatTable, type ScenarioResult } from "../../tasks/chaos/table.ts";

Deno.test("chaos (short, Kubernetes runtime): faults survived with nothing lost or duplicated", async (t) => {
  const results: ScenarioResult[] = [];
  try {
    for (const run of kubeScenarios(true)) {
      const result = await run();
      results.push(result);
      await t.step(`${run.id}: ${result.scenario}`, () => {
        assert.ok(result.faults > 0 && result.lines > 0, "faults were injected into real work");
        assert.deepEqual(
          {
            lost: result.lost,
            duplicates: result.duplicates,
            duplicateWorkers: result.duplicateWorkers,
            duplicatePods: result.duplicatePods,
            orphanPods: result.orphanPods,
            failedWorkers: result.failedWorkers,
            stagesRerun: result.stagesRerun,
            aborts: result.aborts,
          },
          {
            lost: 0,
            duplicates: 0,
            duplicateWorkers: 0,
            duplicatePods: 0,
            orphanPods: 0,
            failedWorkers: 0,
            stagesRerun: 0,
            aborts: 0,
          },
          formatTable([result]),
        );
      });
    }
  } finally {
    await stopChaosPlane();
  }
  console.log(formatTable(results));
});
