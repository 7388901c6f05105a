/**
 * Chaos scenario: Ottoscaler on the KUBERNETES runtime killed with SIGKILL every few seconds while
 * a task's workers run and pipelines go through their stages on the chaos control plane
 * (kube_plane.ts), and started again at once (as a Deployment would). Afterwards every worker's
 * lines are read back, every pipeline is watched to its end, and the pods are counted from the API
 * server.
 *
 * Counted: lines lost and numbered twice, duplicate pods (a worker's pod created again under its
 * name: more than one uid seen per name, or pods beyond the workers asked), orphan pods (left
 * with no owner after all is done), stages run more than once (or not completed), workers that did
 * not succeed, exits we did not cause. Recovery is the time from a kill until the restarted
 * process is ready (`/readyz` 200: its pod cache listed and watching).
 *
 * @module
 */

import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { stream, untilAnswered } from "./kill_serve.ts";
import {
  ensureChaosPlane,
  freePort,
  freshNamespace,
  keepLog,
  planeApi,
  PodCensus,
  printTask,
  readyz,
  startKubeServe,
} from "./kube_plane.ts";
import { type PrintingTask, reckon } from "./kube_check.ts";
import type { ScenarioResult } from "./table.ts";

/** The size of a run. */
export interface KubeKillServeOptions {
  /** Workers of the scaled task. */
  readonly workers: number;
  /** Lines each of them prints. */
  readonly lines: number;
  /** How long each runs (OTTO_SIM_DURATION, e.g. "20s"). */
  readonly duration: string;
  /** Pipelines (build, then two test stages of 2 workers each). */
  readonly pipelines: number;
  /** SIGKILLs. */
  readonly kills: number;
  /** Time between a recovery and the next kill. */
  readonly intervalMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the scenario; see the module doc. */
export async function kubeKillServe(options: KubeKillServeOptions): Promise<ScenarioResult> {
  const cp = await ensureChaosPlane();
  const api = planeApi(cp);
  const ns = await freshNamespace(api, "chaos-kill");
  const task: PrintingTask = {
    taskId: "chaos",
    workers: options.workers,
    lines: options.lines,
    tag: (i) => `w${i} line`,
  };
  await printTask(cp, api, ns.namespace, task);
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-kube-" });
  const port = freePort();
  const httpPort = freePort();
  const start = () => startKubeServe(cp, ns.namespace, stateDir, port, httpPort);
  let serve = start();
  const client: OttoscalerServiceClient = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const ready = async () => {
    const r = await readyz(httpPort);
    if (r.status !== 200) throw new Error(`not ready: ${r.status} ${r.body}`);
  };
  const census = new PodCensus(api, ns.namespace);
  const recoveries: number[] = [];
  let unexpectedExits = 0;
  const started = performance.now();
  try {
    await untilAnswered(ready);
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(
      client.ScaleUp.bind(client),
      {
        task_id: task.taskId,
        worker_count: task.workers,
        build_config: { image: "busybox:1.36", OTTO_SIM_DURATION: options.duration },
      },
    );
    if (res.status !== "SUCCESS") throw new Error(`ScaleUp: ${res.status} ${res.message}`);
    const stage = (id: string, dependsOn: string[]) => ({
      stage_id: id,
      worker_count: 2,
      depends_on: dependsOn,
      image: "busybox:1.36",
      config: { OTTO_SIM_DURATION: "3s" },
    });
    for (let p = 1; p <= options.pipelines; p++) {
      // Started and left: a dropped client is not a cancelled build.
      const call = client.ExecutePipeline({
        pipeline_id: `chaos-p${p}`,
        stages: [stage("build", []), stage("unit", ["build"]), stage("lint", ["build"])],
      });
      call.on("data", () => {});
      call.on("error", () => {});
    }

    for (let k = 0; k < options.kills; k++) {
      await sleep(options.intervalMs);
      const exited = await Promise.race([serve.child.status, sleep(0).then(() => undefined)]);
      if (exited) {
        unexpectedExits++;
        console.error(`serve exited by itself (${exited.code}):\n${serve.errors().slice(-2000)}`);
      } else serve.child.kill("SIGKILL");
      const killedAt = performance.now();
      await serve.child.status;
      await serve.drained;
      await keepLog(ns.namespace, serve.errors());
      serve = start();
      await untilAnswered(ready);
      recoveries.push(performance.now() - killedAt);
    }

    // Everything to its end: workers, then every pipeline (re-attached after the kills).
    await untilAnswered(async () => {
      const { workers } = await status({});
      if (workers.some((w) => w.status === "pending" || w.status === "running")) {
        throw new Error("still running");
      }
    }, 600_000);
    let stagesNotCompleted = 0;
    for (let p = 1; p <= options.pipelines; p++) {
      const progress = await stream<PipelineProgress__Output>(
        client.WatchPipeline({ pipeline_id: `chaos-p${p}` }),
      );
      const last = new Map<string, string>();
      for (const item of progress) last.set(item.stage_id, String(item.status));
      stagesNotCompleted += 3 - [...last.values()].filter((s) => s === "STAGE_COMPLETED").length;
    }
    const { workers } = await status({});
    const pods = await census.stop();
    // A stage is run once per attempt; none fails here, so more than one attempt is a re-run.
    const stageRuns = new Map<string, Set<string>>();
    for (const pod of pods) {
      const m = pod.metadata.name.match(/^otto-agent-(chaos-p\d+-\w+)-a(\d+)-\d+$/);
      if (m) stageRuns.set(m[1], (stageRuns.get(m[1]) ?? new Set()).add(m[2]));
    }
    const stagesRerun = [...stageRuns.values()].filter((attempts) => attempts.size > 1).length;
    const found = await reckon({
      client,
      workers,
      api,
      namespace: ns.namespace,
      pods,
      tasks: [task],
    });
    if (found.failures.length) console.error(found.failures.slice(0, 10).join("\n"));
    const ms = [...recoveries].sort((a, b) => a - b);
    return {
      scenario: "serve SIGKILLed (kubernetes)",
      faults: options.kills,
      workers: options.workers + options.pipelines * 6,
      lines: options.workers * options.lines,
      lost: found.lost,
      duplicates: found.duplicates,
      duplicateWorkers: found.extraPods,
      duplicatePods: census.duplicates() + found.extraPods,
      orphanPods: found.orphanPods,
      failedWorkers: found.failedWorkers,
      stagesRerun: stagesRerun + stagesNotCompleted,
      aborts: unexpectedExits,
      recoverP50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
      recoverMaxMs: ms.at(-1) ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await census.stop().catch(() => []);
    client.close();
    await serve.stop();
    await keepLog(ns.namespace, serve.errors());
    await ns.remove();
    await Deno.remove(stateDir, { recursive: true });
  }
}
