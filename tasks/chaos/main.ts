/**
 * `deno task chaos`: bounded fault-injection scenarios against real processes on loopback, each
 * repeated, printing one table (see table.ts for the columns).
 *
 * ```sh
 * deno task chaos            # the full runs
 * deno task chaos --short    # the short variants (what the test command runs)
 * deno task chaos --repeat 3 # each scenario three times
 * deno task chaos --only handler-restart,etcd   # some of them (--help lists them)
 * ```
 *
 * Scenarios: Ottoscaler SIGKILLed every few seconds during workers and pipelines (local runtime);
 * its state files truncated or garbage while it is down; the log paths (log_paths.ts):
 * otto-handler SIGKILLed during push delivery, LogStreamingService agents killed mid-stream, a
 * full STATE_DIR; on the Kubernetes runtime (a control plane of the suite's own, kube_plane.ts):
 * Ottoscaler SIGKILLed during workers and pipelines, kube-apiserver restarted and etcd stopped
 * during a ScaleUp.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { badState } from "./bad_state.ts";
import { killServe } from "./kill_serve.ts";
import { kubeKillServe } from "./kube_kill_serve.ts";
import { kubeApiserverRestart } from "./kube_apiserver.ts";
import { kubeEtcdStopped } from "./kube_etcd.ts";
import { stopChaosPlane } from "./kube_plane.ts";
import { logPathScenarios } from "./log_paths.ts";
import { named, pick, type Scenario } from "./scenario.ts";
import { formatTable, type ScenarioResult } from "./table.ts";

/** The scenarios at a size: short (for the test command) or full. */
export function scenarios(short: boolean): Scenario[] {
  return [
    named("kill-serve", () =>
      killServe(
        short
          ? { workers: 10, lines: 1000, pipelines: 1, kills: 3, intervalMs: 1500 }
          : { workers: 100, lines: 2000, pipelines: 3, kills: 20, intervalMs: 3000 },
      )),
    named("bad-state", () => short ? badState(3, 500) : badState(20, 5000)),
  ];
}

/** The Kubernetes runtime's scenarios (on the suite's own control plane) at a size. */
export function kubeScenarios(short: boolean): Scenario[] {
  return [
    named("kube-kill-serve", () =>
      kubeKillServe(
        short
          ? { workers: 20, lines: 50, duration: "5s", pipelines: 1, kills: 1, intervalMs: 2000 }
          : {
            workers: 100,
            lines: 200,
            duration: "30s",
            pipelines: 3,
            kills: 20,
            intervalMs: 3000,
          },
      )),
    named("kube-apiserver", () => kubeApiserverRestart(short ? 30 : 300, short ? 20 : 50)),
    named("etcd", () => short ? kubeEtcdStopped(30, 20, 5) : kubeEtcdStopped(300, 50, 10)),
  ];
}

/** Every scenario `deno task chaos` runs (each group's short variants have their own test). */
export function allScenarios(short: boolean): Scenario[] {
  return [...scenarios(short), ...logPathScenarios(short), ...kubeScenarios(short)];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      short: { type: "boolean" },
      repeat: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    const ids = allScenarios(true).map((s) => s.id).join(",");
    console.log(`Usage: deno task chaos [--short] [--repeat N] [--only ID,...]\nScenarios: ${ids}`);
    Deno.exit(0);
  }
  const repeat = Number(values.repeat ?? (values.short ? 1 : 2));
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  try {
    for (const run of pick(allScenarios(values.short ?? false), values.only)) {
      for (let i = 0; i < repeat; i++) {
        try {
          const result = await run();
          results.push(result);
          console.error(`done: ${run.id}: ${result.scenario} (${result.seconds.toFixed(0)} s)`);
        } catch (err) {
          // The figures so far still count; the failure is printed with the table and fails the run.
          failures.push(`${run.id ?? "scenario"}: ${err instanceof Error ? err.stack : err}`);
          console.error(`failed: ${run.id}`);
        }
      }
    }
  } finally {
    await stopChaosPlane();
  }
  console.log(formatTable(results));
  if (failures.length > 0) {
    console.error(failures.join("\n\n"));
    Deno.exit(1);
  }
}
