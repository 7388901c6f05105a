/**
 * Chaos scenario: otto-handler killed with SIGKILL and started again, over and over, while
 * workers print and Ottoscaler (local runtime, supervised) pushes their lines and state changes
 * to it. The handler is a grpc-js server on Node.js (record_handler.mjs) that writes every
 * (worker, sequence) it received to a file that outlives it, and acknowledges only what it wrote.
 *
 * Counted from that file: lines lost (a printed line never received), duplicate lines beyond the
 * same (worker, sequence) (one printed line received under two sequences, or one sequence with
 * two texts), statuses not delivered (each worker's CREATED, RUNNING and COMPLETED), and aborts
 * (serve restarted by its supervisor: denoland/deno#36788). Recovery is the time from a kill until
 * the restarted handler receives its first line again.
 *
 * @module
 */

import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { freePort, startServe, untilAnswered } from "./kill_serve.ts";
import type { ScenarioResult } from "./table.ts";

const HANDLER = new URL("./record_handler.mjs", import.meta.url).pathname;

/** The size of a run. */
export interface HandlerRestartOptions {
  /** Workers. */
  readonly workers: number;
  /** Lines each prints. */
  readonly lines: number;
  /** SIGKILLs of the handler. */
  readonly kills: number;
  /** Time the handler runs (once it receives again) before the next kill. */
  readonly intervalMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The handler process; `first` resolves when it received its first line. */
function startHandler(port: number, recordFile: string) {
  const child = new Deno.Command("node", {
    args: [HANDLER, String(port), recordFile],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const listening = Promise.withResolvers<void>();
  const first = Promise.withResolvers<void>();
  const read = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (/^PORT /m.test(text)) listening.resolve();
      if (/^FIRST$/m.test(text)) first.resolve();
    }
    listening.reject(new Error("the handler exited before listening"));
  })();
  return { child, listening: listening.promise, first: first.promise, read };
}

/** What the record file says, counted against what the workers printed. */
export async function countRecord(
  recordFile: string,
  workerIds: readonly string[],
  expected: (workerId: string, sequence: number) => string,
  lines: number,
): Promise<{ lost: number; duplicates: number; statusesMissing: number; received: number }> {
  const bySequence = new Map<string, string>();
  const sequencesOfText = new Map<string, Set<number>>();
  const statuses = new Map<string, Set<string>>();
  let duplicates = 0;
  let received = 0;
  for (const line of (await Deno.readTextFile(recordFile)).split("\n")) {
    const [kind, worker, third, ...rest] = line.split(" ");
    if (kind === "S") {
      statuses.set(worker, (statuses.get(worker) ?? new Set()).add(third));
      continue;
    }
    if (kind !== "L") continue;
    received++;
    const message = rest.join(" ");
    const key = `${worker} ${third}`;
    const before = bySequence.get(key);
    if (before !== undefined && before !== message) duplicates++; // one sequence, two texts
    bySequence.set(key, message);
    const textKey = `${worker} ${message}`;
    sequencesOfText.set(textKey, (sequencesOfText.get(textKey) ?? new Set()).add(Number(third)));
  }
  for (const sequences of sequencesOfText.values()) duplicates += sequences.size - 1;
  let lost = 0;
  let statusesMissing = 0;
  for (const id of workerIds) {
    for (let j = 1; j <= lines; j++) {
      if (bySequence.get(`${id} ${j}`) !== expected(id, j)) lost++;
    }
    const got = statuses.get(id) ?? new Set();
    for (const s of ["CREATED", "RUNNING", "COMPLETED"]) if (!got.has(s)) statusesMissing++;
  }
  return { lost, duplicates, statusesMissing, received };
}

/** Serve restarts its supervisor logged (each one an abort of the child). */
export function abortsIn(log: string): number {
  return log.split('"msg":"serve died; starting it again"').length - 1;
}

/** Runs the scenario; see the module doc. */
export async function handlerRestart(options: HandlerRestartOptions): Promise<ScenarioResult> {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-handler-" });
  const stateDir = `${dir}/state`;
  const recordFile = `${dir}/record.txt`;
  const handlerPort = freePort();
  const port = freePort();
  let handler = startHandler(handlerPort, recordFile);
  await handler.listening;
  const serve = startServe(stateDir, port, {
    OTTO_HANDLER_HOST: `127.0.0.1:${handlerPort}`,
    SUPERVISE: "true",
    HTTP_PORT: "0",
  });
  const client = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const started = performance.now();
  const recoveries: number[] = [];
  let faults = 0;
  try {
    await untilAnswered(() => status({}));
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: "handler",
      worker_count: options.workers,
      build_config: {
        command: `i=1; while [ $i -le ${options.lines} ]; do echo "w$OTTO_WORKER_INDEX line $i"; ` +
          `i=$((i+1)); case $((i % 100)) in 0) sleep 0.1;; esac; done`,
      },
    });
    if (res.status !== "SUCCESS") throw new Error(`ScaleUp: ${res.status} ${res.message}`);
    await handler.first;
    for (let k = 0; k < options.kills; k++) {
      await sleep(options.intervalMs);
      handler.child.kill("SIGKILL");
      await handler.child.status;
      await handler.read;
      faults++;
      const killedAt = performance.now();
      handler = startHandler(handlerPort, recordFile);
      await handler.listening;
      // Delivery may have finished meanwhile: then nothing comes, and the kills stop.
      const resumed = await Promise.race([
        handler.first.then(() => true),
        untilAnswered(async () => {
          const { workers } = await status({});
          if (workers.some((w) => w.status !== "succeeded")) throw new Error("running");
        }, 600_000).then(() => sleep(5_000)).then(() => false),
      ]);
      if (!resumed) break;
      recoveries.push(performance.now() - killedAt);
    }
    // Everything delivered: every line and the end of every worker recorded.
    const ids = Array.from({ length: options.workers }, (_, i) => `otto-agent-handler-${i + 1}`);
    const expected = (id: string, j: number) => `w${id.split("-").at(-1)} line ${j}`;
    let counted = await countRecord(recordFile, ids, expected, options.lines);
    const deadline = Date.now() + 600_000;
    while ((counted.lost > 0 || counted.statusesMissing > 0) && Date.now() < deadline) {
      await sleep(1000);
      counted = await countRecord(recordFile, ids, expected, options.lines);
    }
    const ms = [...recoveries].sort((a, b) => a - b);
    return {
      scenario: "otto-handler SIGKILLed (push)",
      faults,
      workers: options.workers,
      lines: options.workers * options.lines,
      lost: counted.lost + counted.statusesMissing,
      duplicates: counted.duplicates,
      duplicateWorkers: 0,
      stagesRerun: 0,
      aborts: abortsIn(serve.errors()),
      recoverP50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
      recoverMaxMs: ms.at(-1) ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    client.close();
    await serve.stop();
    try {
      handler.child.kill("SIGTERM");
    } catch { /* gone */ }
    await handler.child.status;
    await handler.read;
    await Deno.remove(dir, { recursive: true });
  }
}
