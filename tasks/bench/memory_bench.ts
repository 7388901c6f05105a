/**
 * Memory benchmark (`deno task bench --only memory`): RSS and live V8 heap of an idle Ottoscaler
 * on the local runtime, next to a bare grpc-js server on the same Deno in the same run, then of
 * the same Ottoscaler once it tracks N finished workers (default 240), as the cost per worker.
 *
 * Both processes get memory_probe.ts preloaded, which reports `Deno.memoryUsage()` after a full
 * garbage collection. Figures are the median of a few seconds' reports. It asserts nothing.
 *
 * Idle is measured twice: from 2 s after the process listens (the goal's figure), and again at
 * rest, `--rest-seconds` (default 30) after it listens, once V8's memory reducer has given back
 * the young generation that startup grew (which it does some 10 to 25 s after the last
 * collection; before that, RSS moves by several MiB with when the sample falls).
 *
 * Usage: deno task bench --only memory [--workers N] [--rest-seconds S]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../../mod/cli/client.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { printSummary, verdict } from "./summary.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    workers: { type: "string", default: "240" },
    "rest-seconds": { type: "string", default: "30" },
  },
});
const WORKERS = Number(values.workers);
const REST_MS = Number(values["rest-seconds"]) * 1000;
const PER_TASK = 100;
const MiB = 1024 * 1024;

/** Deno.memoryUsage() as the probe writes it. */
interface Usage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

/** The `deno run` flags that load the probe writing to `file`. */
function probeArgs(): string[] {
  return [
    `--preload=${new URL("./memory_probe.ts", import.meta.url).pathname}`,
    "--v8-flags=--expose-gc",
  ];
}

/** The median of the probe's reports over `ms`. */
async function sample(file: string, ms = 3000): Promise<Usage> {
  const seen: Usage[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      seen.push(JSON.parse(await Deno.readTextFile(file)));
    } catch { /* not written yet, or mid-write */ }
  }
  if (seen.length === 0) throw new Error(`no memory reports in ${file}`);
  const median = (k: keyof Usage) => seen.map((u) => u[k]).sort((a, b) => a - b)[seen.length >> 1];
  return {
    rss: median("rss"),
    heapUsed: median("heapUsed"),
    heapTotal: median("heapTotal"),
    external: median("external"),
  };
}

/** Idle twice: soon after listening, and at rest (`REST_MS` after `listening`). */
interface Idle {
  readonly soon: Usage;
  readonly rest: Usage;
}

/** Samples idle soon after `listening` (a `Date.now()`), then again at rest. */
async function idleOf(file: string, listening: number): Promise<Idle> {
  await new Promise((r) => setTimeout(r, 2000));
  const soon = await sample(file);
  await new Promise((r) => setTimeout(r, Math.max(0, listening + REST_MS - Date.now())));
  return { soon, rest: await sample(file) };
}

async function bare(file: string): Promise<Idle> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...probeArgs(),
      new URL("./baseline_peer.ts", import.meta.url).pathname,
      "pull",
      "1",
    ],
    env: { MEMORY_PROBE_FILE: file },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) text += (await reader.read()).value ?? "";
  const usage = await idleOf(file, Date.now());
  reader.releaseLock();
  child.kill("SIGKILL");
  await child.status;
  return usage;
}

function scaleUp(client: ReturnType<typeof connect>, request: Record<string, unknown>) {
  return new Promise<void>((resolve, reject) =>
    client.ScaleUp(request, (err) => (err ? reject(err) : resolve()))
  );
}

function finished(client: ReturnType<typeof connect>): Promise<number> {
  return new Promise((resolve, reject) =>
    client.GetWorkerStatus(
      { status_filter: "succeeded" },
      (err, res) => err ? reject(err) : resolve(res?.total_count ?? 0),
    )
  );
}

