/**
 * Chaos scenario: Ottoscaler (local runtime) killed with SIGKILL every few seconds while workers
 * print and pipelines run, and started again at once (as a Deployment or the supervisor would).
 * Afterwards every worker's lines are read back and every pipeline is watched to its end.
 *
 * Counted: lines lost (a printed line missing from the numbered log), lines numbered twice (the
 * same text under two sequences), duplicate workers (more than asked), pipeline stages run more
 * than once (more than one attempt where none failed), and unexpected exits (an exit we did not
 * cause, such as denoland/deno#36788). Recovery is the time from a kill until the restarted
 * process answers GetWorkerStatus.
 *
 * @module
 */

import type * as grpc from "@grpc/grpc-js";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import type { ScenarioResult } from "./table.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The size of a run. */
export interface KillServeOptions {
  /** Workers of the scaled task. */
  readonly workers: number;
  /** Lines each of them prints. */
  readonly lines: number;
  /** Pipelines (build, then two test stages), started next to the workers. */
  readonly pipelines: number;
  /** SIGKILLs. */
  readonly kills: number;
  /** Time between a recovery and the next kill. */
  readonly intervalMs: number;
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One `serve` process; its output is drained and kept. */
export function startServe(stateDir: string, port: number, env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "serve", "--port", String(port), "--host", "127.0.0.1"],
    env: { STATE_DIR: stateDir, STOP_GRACE_SECONDS: "2", LOG_LEVEL: "warn", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let errors = "";
  const drained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) errors += chunk;
  })();
  /** Stops it with SIGTERM (if it still runs) and waits for it and its output to end. */
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await drained;
  };
  return { child, errors: () => errors, drained, stop };
}

/** Resolves once `call()` succeeds; the time it took, in ms. */
export async function untilAnswered(
  call: () => Promise<unknown>,
  limitMs = 120_000,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      await call();
      return performance.now() - start;
    } catch (err) {
      if (performance.now() - start > limitMs) throw err;
      await sleep(50);
    }
  }
}

/** Reads a server stream to its end. */
export function stream<T>(call: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    call.on("data", (item: T) => items.push(item));
    call.on("end", () => resolve(items));
    call.on("error", reject);
  });
}

const printer = (lines: number, tag: string) =>
  `i=1; while [ $i -le ${lines} ]; do echo "${tag} $i"; i=$((i+1)); ` +
  `case $((i % 50)) in 0) sleep 0.1;; esac; done`;

/** Runs the scenario; see the module doc. */
export async function killServe(options: KillServeOptions): Promise<ScenarioResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-" });
  const port = freePort();
  let serve = startServe(stateDir, port);
  const client: OttoscalerServiceClient = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const recoveries: number[] = [];
  let unexpectedExits = 0;
  const started = performance.now();
  try {
    await untilAnswered(() => status({}));
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(
      client.ScaleUp.bind(client),
      {
        task_id: "chaos",
        worker_count: options.workers,
        build_config: { command: printer(options.lines, "w$OTTO_WORKER_INDEX line") },
      },
    );
    if (res.status !== "SUCCESS") throw new Error(`ScaleUp: ${res.status} ${res.message}`);
    const stage = (id: string, dependsOn: string[]) => ({
      stage_id: id,
      worker_count: 2,
      depends_on: dependsOn,
      command: ["sh", "-c", printer(Math.max(10, options.lines / 10), `${id} line`)],
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
      if (exited) unexpectedExits++;
      else serve.child.kill("SIGKILL");
      await serve.child.status;
      await serve.drained;
      serve = startServe(stateDir, port);
      recoveries.push(await untilAnswered(() => status({})));
    }

    // Everything to its end: workers, then every pipeline (re-attached after the kills).
    await untilAnswered(async () => {
      const { workers } = await status({});
      if (workers.some((w) => w.status === "pending" || w.status === "running")) {
        throw new Error("still running");
      }
    }, 600_000);
    const stageRuns = new Map<string, Set<string>>();
    let stagesNotCompleted = 0;
    for (let p = 1; p <= options.pipelines; p++) {
      const progress = await stream<PipelineProgress__Output>(
        client.WatchPipeline({ pipeline_id: `chaos-p${p}` }),
      );
      const last = new Map<string, string>();
      for (const item of progress) last.set(item.stage_id, String(item.status));
      stagesNotCompleted += [...last.values()].filter((s) => s !== "STAGE_COMPLETED").length;
    }
    const { workers } = await status({});
    for (const w of workers) {
      const m = w.pod_name.match(/^otto-agent-(chaos-p\d+-\w+)-a(\d+)-\d+$/);
      if (m) stageRuns.set(m[1], (stageRuns.get(m[1]) ?? new Set()).add(m[2]));
    }
    const stagesRerun = [...stageRuns.values()].filter((attempts) => attempts.size > 1).length;

    const taskWorkers = workers.filter((w) => w.pod_name.startsWith("otto-agent-chaos-")).filter(
      (w) => /^otto-agent-chaos-\d+$/.test(w.pod_name),
    );
    let lost = 0;
    let duplicates = 0;
    let gaps = 0;
    for (const w of taskWorkers) {
      const entries = await stream<WorkerLogEntry__Output>(
        client.WatchWorkerLogs({ task_id: "chaos", worker_id: w.pod_name }),
      );
      const index = w.pod_name.split("-").at(-1);
      const seen = new Map<string, number>();
      entries.forEach((e, i) => {
        if (Number(e.sequence) !== i + 1) gaps++;
        seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
      });
      for (let j = 1; j <= options.lines; j++) {
        const n = seen.get(`w${index} line ${j}`) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicates += n - 1;
      }
    }
    const ms = [...recoveries].sort((a, b) => a - b);
    return {
      scenario: "serve SIGKILLed (local)",
      faults: options.kills,
      workers: options.workers + options.pipelines * 6,
      lines: options.workers * options.lines,
      lost,
      duplicates: duplicates + gaps,
      duplicateWorkers: Math.max(0, taskWorkers.length - options.workers),
      stagesRerun: stagesRerun + stagesNotCompleted,
      aborts: unexpectedExits,
      recoverP50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
      recoverMaxMs: ms.at(-1) ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    client.close();
    await serve.stop();
    // The workers run in their own process groups; none should be left, but make sure.
    await Deno.remove(stateDir, { recursive: true });
  }
}
