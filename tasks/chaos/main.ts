/**
 * `deno task chaos`: bounded fault-injection scenarios against real processes on loopback, each
 * repeated, printing one table (see table.ts for the columns).
 *
 * ```sh
 * deno task chaos            # the full runs
 * deno task chaos --short    # the short variants (what the test command runs)
 * deno task chaos --repeat 3 # each scenario three times
 * deno task chaos --only kube-apiserver,etcd   # some of them, by name (see SCENARIO_NAMES)
 * ```
 *
 * Scenarios: Ottoscaler SIGKILLed every few seconds during workers and pipelines (local runtime);
 * its state files truncated or garbage while it is down; on the Kubernetes runtime (a control
 * plane of the suite's own, kube_plane.ts): Ottoscaler SIGKILLed during workers and pipelines,
 * kube-apiserver restarted and etcd stopped during a ScaleUp. (Not yet: otto-handler restarts,
 * LogStreamingService agents, a full STATE_DIR.)
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
import { formatTable, type ScenarioResult } from "./table.ts";

/** A scenario at a size: its name (for `--only`) and how to run it once. */
export type NamedScenario = readonly [name: string, run: () => Promise<ScenarioResult>];

/** The Kubernetes runtime's scenarios (on the suite's own control plane) at a size. */
export function kubeScenarios(short: boolean): NamedScenario[] {
  return [
    ["kube-kill-serve", () =>
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
      )],
    ["kube-apiserver", () => kubeApiserverRestart(short ? 30 : 300, short ? 20 : 50)],
    ["etcd", () => short ? kubeEtcdStopped(30, 20, 5) : kubeEtcdStopped(300, 50, 10)],
  ];
}

/** Every scenario's name, in the order they run. */
export const SCENARIO_NAMES = ["kill-serve", "bad-state", ...kubeScenarios(true).map(([n]) => n)];

/** The scenarios at a size: short (for the test command) or full. */
export function scenarios(short: boolean): (() => Promise<ScenarioResult>)[] {
  return [
    () =>
      killServe(
        short
          ? { workers: 10, lines: 1000, pipelines: 1, kills: 3, intervalMs: 1500 }
          : { workers: 100, lines: 2000, pipelines: 3, kills: 20, intervalMs: 3000 },
      ),
    () => short ? badState(3, 500) : badState(20, 5000),
  ];
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
    console.log(
      `Usage: deno task chaos [--short] [--repeat N] [--only NAME,...]\n` +
        `Scenarios: ${SCENARIO_NAMES.join(", ")}`,
    );
    Deno.exit(0);
  }
  const only = values.only?.split(",").map((n) => n.trim()).filter((n) => n);
  const unknown = only?.filter((n) => !SCENARIO_NAMES.includes(n)) ?? [];
  if (unknown.length) {
    console.error(`--only: unknown scenario ${unknown.join(", ")}; known: ${SCENARIO_NAMES}`);
    Deno.exit(2);
  }
  const short = values.short ?? false;
  const all: NamedScenario[] = [
    ...scenarios(short).map((run, i) => [SCENARIO_NAMES[i], run] as const),
    ...kubeScenarios(short),
  ];
  const repeat = Number(values.repeat ?? (values.short ? 1 : 2));
  const results: ScenarioResult[] = [];
  try {
    for (const [name, run] of all.filter(([n]) => !only || only.includes(n))) {
      for (let i = 0; i < repeat; i++) {
        const result = await run();
        results.push(result);
        console.error(`done: ${name}: ${result.scenario} (${result.seconds.toFixed(0)} s)`);
      }
    }
  } finally {
    await stopChaosPlane();
  }
  console.log(formatTable(results));
}
