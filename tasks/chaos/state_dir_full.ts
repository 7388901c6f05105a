/**
 * Chaos scenario: STATE_DIR full. Serve (local runtime) runs on a small tmpfs the scenario mounts
 * (`mount -t tmpfs`: needs root, as here and in CI; if mounting is impossible it fails saying
 * why). While workers print, a file fills the filesystem to the last byte; then it is removed.
 * Each time, while full: a ScaleUp must be RESOURCE_EXHAUSTED naming the state directory (and
 * leave nothing behind), an agent's line must be answered RETRY naming it, /readyz must be 503
 * naming it, and the log must say so; serve must not exit. Once space is back: /readyz ready, the
 * refused ScaleUp succeeds, and every worker ends with every line it printed, numbered once.
 *
 * The workers retry a write that fails (as any program writing to a full disk must) and print
 * lines of exactly 64 bytes, so that a write never fills part of a page and fails for the rest:
 * what they printed is exactly what they meant to. Counted: lines lost, lines numbered twice (or
 * gaps), unexpected exits of serve (aborts), and the time from space freed until /readyz is
 * ready again.
 *
 * @module
 */

import type * as grpc from "@grpc/grpc-js";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { LogResponse__Output } from "../../proto/generated/ottoscaler/v1/LogResponse.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { freePort, startServe, stream, untilAnswered } from "./kill_serve.ts";
import { agentClient } from "./agent_client.ts";
import type { ScenarioResult } from "./table.ts";

