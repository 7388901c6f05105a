/**
 * `deno task soak`: steady load on one `serve` (local runtime) for `--minutes`: a task of 3 workers
 * started every second (each printing 200 lines, its lines pulled by a follower), a pipeline of two
 * stages every 5 s, ended workers removed after `STATE_RETENTION_SECONDS` (10 here), so the number
 * of tracked workers levels off. Every 5 s it samples the process's RSS and open file descriptors
 * (from /proc) and the tracked workers; at the end it prints the first and last samples and the
 * slope of each (least squares over the second half, after warm-up), per minute.
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

/** One sample. */
export interface Sample {
  /** Minutes since the start. */
  readonly minute: number;
  /** Resident set size, KiB. */
  readonly rssKiB: number;
  /** Open file descriptors. */
  readonly fds: number;
  /** Workers the server tracks. */
  readonly tracked: number;
}

/** What a soak measured. */
export interface SoakResult {
  /** Every sample. */
  readonly samples: readonly Sample[];
  /** Least-squares slopes over the second half, per minute. */
  readonly slope: { readonly rssKiB: number; readonly fds: number; readonly tracked: number };
  /** Tasks started, lines pulled, pipelines started. */
  readonly tasks: number;
  readonly linesPulled: number;
  readonly pipelines: number;
  /** Whether the server was still running at the end. */
  readonly alive: boolean;
}

function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

async function sample(pid: number, tracked: number, minute: number): Promise<Sample> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKiB = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  return { minute, rssKiB, fds, tracked };
}

/** Runs the soak for `minutes`; see the module doc. */
export async function soak(minutes: number): Promise<SoakResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-soak-" });
  const port = freePort();
  const serve = startServe(stateDir, port, { STATE_RETENTION_SECONDS: "10" });
  const client = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const samples: Sample[] = [];
  let tasks = 0;
  let pipelines = 0;
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
        build_config: { command: "seq 1 200" },
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
            { stage_id: "build", worker_count: 1, command: ["seq", "1", "100"] },
            { stage_id: "test", worker_count: 2, depends_on: ["build"], command: ["true"] },
          ],
        });
        call.on("data", () => {});
        call.on("error", () => {});
      }
      if (performance.now() >= nextSample) {
        const { total_count } = await status({});
        samples.push(
          await sample(serve.child.pid, total_count, (performance.now() - start) / 60_000),
        );
        nextSample += 5_000;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    await Promise.all(pulls);
    const alive = await Promise.race([
      serve.child.status.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 100)),
    ]);
    const half = samples.slice(Math.floor(samples.length / 2));
    return {
      samples,
      slope: {
        rssKiB: slope(half.map((s) => [s.minute, s.rssKiB])),
        fds: slope(half.map((s) => [s.minute, s.fds])),
        tracked: slope(half.map((s) => [s.minute, s.tracked])),
      },
      tasks,
      linesPulled,
      pipelines,
      alive,
    };
  } finally {
    client.close();
    try {
      serve.child.kill("SIGTERM");
    } catch { /* gone */ }
    await serve.child.status;
    await serve.drained;
    await Deno.remove(stateDir, { recursive: true });
  }
}

/** The result as text. */
export function formatSoak(r: SoakResult): string {
  const first = r.samples[0];
  const last = r.samples.at(-1);
  const row = (s: Sample | undefined) =>
    s
      ? `${s.minute.toFixed(1)} min: RSS ${(s.rssKiB / 1024).toFixed(1)} MiB, ${s.fds} fds, ` +
        `${s.tracked} workers tracked`
      : "-";
  return [
    `tasks ${r.tasks} (3 workers each), pipelines ${r.pipelines}, lines pulled ${r.linesPulled}`,
    `first ${row(first)}`,
    `last  ${row(last)}`,
    `slope over the second half, per minute: RSS ${(r.slope.rssKiB / 1024).toFixed(2)} MiB, ` +
    `fds ${r.slope.fds.toFixed(2)}, tracked workers ${r.slope.tracked.toFixed(2)}`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { minutes: { type: "string" } } });
  const result = await soak(Number(values.minutes ?? "120"));
  console.log(formatSoak(result));
}
