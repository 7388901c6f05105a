/**
 * `deno task soak`: steady load on one `serve` (local runtime) for `--minutes`: a task of 3 workers
 * started every second (each printing 200 lines, its lines pulled by a follower and pushed to an
 * otto-handler, see handler.ts), a pipeline of two stages every 5 s, ended workers removed after
 * `STATE_RETENTION_SECONDS` (10 here), so the number of tracked workers levels off. Every 5 s it
 * samples the process's RSS and open file descriptors (from /proc), its V8 heap (from `/metrics`)
 * and the tracked workers; at the end it waits for every line to reach the handler and prints the
 * first and last samples, the slope of each (least squares over the second half, after warm-up),
 * per minute, and whether memory stayed within its bound (see {@link memoryBound}).
 *
 * ```sh
 * deno task soak --minutes 120   # the full run
 * deno task soak --minutes 1     # what the test command runs (tests/e2e/soak_test.ts)
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { freePort, startServe, stream, untilAnswered } from "../chaos/kill_serve.ts";
import { type HandlerCounts, startSoakHandler } from "./handler.ts";

/** Lines each task's worker prints, and each pipeline's build stage. */
const TASK_LINES = 200;
const PIPELINE_LINES = 100;

/** One sample. */
export interface Sample {
  /** Minutes since the start. */
  readonly minute: number;
  /** Resident set size, KiB. */
  readonly rssKiB: number;
  /** V8 heap in use, KiB. */
  readonly heapKiB: number;
  /** Open file descriptors. */
  readonly fds: number;
  /** Workers the server tracks. */
  readonly tracked: number;
}

/** Least-squares slopes over the second half, per minute. */
export interface Slopes {
  readonly rssKiB: number;
  readonly heapKiB: number;
  readonly fds: number;
  readonly tracked: number;
}

/** Whether memory grew beyond what the workers tracked can explain. */
export interface MemoryVerdict {
  /** Growth over the second half (slope times its length), KiB. */
  readonly rssGrowthKiB: number;
  readonly heapGrowthKiB: number;
  /** What is allowed: the tracked workers' growth times the per-worker bound, plus the slack. */
  readonly allowedKiB: number;
  /** Both within the allowance. */
  readonly bounded: boolean;
}

/** What a soak measured. */
export interface SoakResult {
  /** Every sample. */
  readonly samples: readonly Sample[];
  /** Least-squares slopes over the second half, per minute. */
  readonly slope: Slopes;
  /** The memory verdict over the second half. */
  readonly memory: MemoryVerdict;
  /** Tasks started, lines pulled, pipelines started and finished. */
  readonly tasks: number;
  readonly linesPulled: number;
  readonly pipelines: number;
  readonly pipelinesFinished: number;
  /** Lines the run's workers printed, and what the handler received of them. */
  readonly linesPrinted: number;
  readonly pushed: HandlerCounts;
  /** Whether the server was still running at the end. */
  readonly alive: boolean;
}

/** Memory a tracked worker may cost (issue 14's goal: 100 MiB per 1,000 workers), KiB. */
export const PER_WORKER_KIB = 100;
/** Growth allowed whatever the workers (garbage collection's swings), KiB. */
export const SLACK_KIB = 16 * 1024;

/**
 * The memory verdict of the samples' second half: RSS and heap may grow by at most
 * {@link PER_WORKER_KIB} per additional tracked worker, plus {@link SLACK_KIB}.
 */
export function memoryBound(samples: readonly Sample[]): MemoryVerdict {
  const half = samples.slice(Math.floor(samples.length / 2));
  const span = half.length > 1 ? half.at(-1)!.minute - half[0].minute : 0;
  const growth = (pick: (s: Sample) => number) =>
    slope(half.map((s) => [s.minute, pick(s)])) * span;
  const rssGrowthKiB = growth((s) => s.rssKiB);
  const heapGrowthKiB = growth((s) => s.heapKiB);
  const allowedKiB = Math.max(0, growth((s) => s.tracked)) * PER_WORKER_KIB + SLACK_KIB;
  return {
    rssGrowthKiB,
    heapGrowthKiB,
    allowedKiB,
    bounded: rssGrowthKiB <= allowedKiB && heapGrowthKiB <= allowedKiB,
  };
}

/** The least-squares slope of y over x. */
export function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

async function sample(
  pid: number,
  httpPort: number,
  tracked: number,
  minute: number,
): Promise<Sample> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKiB = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const heap = metrics.match(/^process_heap_used_bytes (\S+)$/m)?.[1];
  if (heap === undefined) throw new Error("/metrics has no process_heap_used_bytes");
  return { minute, rssKiB, heapKiB: Number(heap) / 1024, fds, tracked };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the soak for `minutes`; see the module doc. `onSample` sees each sample as it is taken. */
