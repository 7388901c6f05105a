/**
 * The shape of the control-plane chaos scenarios (kube_apiserver.ts, kube_etcd.ts): one ScaleUp of
 * many simulated workers on the chaos control plane, a fault injected into the plane while the pods
 * are being created and the first ones end, then every worker waited for, its lines read back and
 * the pods counted from the API server (kube_check.ts). Ottoscaler is not touched: it has to ride
 * the fault out by itself.
 *
 * While the fault lasts, what a client sees is recorded (Ottoscaler's `/readyz` answers that were
 * not 200, and failed GetWorkerStatus calls), and printed. Recovery is the time from the fault
 * until Ottoscaler is ready again and its view has caught up with the API server: it reports at
 * least as many ended workers as the pods that had ended when the plane was back.
 *
 * @module
 */

import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { untilAnswered } from "./kill_serve.ts";
import {
  ensureChaosPlane,
  type FaultTimes,
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

/** A run of such a scenario. */
export interface ScaleFaultOptions {
  /** The row's name. */
  readonly scenario: string;
  /** Workers of the one ScaleUp. */
  readonly workers: number;
  /** Lines each prints. */
  readonly lines: number;
  /** How long each runs (OTTO_SIM_DURATION). */
  readonly duration: string;
  /** The fault is injected once this many pods exist. */
  readonly faultAfterPods: number;
  /** Injects the fault; resolves once the plane is ready again. */
  readonly fault: () => Promise<FaultTimes>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the scenario; see the module doc. */
export async function scaleThroughFault(options: ScaleFaultOptions): Promise<ScenarioResult> {
  const cp = await ensureChaosPlane();
  const api = planeApi(cp);
  const ns = await freshNamespace(api, "chaos-plane");
  const task: PrintingTask = {
    taskId: "burst",
    workers: options.workers,
    lines: options.lines,
    tag: (i) => `b${i} line`,
  };
  await printTask(cp, api, ns.namespace, task);
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-plane-" });
  const port = freePort();
  const httpPort = freePort();
  const serve = startKubeServe(cp, ns.namespace, stateDir, port, httpPort);
  const client: OttoscalerServiceClient = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const census = new PodCensus(api, ns.namespace);
  const started = performance.now();
  try {
    await untilAnswered(async () => {
      const r = await readyz(httpPort);
      if (r.status !== 200) throw new Error(`not ready: ${r.body}`);
    });
    const scaled = unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: task.taskId,
      worker_count: task.workers,
      build_config: { image: "busybox:1.36", OTTO_SIM_DURATION: options.duration },
    });
    scaled.catch(() => {}); // awaited below
    await untilAnswered(async () => {
      const pods = await census.list();
      if (pods.length < options.faultAfterPods) throw new Error("not yet");
    }, 300_000);

    // The fault, and what a client sees meanwhile.
    const seen = new Map<string, number>();
    const note = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
    let faulting = true;
    const observer = (async () => {
      while (faulting) {
        const r = await readyz(httpPort);
        if (r.status !== 200) note(`/readyz ${r.status}: ${r.body.trim().split("\n").join("; ")}`);
        await status({ task_id: task.taskId }).catch((err) =>
          note(`GetWorkerStatus: ${String(err).slice(0, 160)}`)
        );
        await sleep(250);
      }
    })();
    const faultAt = performance.now();
    const times = await options.fault();
    faulting = false;
    await observer;
    // Recovered: ready, and at least as many ended workers as pods had ended at this point.
    const endedPods = (await census.list()).filter((p) =>
      p.status?.phase === "Succeeded" || p.status?.phase === "Failed"
    ).length;
    await untilAnswered(async () => {
      const r = await readyz(httpPort);
      if (r.status !== 200) {
        throw new Error(`not ready: ${r.body}`);
      }
      const { workers } = await status({ task_id: task.taskId });
      const ended = workers.filter((w) =>
        w.status === "succeeded" || w.status === "failed"
      );
      if (ended.length < endedPods) throw new Error("behind the API server");
    }, 300_000);
    const recoverMs = performance.now() - faultAt;
    console.error(
      `${options.scenario}: plane down ${times.downMs} ms, back ${times.upMs} ms later; ` +
        `Ottoscaler caught up ${Math.round(recoverMs)} ms after the fault; meanwhile:\n` +
        ([...seen].map(([what, n]) => `  ${n}x ${what}`).join("\n") || "  nothing failed"),
    );

    const res = await scaled;
    if (res.status !== "SUCCESS") {
      console.error(`ScaleUp answered ${res.status}: ${res.message.slice(0, 500)}`);
    }
    await untilAnswered(async () => {
      const { workers } = await status({ task_id: task.taskId });
      if (workers.some((w) => w.status === "pending" || w.status === "running")) {
        throw new Error("still running");
      }
    }, 600_000);
    const { workers } = await status({});
    const pods = await census.stop();
    const found = await reckon({
      client,
      workers,
      api,
      namespace: ns.namespace,
      pods,
      tasks: [task],
    });
    if (found.failures.length) console.error(found.failures.slice(0, 10).join("\n"));
    const exited = await Promise.race([serve.child.status, sleep(0).then(() => undefined)]);
    return {
      scenario: options.scenario,
      faults: 1,
      workers: options.workers,
      lines: options.workers * options.lines,
      lost: found.lost,
      duplicates: found.duplicates,
      duplicateWorkers: found.extraPods,
      duplicatePods: census.duplicates() + found.extraPods,
      orphanPods: found.orphanPods,
      failedWorkers: found.failedWorkers,
      stagesRerun: 0,
      aborts: exited ? 1 : 0,
      recoverP50Ms: recoverMs,
      recoverMaxMs: recoverMs,
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
