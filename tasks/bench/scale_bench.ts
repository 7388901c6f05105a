/**
 * Scale benchmark (`deno task bench --only scale`): how Ottoscaler's cost grows (issue 14, item
 * 6). Two curves, each point a fresh `serve` process measured from its own idle state:
 *
 * 1. workers (default 100, 1,000 and 5,000): one ScaleUp of N workers on the Kubernetes runtime
 *    (the local control plane's KWOK nodes; each pod runs for 1 s and succeeds), from the call
 *    until Ottoscaler reports all N succeeded (GetWorkerStatus, polled once a second after a
 *    watch of the benchmark's own saw every pod end);
 * 2. pull subscribers (default 1, 10 and 100): S WatchWorkerLogs followers of one task on the
 *    local runtime, one worker printing L lines (default 5,000), from the ScaleUp until every
 *    follower got every line and its stream ended.
 *
 * For each point: the time, the CPU seconds of Ottoscaler's process (user + system from
 * /proc/<pid>/stat) and, for workers, of kube-apiserver; Ottoscaler's RSS at the end and its peak
 * (/proc/<pid>/status) and its live V8 heap after a full GC (memory_probe.ts, on SIGUSR2 only, so
 * that collections do not count in the CPU seconds). It prints figures; it asserts nothing.
 *
 * Usage: deno task bench --only scale [--scale-sizes 100,1000,5000]
 * [--scale-subscribers 1,10,100] [--scale-lines N] [--scale-timeout SECONDS]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { loadConfig } from "../../mod/config/config.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { type Cluster, devDir, ensureCluster } from "../../tests/support/cluster.ts";
import { type ServerProcess, startServerProcess } from "../../tests/support/server_process.ts";
import { BenchKube } from "./kube_client.ts";
import { now, RunWatch } from "./run_watch.ts";
import {
  type CostPoint,
  cpuSecondsOfStat,
  curveTable,
  growth,
  memoryOfStatus,
  parseSizes,
} from "./scale_curve.ts";
import { printSummary } from "./summary.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "scale-sizes": { type: "string", default: "100,1000,5000" },
    "scale-subscribers": { type: "string", default: "1,10,100" },
    "scale-lines": { type: "string", default: "5000" },
    "scale-timeout": { type: "string", default: "900" },
  },
});
const SIZES = parseSizes("scale-sizes", values["scale-sizes"], 10000);
const SUBSCRIBERS = parseSizes("scale-subscribers", values["scale-subscribers"], 1000);
const [LINES] = parseSizes("scale-lines", values["scale-lines"], 10_000_000);
const [TIMEOUT_S] = parseSizes("scale-timeout", values["scale-timeout"], 86400);
const TIMEOUT_MS = TIMEOUT_S * 1000;
const TICKS = Number(
  new TextDecoder().decode(new Deno.Command("getconf", { args: ["CLK_TCK"] }).outputSync().stdout),
) || 100;

const progress = (step: string) => console.error(`… ${step}`);
const problems: string[] = [];

/** CPU seconds a process has spent so far. */
const cpuOf = (pid: number) => cpuSecondsOfStat(Deno.readTextFileSync(`/proc/${pid}/stat`), TICKS);

/** The `deno run` flags that load the memory probe, writing on SIGUSR2. */
const PROBE_ARGS = [
  `--preload=${new URL("./memory_probe.ts", import.meta.url).pathname}`,
  "--v8-flags=--expose-gc",
];

/** Starts a `serve` process with the probe; `probeFile` is where it writes. */
function startServe(env: Record<string, string>, probeFile: string): Promise<ServerProcess> {
  return startServerProcess({
    env: { LOG_LEVEL: "info", ...env, MEMORY_PROBE_FILE: probeFile, MEMORY_PROBE_ON: "SIGUSR2" },
    denoArgs: PROBE_ARGS,
  });
}

/** The live heap of `server` after a full GC, in bytes (asks the probe and waits for it). */
async function heapOf(server: ServerProcess, probeFile: string): Promise<number> {
  await Deno.remove(probeFile).catch(() => {});
  Deno.kill(server.pid, "SIGUSR2");
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return (JSON.parse(await Deno.readTextFile(probeFile)) as { heapUsed: number }).heapUsed;
    } catch { /* not written yet, or mid-write */ }
  }
  throw new Error("the memory probe did not answer within 10 s");
}

/** Waits until the gRPC server answers. */
function ready(client: ReturnType<typeof connect>): Promise<void> {
  return new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve()))
  );
}

/** The pid of the local control plane's kube-apiserver. */
async function apiserverPid(): Promise<number> {
  const pid = Number(
    (await Deno.readTextFile(`${devDir()}/control-plane/pids/kube-apiserver.pid`)).trim(),
  );
  if (!Number.isInteger(pid) || pid < 1) throw new Error("no kube-apiserver pid recorded");
  return pid;
}