export async function soak(
  minutes: number,
  onSample: (sample: Sample) => void = () => {},
): Promise<SoakResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-soak-" });
  const handler = await startSoakHandler();
  const port = freePort();
  const httpPort = freePort();
  const serve = startServe(stateDir, port, {
    STATE_RETENTION_SECONDS: "10",
    OTTO_HANDLER_HOST: handler.address,
    HTTP_PORT: String(httpPort),
  });
  const client = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const samples: Sample[] = [];
  let tasks = 0;
  let pipelines = 0;
  let pipelinesFinished = 0;
  let linesPulled = 0;
  const pulls: Promise<void>[] = [];
  try {
    await untilAnswered(() => status({}));
    const start = performance.now();
    const end = start + minutes * 60_000;
    let nextSample = start;
    while (performance.now() < end) {
      const n = ++tasks;
      await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
        task_id: `soak-${n}`,
        worker_count: 3,
        build_config: { command: `seq 1 ${TASK_LINES}` },
      });
      pulls.push(
        stream(client.WatchWorkerLogs({ task_id: `soak-${n}`, follow: true })).then((lines) => {
          linesPulled += lines.length;
        }, () => {}),
      );
      if (n % 5 === 0) {
        pipelines++;
        const call = client.ExecutePipeline({
          pipeline_id: `soak-p${n}`,
          stages: [
            {
              stage_id: "build",
              worker_count: 1,
              command: ["seq", "1", String(PIPELINE_LINES)],
            },
            { stage_id: "test", worker_count: 2, depends_on: ["build"], command: ["true"] },
          ],
        });
        call.on("data", () => {});
        call.on("end", () => pipelinesFinished++);
        call.on("error", () => {});
      }
      if (performance.now() >= nextSample) {
        const { total_count } = await status({});
        const taken = await sample(
          serve.child.pid,
          httpPort,
          total_count,
          (performance.now() - start) / 60_000,
        );
        samples.push(taken);
        onSample(taken);
        nextSample += 5_000;
      }
      await sleep(1000);
    }
    await Promise.all(pulls);
    const linesPrinted = tasks * 3 * TASK_LINES + pipelines * PIPELINE_LINES;
    // Every line reaches the handler; a run that cannot deliver them all shows it in the counts.
    const deadline = performance.now() + 120_000;
    while (handler.counts().lines < linesPrinted && performance.now() < deadline) await sleep(200);
    const alive = await Promise.race([
      serve.child.status.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 100)),
    ]);
    const half = samples.slice(Math.floor(samples.length / 2));
    const halfSlope = (pick: (s: Sample) => number) => slope(half.map((s) => [s.minute, pick(s)]));
    return {
      samples,
      slope: {
        rssKiB: halfSlope((s) => s.rssKiB),
        heapKiB: halfSlope((s) => s.heapKiB),
        fds: halfSlope((s) => s.fds),
        tracked: halfSlope((s) => s.tracked),
      },
      memory: memoryBound(samples),
      tasks,
      linesPulled,
      pipelines,
      pipelinesFinished,
      linesPrinted,
      pushed: handler.counts(),
      alive,
    };
  } finally {
    client.close();
    await serve.stop();
    await handler.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

/** The result as text. */
export function formatSoak(r: SoakResult): string {
  const first = r.samples[0];
  const last = r.samples.at(-1);
  const row = (s: Sample | undefined) =>
    s
      ? `${s.minute.toFixed(1)} min: RSS ${mib(s.rssKiB)} MiB, heap ${mib(s.heapKiB)} MiB, ` +
        `${s.fds} fds, ${s.tracked} workers tracked`
      : "-";
  const m = r.memory;
  return [
    `tasks ${r.tasks} (3 workers each), pipelines ${r.pipelines} (${r.pipelinesFinished} ` +
    `finished), lines pulled ${r.linesPulled}`,
    `lines printed ${r.linesPrinted}, pushed to the handler ${r.pushed.lines} ` +
    `(${r.pushed.redelivered} redelivered), status notifications ${r.pushed.statuses}`,
    `first ${row(first)}`,
    `last  ${row(last)}`,
    `slope over the second half, per minute: RSS ${mib(r.slope.rssKiB)} MiB, heap ` +
    `${mib(r.slope.heapKiB)} MiB, fds ${r.slope.fds.toFixed(2)}, tracked workers ` +
    `${r.slope.tracked.toFixed(2)}`,
    `memory over the second half: RSS ${mib(m.rssGrowthKiB)} MiB, heap ${mib(m.heapGrowthKiB)} ` +
    `MiB, allowed ${mib(m.allowedKiB)} MiB: ${m.bounded ? "bounded" : "GROWING"}`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { minutes: { type: "string" }, samples: { type: "string" } },
  });
  const result = await soak(Number(values.minutes ?? "120"), (s) => {
    if (Math.round(s.minute * 12) % 12 === 0) {
      console.error(
        `${s.minute.toFixed(1)} min: RSS ${mib(s.rssKiB)} MiB, heap ${mib(s.heapKiB)} MiB, ` +
          `${s.fds} fds, ${s.tracked} tracked`,
      );
    }
  });
  if (values.samples) {
    await Deno.writeTextFile(values.samples, JSON.stringify(result.samples, null, 1));
  }
  console.log(formatSoak(result));
}
