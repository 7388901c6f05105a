/**
 * Chaos scenario: agents inside workers stream lines on `LogStreamingService` and are killed
 * (SIGKILL: the connection drops mid-stream, unanswered entries in flight) at random moments,
 * then started again; each registers, learns the last line stored (`last_agent_sequence`) and
 * resumes after it, resending nothing that was stored. Serve runs supervised, so an abort of the
 * runtime's HTTP/2 (denoland/deno#36788, which a server that received many messages on one stream
 * can hit when its peer goes) restarts it, and is counted.
 *
 * Counted from each worker's numbered log, read back with WatchWorkerLogs: lines lost (an agent
 * line never stored), duplicate lines (one agent line stored twice, or a gap in the sequences),
 * and aborts. Recovery is the time from a kill until the agent started again has registered and
 * learnt where to resume.
 *
 * @module
 */

import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { abortsIn } from "./handler_restart.ts";
import { freePort, startServe, stream, untilAnswered } from "./kill_serve.ts";
import type { ScenarioResult } from "./table.ts";

const AGENT = new URL("./agent.mjs", import.meta.url).pathname;

/** The size of a run. */
export interface AgentDropOptions {
  /** Workers, one agent each. */
  readonly agents: number;
  /** Lines each agent streams. */
  readonly lines: number;
  /** Kills of each agent. */
  readonly drops: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one agent until it has streamed everything, killing it `drops` times on the way. */
async function runAgent(
  address: string,
  workerId: string,
  lines: number,
  drops: number,
  recoveries: number[],
): Promise<{ faults: number; failures: string[] }> {
  let faults = 0;
  const failures: string[] = [];
  let killedAt: number | undefined;
  for (let run = 0; run < drops + 20; run++) {
    const child = new Deno.Command("node", {
      args: [AGENT, address, workerId, "agents", String(lines)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Killed mid-stream: once a random share of what is left was acknowledged.
    // (Below nine tenths, so that the kill comes before the agent is done.)
    const kill = faults < drops ? Math.random() * 0.9 : undefined;
    let killed = false;
    let out = "";
    const read = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        out += chunk;
        const resume = out.match(/RESUME (\d+)/);
        if (!resume) continue;
        if (killedAt !== undefined) {
          recoveries.push(performance.now() - killedAt);
          killedAt = undefined;
        }
        const acked = [...out.matchAll(/ACKED (\d+)/g)].at(-1);
        const target = Number(resume[1]) + (kill ?? 2) * (lines - Number(resume[1]));
        if (!killed && acked && Number(acked[1]) >= target && Number(acked[1]) < lines) {
          killed = true;
          child.kill("SIGKILL");
        }
      }
    })();
    const errors = new Response(child.stderr).text();
    const end = await child.status;
    await read;
    const err = await errors;
    if (killed && end.signal === "SIGKILL") {
      faults++;
      killedAt = performance.now();
      continue;
    }
    if (end.code === 0) return { faults, failures };
    // A RETRY or a failed call (serve restarting after an abort): start it again, as an agent
    // would; anything else is a failure to report.
    if (end.code === 3 || end.code === 5) {
      await sleep(200);
      continue;
    }
    failures.push(`${workerId}: agent exited ${end.code}: ${err.trim()}`);
    return { faults, failures };
  }
  failures.push(`${workerId}: agent never finished`);
  return { faults, failures };
}

/** Runs the scenario; see the module doc. */
export async function agentDrop(options: AgentDropOptions): Promise<ScenarioResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-agents-" });
  const port = freePort();
  const address = `127.0.0.1:${port}`;
  const serve = startServe(stateDir, port, { SUPERVISE: "true", HTTP_PORT: "0" });
  const client = connect(address);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const started = performance.now();
  try {
    await untilAnswered(() => status({}));
    // Each worker waits for the scenario to say its agent is done (a file in its directory).
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: "agents",
      worker_count: options.agents,
      build_config: {
        command: `echo "w$OTTO_WORKER_INDEX up"; while [ ! -e "$HOME/done" ]; do sleep 0.2; done`,
      },
    });
    if (res.status !== "SUCCESS") throw new Error(`ScaleUp: ${res.status} ${res.message}`);
    const ids = Array.from({ length: options.agents }, (_, i) => `otto-agent-agents-${i + 1}`);
    await untilAnswered(async () => {
      const { workers } = await status({ task_id: "agents" });
      if (workers.filter((w) => w.status === "running").length < ids.length) {
        throw new Error("starting");
      }
    });
    const recoveries: number[] = [];
    const runs = await Promise.all(
      ids.map((id) => runAgent(address, id, options.lines, options.drops, recoveries)),
    );
    const failures = runs.flatMap((r) => r.failures);
    if (failures.length > 0) throw new Error(failures.join("\n"));
    for (const id of ids) await Deno.writeTextFile(`${stateDir}/workers/${id}/work/done`, "");
    await untilAnswered(async () => {
      const { workers } = await status({ task_id: "agents" });
      if (workers.some((w) => w.status !== "succeeded")) throw new Error("running");
    }, 120_000);

    let lost = 0;
    let duplicates = 0;
    for (const id of ids) {
      const entries = await stream<WorkerLogEntry__Output>(
        client.WatchWorkerLogs({ task_id: "agents", worker_id: id }),
      );
      const index = id.split("-").at(-1);
      const seen = new Map<string, number>();
      entries.forEach((e, i) => {
        if (Number(e.sequence) !== i + 1) duplicates++; // a gap or a repeat in the numbering
        seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
      });
      for (let j = 1; j <= options.lines; j++) {
        const n = seen.get(`a${index} line ${j}`) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicates += n - 1;
      }
    }
    const ms = [...recoveries].sort((a, b) => a - b);
    return {
      scenario: "agents killed mid-stream",
      faults: runs.reduce((sum, r) => sum + r.faults, 0),
      workers: options.agents,
      lines: options.agents * options.lines,
      lost,
      duplicates,
      duplicateWorkers: 0,
      stagesRerun: 0,
      aborts: abortsIn(serve.errors()),
      recoverP50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
      recoverMaxMs: ms.at(-1) ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    // However the run went, the workers end (they wait for this file).
    for (let i = 1; i <= options.agents; i++) {
      await Deno.writeTextFile(`${stateDir}/workers/otto-agent-agents-${i}/work/done`, "")
        .catch(() => {});
    }
    await sleep(500);
    client.close();
    await serve.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
}
