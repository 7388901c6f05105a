/**
 * Chaos scenario: the state directory damaged while Ottoscaler is down (local runtime), as a full
 * disk or a bad block leaves it: every worker's `state.json` truncated to half, garbage in
 * `owner.json` and in a pipeline's file, a worker's `spec.json` garbage. Ottoscaler must start
 * (once, no crash loop), set the bad files aside, and still serve every worker's lines.
 *
 * @module
 */

import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { freePort, startServe, stream, untilAnswered } from "./kill_serve.ts";
import type { ScenarioResult } from "./table.ts";

/** Runs the scenario with `workers` workers of `lines` lines each. */
export async function badState(workers: number, lines: number): Promise<ScenarioResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-" });
  const port = freePort();
  const started = performance.now();
  let serve = startServe(stateDir, port);
  const client = connect(`127.0.0.1:${port}`);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  try {
    await untilAnswered(() => status({}));
    await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: "bad",
      worker_count: workers,
      build_config: { command: `seq 1 ${lines} | sed "s/^/w$OTTO_WORKER_INDEX line /"` },
    });
    await untilAnswered(async () => {
      const { workers: ws } = await status({});
      if (ws.some((w) => w.status !== "succeeded")) throw new Error("running");
    });
    serve.child.kill("SIGKILL");
    await serve.child.status;
    await serve.drained;

    // The damage.
    let faults = 0;
    for await (const entry of Deno.readDir(`${stateDir}/workers`)) {
      const path = `${stateDir}/workers/${entry.name}/state.json`;
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.slice(0, text.length / 2));
      faults++;
    }
    await Deno.writeTextFile(`${stateDir}/owner.json`, "\u0000\u0000\u0000");
    await Deno.mkdir(`${stateDir}/pipelines`, { recursive: true });
    await Deno.writeTextFile(`${stateDir}/pipelines/broken.json`, '{"definition":');
    await Deno.writeTextFile(`${stateDir}/workers/otto-agent-bad-1/spec.json`, "garbage");
    faults += 3;

    serve = startServe(stateDir, port);
    const recover = await untilAnswered(() => status({}), 60_000);
    const exitedEarly = await Promise.race([
      serve.child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
    ]);
    const { workers: left } = await status({});
    let lost = 0;
    let duplicates = 0;
    for (let i = 2; i <= workers; i++) {
      const entries = await stream<WorkerLogEntry__Output>(
        client.WatchWorkerLogs({ task_id: "bad", worker_id: `otto-agent-bad-${i}` }),
      );
      const seen = new Map<string, number>();
      for (const e of entries) seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
      for (let j = 1; j <= lines; j++) {
        const n = seen.get(`w${i} line ${j}`) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicates += n - 1;
      }
      if (left.find((w) => w.pod_name === `otto-agent-bad-${i}`)?.status !== "succeeded") lost++;
    }
    return {
      scenario: "state files truncated / garbage",
      faults,
      workers,
      // Worker 1's spec is garbage: it is set aside (kept for a human), not served.
      lines: (workers - 1) * lines,
      lost,
      duplicates,
      duplicateWorkers: Math.max(0, left.length - (workers - 1)),
      stagesRerun: 0,
      aborts: exitedEarly ? 1 : 0,
      recoverP50Ms: recover,
      recoverMaxMs: recover,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    client.close();
    await serve.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}