/** How many of `task`'s workers Ottoscaler reports succeeded. */
async function succeeded(client: ReturnType<typeof connect>, task: string): Promise<number> {
  const res = await unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
    client.GetWorkerStatus.bind(client),
    { task_id: task, status_filter: "succeeded" },
  );
  return res.total_count;
}

/** Deletes a run's pods and namespace, retrying an API server that is too busy to answer. */
async function cleanUp(kube: BenchKube, ns: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await kube.deletePods(ns, "managed-by=ottoscaler");
      await kube.deleteNamespace(ns);
      return;
    } catch (err) {
      if (attempt >= 5) {
        problems.push(`could not clean up namespace ${ns}: ${err}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

/** One point of the workers curve. */
async function workersPoint(
  cluster: Cluster,
  kube: BenchKube,
  size: number,
  probeFile: string,
): Promise<CostPoint & { created: number; running: number; ended: number }> {
  const ns = `bench-scale-${size}-${Date.now().toString(36)}`;
  const task = "bench-scale";
  progress(`${size} workers on the Kubernetes runtime (namespace ${ns})`);
  await kube.createNamespace(ns);
  const defaults = loadConfig({ env: {} });
  const server = await startServe({
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfig,
    NAMESPACE: ns,
    STOP_GRACE_SECONDS: String(defaults.stopGraceSeconds),
    MAX_WORKERS_PER_TASK: String(Math.max(size, defaults.maxWorkersPerTask)),
    // Finished pods are kept for the run: a pod deleted after the default retention (600 s) would
    // take its worker out of the count of succeeded workers before a large run ends.
    POD_RETENTION_SECONDS: String(Math.max(TIMEOUT_S * 3, 3600)),
  }, probeFile);
  const client = connect(server.address);
  let watch: RunWatch | undefined;
  try {
    await ready(client);
    await new Promise((r) => setTimeout(r, 1000));
    const idleHeap = await heapOf(server, probeFile);
    watch = await RunWatch.open(kube, ns);
    const api = await apiserverPid();
    const cpu0 = cpuOf(server.pid);
    const api0 = cpuOf(api);
    const start = now();
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(
      client.ScaleUp.bind(client),
      { task_id: task, worker_count: size, build_config: {}, triggered_by: "scale-bench" },
    );
    const created = now();
    const since = (t: number) => `${((t - start) / 1000).toFixed(1)} s`;
    progress(`  all ${size} created at ${since(created)}`);
    if (res.status !== "SUCCESS" || res.processed_count !== size) {
      problems.push(
        `${size}: ScaleUp answered ${res.status} (${res.processed_count}): ${
          res.message.slice(0, 300)
        }`,
      );
    }
    if (!await watch.waitRunning(size, TIMEOUT_MS)) {
      problems.push(`${size}: only ${watch.runningAt.size} pods ran within ${TIMEOUT_S} s`);
    }

    progress(`  all running at ${since(now())}`);
    if (!await watch.waitEnded(size, TIMEOUT_MS)) {
      problems.push(`${size}: only ${watch.endedAt.size} pods ended within ${TIMEOUT_S} s`);
    }

    progress(`  all ended at ${since(now())}`);
    const deadline = Date.now() + TIMEOUT_MS;
    let done = await succeeded(client, task);
    while (done < size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      done = await succeeded(client, task);
    }
    if (done < size) problems.push(`${size}: Ottoscaler reported ${done} succeeded`);
    const end = now();
    progress(`  all reported succeeded at ${since(end)}`);
    const cpu = cpuOf(server.pid) - cpu0;
    const apiCpu = cpuOf(api) - api0;
    const memory = memoryOfStatus(await Deno.readTextFile(`/proc/${server.pid}/status`));
    const heap = await heapOf(server, probeFile);
    problems.push(...watch.problems().map((p) => `${size}: ${p}`));
    return {
      size,
      seconds: (end - start) / 1000,
      cpuSeconds: cpu,
      apiserverCpuSeconds: apiCpu,
      ...memory,
      heap,
      idleHeap,
      created: (created - start) / 1000,
      running: (watch.lastRunning() - start) / 1000,
      ended: (watch.lastEnded() - start) / 1000,
    };
  } finally {
    await watch?.close();
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
    await cleanUp(kube, ns);
  }
}

/** The worker: prints N lines, buffered in 64 KiB writes. */
function printer(n: number): string {
  const js = "const n=+process.argv[1];let b='';" +
    "for(let i=1;i<=n;i++){b+='line '+i+' of the scale benchmark\\n';" +
    "if(b.length>65536){process.stdout.write(b);b=''}}process.stdout.write(b)";
  return `node -e "${js}" ${n}`;
}

/** One point of the subscribers curve. */
async function subscribersPoint(subscribers: number, probeFile: string): Promise<CostPoint> {
  progress(`${subscribers} WatchWorkerLogs followers of ${LINES} lines (local runtime)`);
  const server = await startServe({}, probeFile);
  const client = connect(server.address);
  const task = "bench-scale-pull";
  try {
    await ready(client);
    await new Promise((r) => setTimeout(r, 1000));
    const idleHeap = await heapOf(server, probeFile);
    const cpu0 = cpuOf(server.pid);
    const counts = new Array<number>(subscribers).fill(0);
    const followers = counts.map((_, i) => {
      const stream = client.WatchWorkerLogs({ task_id: task, follow: true });
      stream.on("data", () => counts[i]++);
      return new Promise<void>((resolve, reject) => {
        stream.on("end", () => resolve());
        stream.on("error", reject);
      });
    });
    const start = now();
    await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: task,
      worker_count: 1,
      build_config: { command: printer(LINES) },
    });
    await Promise.all(followers);
    const end = now();
    const cpu = cpuOf(server.pid) - cpu0;
    const short = counts.filter((c) => c !== LINES).length;
    if (short > 0) problems.push(`${subscribers} subscribers: ${short} did not get ${LINES} lines`);
    const memory = memoryOfStatus(await Deno.readTextFile(`/proc/${server.pid}/status`));
    const heap = await heapOf(server, probeFile);
    return {
      size: subscribers,
      seconds: (end - start) / 1000,
      cpuSeconds: cpu,
      ...memory,
      heap,
      idleHeap,
    };
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  }
}

const dir = await Deno.makeTempDir({ prefix: "ottoscaler-scale-" });
const probeFile = `${dir}/probe.json`;
try {
  const cluster = await ensureCluster();
  const kube = await BenchKube.open(cluster);
  const workers = [];
  try {
    for (const size of SIZES) workers.push(await workersPoint(cluster, kube, size, probeFile));
  } finally {
    kube.close();
  }
  const pulls = [];
  for (const s of SUBSCRIBERS) pulls.push(await subscribersPoint(s, probeFile));

  console.log(
    `\nhow cost grows: workers on the Kubernetes runtime (${cluster.nodeCount} KWOK nodes, pods ` +
      `run 1 s), one ScaleUp to all reported succeeded\n`,
  );
  console.log(curveTable("worker", workers));
  console.log(`\n${growth(workers)}`);
  for (const w of workers) {
    console.log(
      `  ${w.size} workers: all created ${w.created.toFixed(2)} s, all running ` +
        `${w.running.toFixed(2)} s, all ended ${w.ended.toFixed(2)} s, all reported ` +
        `${w.seconds.toFixed(2)} s`,
    );
  }
  console.log(
    `\nhow cost grows: WatchWorkerLogs followers of one worker printing ${LINES} lines (local ` +
      `runtime), ScaleUp to every stream ended\n`,
  );
  console.log(curveTable("subscriber", pulls));
  console.log(`\n${growth(pulls)}`);
  const ends = (points: readonly CostPoint[]) => [points[0], points[points.length - 1]];
  const [w0, w1] = ends(workers);
  printSummary({
    figure: `how cost grows: ${w0.size} → ${w1.size} workers (kube runtime)`,
    ottoscaler: `${w0.seconds.toFixed(1)} → ${w1.seconds.toFixed(1)} s, CPU ${
      w0.cpuSeconds.toFixed(1)
    } → ${w1.cpuSeconds.toFixed(1)} s, heap ${(w0.heap / 2 ** 20).toFixed(0)} → ${
      (w1.heap / 2 ** 20).toFixed(0)
    } MiB`,
    baseline: `kube-apiserver CPU ${w0.apiserverCpuSeconds?.toFixed(1)} → ${
      w1.apiserverCpuSeconds?.toFixed(1)
    } s`,
    ratio: `CPU/worker ${((w1.cpuSeconds / w1.size) / (w0.cpuSeconds / w0.size)).toFixed(2)}x`,
  });
  const [p0, p1] = ends(pulls);
  printSummary({
    figure: `how cost grows: ${p0.size} → ${p1.size} pull subscribers, ${LINES} lines`,
    ottoscaler: `${p0.seconds.toFixed(1)} → ${p1.seconds.toFixed(1)} s, CPU ${
      p0.cpuSeconds.toFixed(1)
    } → ${p1.cpuSeconds.toFixed(1)} s, RSS ${(p0.rss / 2 ** 20).toFixed(0)} → ${
      (p1.rss / 2 ** 20).toFixed(0)
    } MiB`,
    baseline: "–",
    ratio: `CPU/subscriber ${((p1.cpuSeconds / p1.size) / (p0.cpuSeconds / p0.size)).toFixed(2)}x`,
  });
  for (const p of problems) console.log(`problem: ${p}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