/** The size of a run. */
export interface StateDirFullOptions {
  /** Workers printing. */
  readonly workers: number;
  /** Lines each prints. */
  readonly lines: number;
  /** Times the filesystem is filled and freed. */
  readonly fills: number;
  /** How long it stays full each time. */
  readonly fullMs: number;
  /** The filesystem's size, MiB. */
  readonly sizeMiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command; throws with its output when it fails. */
async function run(command: string, args: string[], why: string): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${why}: ${command} ${args.join(" ")} failed (${out.code}): ${text}`);
  }
}

/** Writes zeros to `path` until the filesystem is full. */
async function fill(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, append: true });
  const chunk = new Uint8Array(64 * 1024);
  // Halving on each failure: the last pages, to the last byte.
  for (let size = chunk.length;;) {
    try {
      await file.write(chunk.subarray(0, size));
    } catch (err) {
      if (!(err instanceof Error) || !/os error 28/.test(err.message)) throw err;
      if (size === 1) return;
      size = Math.floor(size / 2);
    }
  }
}

/** Expects `call` to fail with RESOURCE_EXHAUSTED naming `stateDir`; returns the message. */
async function expectFull(what: string, stateDir: string, call: () => Promise<unknown>) {
  try {
    const res = await call();
    throw new Error(
      `${what} while STATE_DIR is full: expected RESOURCE_EXHAUSTED, got ${JSON.stringify(res)}`,
    );
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (e.code !== 8 || !e.details?.includes(stateDir)) {
      throw new Error(
        `${what} while STATE_DIR is full: expected RESOURCE_EXHAUSTED naming ` +
          `${stateDir}, got ${e.code}: ${e.details ?? e.message}`,
      );
    }
  }
}

/** Runs the scenario; see the module doc. */
export async function stateDirFull(options: StateDirFullOptions): Promise<ScenarioResult> {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-chaos-full-" });
  const stateDir = `${dir}/state`;
  await Deno.mkdir(stateDir);
  try {
    await run(
      "mount",
      ["-t", "tmpfs", "-o", `size=${options.sizeMiB}m`, "tmpfs", stateDir],
      "the STATE_DIR full scenario mounts a small tmpfs (as root, with CAP_SYS_ADMIN)",
    );
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  const port = freePort();
  const httpPort = freePort();
  const serve = startServe(stateDir, port, { HTTP_PORT: String(httpPort), LOG_LEVEL: "info" });
  const address = `127.0.0.1:${port}`;
  const client = connect(address);
  const status = (req: WorkerStatusRequest) =>
    unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      req,
    );
  const scaleUp = (req: ScaleRequest) =>
    unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    return { status: res.status, text: await res.text() };
  };
  let serveEnded = false;
  serve.child.status.then(() => serveEnded = true);
  const started = performance.now();
  const recoveries: number[] = [];
  let agents: ReturnType<typeof agentClient> | undefined;
  try {
    await untilAnswered(() => status({}));
    agents = agentClient(address);
    const res = await scaleUp({
      task_id: "full",
      worker_count: options.workers,
      build_config: {
        command: `i=1; while [ $i -le ${options.lines} ]; do ` +
          `until printf '%-63s\\n' "w$OTTO_WORKER_INDEX line $i"; do sleep 0.2; done; ` +
          `i=$((i+1)); case $((i % 100)) in 0) sleep 0.05;; esac; done`,
      },
    });
    if (res.status !== "SUCCESS") throw new Error(`ScaleUp: ${res.status} ${res.message}`);
    // An extra worker that only waits, for the agent's line.
    const waiter = await scaleUp({
      task_id: "full-agent",
      worker_count: 1,
      build_config: { command: `while [ ! -e "$HOME/done" ]; do sleep 0.2; done` },
    });
    if (waiter.status !== "SUCCESS") throw new Error(`ScaleUp: ${waiter.status}`);
    for (let f = 1; f <= options.fills; f++) {
      await sleep(1000);
      const filler = `${stateDir}/filler`;
      await fill(filler);
      await expectFull("ScaleUp", stateDir, () =>
        scaleUp({
          task_id: `refused-${f}`,
          worker_count: 1,
          build_config: { command: "echo ok" },
        }));
      const left = await status({ task_id: `refused-${f}` });
      if (left.workers.length > 0) throw new Error("a refused ScaleUp left a worker behind");
      // An agent's line: RETRY naming the state directory (when its page is full: the log may
      // still have room in its last page, so a few lines may get in first).
      let answer: LogResponse__Output | undefined;
      const agent = agents;
      for (let n = 0; n < 200 && answer?.status !== "RETRY"; n++) {
        answer = await agent.send({
          worker_id: "otto-agent-full-agent-1",
          message: `agent line ${f}-${n} ${"x".repeat(1000)}`,
        });
      }
      if (answer?.status !== "RETRY" || !answer.message.includes(stateDir)) {
        throw new Error(
          `agent line while full: expected RETRY naming ${stateDir}, got ` +
            JSON.stringify(answer),
        );
      }
      const ready = await readyz();
      if (ready.status !== 503 || !ready.text.includes(stateDir)) {
        throw new Error(
          `/readyz while full: expected 503 naming ${stateDir}, got ` +
            `${ready.status} ${ready.text}`,
        );
      }
      await sleep(options.fullMs);
      await Deno.remove(filler);
      const freed = performance.now();
      await untilAnswered(async () => {
        if ((await readyz()).status !== 200) throw new Error("not ready");
      }, 60_000);
      recoveries.push(performance.now() - freed);
      const again = await scaleUp({
        task_id: `refused-${f}`,
        worker_count: 1,
        build_config: { command: "echo ok" },
      });
      if (again.status !== "SUCCESS") throw new Error(`ScaleUp once freed: ${again.status}`);
    }
    if (!/"msg":"the state directory is full/.test(serve.errors())) {
      throw new Error("serve did not log that the state directory is full");
    }
    await Deno.writeTextFile(`${stateDir}/workers/otto-agent-full-agent-1/work/done`, "");
    await untilAnswered(async () => {
      const { workers } = await status({});
      if (workers.some((w) => w.status === "pending" || w.status === "running")) {
        throw new Error("running");
      }
    }, 300_000);

    let lost = 0;
    let duplicates = 0;
    const { workers } = await status({});
    for (const w of workers) {
      if (w.status !== "succeeded") {
        throw new Error(`${w.pod_name} ended ${w.status}: ${w.error_message}`);
      }
    }
    for (let i = 1; i <= options.workers; i++) {
      const entries = await stream<WorkerLogEntry__Output>(
        client.WatchWorkerLogs({ task_id: "full", worker_id: `otto-agent-full-${i}` }),
      );
      const seen = new Map<string, number>();
      entries.forEach((e, k) => {
        if (Number(e.sequence) !== k + 1) duplicates++;
        const text = e.message.trimEnd();
        seen.set(text, (seen.get(text) ?? 0) + 1);
      });
      for (let j = 1; j <= options.lines; j++) {
        const n = seen.get(`w${i} line ${j}`) ?? 0;
        if (n === 0) lost++;
        if (n > 1) duplicates += n - 1;
      }
    }
    const ms = [...recoveries].sort((a, b) => a - b);
    return {
      scenario: "STATE_DIR full, then freed",
      faults: options.fills,
      workers: options.workers,
      lines: options.workers * options.lines,
      lost,
      duplicates,
      duplicateWorkers: 0,
      stagesRerun: 0,
      aborts: serveEnded ? 1 : 0,
      recoverP50Ms: ms[Math.floor(ms.length / 2)] ?? 0,
      recoverMaxMs: ms.at(-1) ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\nserve's log (end):\n${serve.errors().slice(-3000)}`,
      {
        cause: err,
      },
    );
  } finally {
    await Deno.remove(`${stateDir}/filler`).catch(() => {});
    // However the run went, no worker is left retrying its writes.
    for await (const entry of Deno.readDir(`${stateDir}/workers`)) {
      const pid = Number(
        await Deno.readTextFile(`${stateDir}/workers/${entry.name}/pid`).catch(() => ""),
      );
      if (pid > 0) {
        try {
          Deno.kill(-pid, "SIGKILL");
        } catch { /* ended */ }
      }
    }
    await Deno.writeTextFile(`${stateDir}/workers/otto-agent-full-agent-1/work/done`, "")
      .catch(() => {});
    agents?.close();
    client.close();
    await serve.stop();
    // Lazily: a worker left running by a failed run lets go of the filesystem when it ends.
    await run("umount", ["-l", stateDir], "unmounting the scenario's tmpfs").catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}