async function ottoscaler(file: string): Promise<{ idle: Idle; loaded: Usage }> {
  const server = await startServerProcess({
    env: { LOG_LEVEL: "info", MEMORY_PROBE_FILE: file },
    denoArgs: probeArgs(),
  });
  const listening = Date.now();
  const client = connect(server.address);
  try {
    const idle = await idleOf(file, listening);
    for (let started = 0, task = 1; started < WORKERS; task++) {
      const count = Math.min(PER_TASK, WORKERS - started);
      await scaleUp(client, {
        task_id: `memory-${task}`,
        worker_count: count,
        build_config: { command: "true" },
      });
      started += count;
    }
    const deadline = Date.now() + 120_000;
    while (await finished(client) < WORKERS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 2000));
    return { idle, loaded: await sample(file) };
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  }
}

const dir = await Deno.makeTempDir({ prefix: "ottoscaler-memory-" });
try {
  console.error("… bare grpc-js server");
  const { soon: base, rest: baseRest } = await bare(`${dir}/bare.json`);
  console.error(`… Ottoscaler (local runtime), idle and with ${WORKERS} finished workers`);
  const { idle: { soon: idle, rest: idleRest }, loaded } = await ottoscaler(
    `${dir}/ottoscaler.json`,
  );
  const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`.padStart(10);
  const cols = (u: Usage) => `${mib(u.rss)}  ${mib(u.heapUsed)}  ${mib(u.external)}`;
  console.log(`memory (local runtime); heap is live V8 heap after a full GC\n`);
  console.log(
    `${"".padEnd(42)}  ${"RSS".padStart(10)}  ${"heap".padStart(10)}  ${"external".padStart(10)}`,
  );
  console.log(`${"baseline: bare grpc-js server, idle".padEnd(42)}  ${cols(base)}`);
  console.log(`${"Ottoscaler, idle".padEnd(42)}  ${cols(idle)}`);
  console.log(`${`baseline at rest (${REST_MS / 1000} s)`.padEnd(42)}  ${cols(baseRest)}`);
  console.log(`${`Ottoscaler at rest (${REST_MS / 1000} s)`.padEnd(42)}  ${cols(idleRest)}`);
  console.log(`${`Ottoscaler, ${WORKERS} finished workers`.padEnd(42)}  ${cols(loaded)}`);
  /** A difference in MiB with its sign. */
  const diff = (bytes: number) => `${bytes < 0 ? "-" : "+"}${(Math.abs(bytes) / MiB).toFixed(1)}`;
  const perWorkers = (bytes: number) => diff(bytes * 1000 / WORKERS);
  console.log(
    `\nidle above the bare server: RSS ${diff(idle.rss - base.rss)} MiB, heap ${
      diff(idle.heapUsed - base.heapUsed)
    } MiB (at rest: RSS ${diff(idleRest.rss - baseRest.rss)} MiB, heap ${
      diff(idleRest.heapUsed - baseRest.heapUsed)
    } MiB); per 1,000 tracked workers: RSS ${perWorkers(loaded.rss - idle.rss)} MiB, heap ${
      perWorkers(loaded.heapUsed - idle.heapUsed)
    } MiB`,
  );
  printSummary({
    figure: "memory, idle (local runtime)",
    ottoscaler: `${(idle.rss / MiB).toFixed(1)} MiB RSS, ${(idle.heapUsed / MiB).toFixed(1)} heap`,
    baseline: `bare grpc-js server: ${(base.rss / MiB).toFixed(1)} MiB RSS`,
    ratio: `${diff(idle.rss - base.rss)} MiB`,
    goal: "≤ +16 MiB RSS",
    met: verdict(idle.rss - base.rss <= 16 * MiB, "see Memory"),
  });
  printSummary({
    figure: `memory per 1,000 finished local workers (of ${WORKERS})`,
    ottoscaler: `${perWorkers(loaded.rss - idle.rss)} MiB RSS, ${
      perWorkers(loaded.heapUsed - idle.heapUsed)
    } heap`,
    baseline: "idle, same process",
    ratio: "–",
    goal: "≤ 100 MiB",
    met: verdict((loaded.rss - idle.rss) * 1000 / WORKERS <= 100 * MiB, "see Memory"),
  });
} finally {
  await Deno.remove(dir, { recursive: true });
}
