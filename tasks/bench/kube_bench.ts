/**
 * Kubernetes start benchmark (`deno task bench --only kube`): how fast N worker pods (default
 * 1000) of one task get created and running on the local control plane (kube-apiserver,
 * kube-scheduler, KWOK nodes; tasks/control_plane/up.sh), three ways:
 *
 * 1. Ottoscaler: one ScaleUp through the gRPC API of a `serve` process on the Kubernetes runtime,
 *    with the defaults a user gets (MAX_WORKERS_PER_TASK raised to N, or N would be refused);
 * 2. ceiling: the same pods POSTed all at once by the leanest client at hand (Deno's fetch over
 *    the admin certificates, no client-side limit);
 * 3. naive: the same pods POSTed one after another behind client-go's default client-side rate
 *    limit (token bucket, QPS 5, burst 10).
 *
 * Each runs in a fresh namespace watched from before its first request; its pods are deleted
 * (and the namespace) before the next. Figures: time until every create was acknowledged, time
 * until every pod was seen running, and p50/p99 of each pod's request-to-running time (the
 * request being the ScaleUp call for Ottoscaler, the pod's POST for the baselines). It prints
 * figures and ratios; it asserts nothing.
 *
 * Usage: deno task bench --only kube [--pods N] [--timeout SECONDS] [--naive no] [--profile DIR]
 *
 * `--naive no` leaves out the naive run (about 200 s for 1000 pods). `--profile DIR` writes a V8
 * CPU profile of the `serve` process into DIR (summarize it with tasks/bench/profile_summary.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { type Config, loadConfig } from "../../mod/config/config.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import { type Cluster, ensureCluster } from "../../tests/support/cluster.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { type Answer, BenchKube } from "./kube_client.ts";
import { now, RunWatch } from "./run_watch.ts";
import { TokenBucket } from "./token_bucket.ts";
import { specMismatches, workerPods } from "./worker_pods.ts";
import { printSummary, verdict } from "./summary.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pods: { type: "string", default: "1000" },
    timeout: { type: "string", default: "120" },
    naive: { type: "string", default: "yes" },
    profile: { type: "string" },
  },
});
const PODS = Number(values.pods);
const TIMEOUT_MS = Number(values.timeout) * 1000;
if (!Number.isInteger(PODS) || PODS < 1 || PODS > 10000) {
  throw new Error(`--pods must be an integer from 1 to 10000, got ${values.pods}`);
}
const TASK = "bench";
const SELECTOR = "managed-by=ottoscaler";

/** How the creates of one measurement went. */
interface Drive {
  /** When the first request was sent. */
  readonly start: number;
  /** When the last create was acknowledged. */
  readonly acked: number;
  /** When the request for a pod was sent. */
  readonly sentAt: (pod: string) => number;
  /** What went wrong while creating. */
  readonly problems: string[];
  /** Called once every pod ran (or the wait timed out); returns further problems. */
  readonly finish?: () => Promise<string[]>;
}

/** One measurement's figures, in seconds. */
interface Measurement {
  readonly name: string;
  readonly created: number;
  /** Undefined when not every pod ran in time. */
  readonly running?: number;
  readonly ran: number;
  readonly p50: number;
  readonly p99: number;
  readonly problems: string[];
}

const progress = (step: string) => console.error(`… ${step}`);

/** The environment of the `serve` process: the Kubernetes runtime with a user's defaults. */
function serveEnv(cluster: Cluster, namespace: string): Record<string, string> {
  const defaults = loadConfig({ env: {} });
  return {
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfig,
    NAMESPACE: namespace,
    LOG_LEVEL: "info",
    // startServerProcess sets 2 for tests; a user gets the default.
    STOP_GRACE_SECONDS: String(defaults.stopGraceSeconds),
    MAX_WORKERS_PER_TASK: String(Math.max(PODS, defaults.maxWorkersPerTask)),
  };
}

/** The lines of a JSON-lines log at level warn or error. */
function warnings(log: string): string[] {
  return log.split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
}

/** Ottoscaler: one ScaleUp of every worker through a `serve` subprocess. */
async function driveOttoscaler(cluster: Cluster, kube: BenchKube, ns: string): Promise<Drive> {
  const env = serveEnv(cluster, ns);
  const denoArgs = values.profile
    ? [
      "--cpu-prof",
      `--cpu-prof-dir=${values.profile}`,
      "--cpu-prof-name=ottoscaler-kube.cpuprofile",
    ]
    : [];
  const server = await startServerProcess({ env, denoArgs });
  const client = connect(server.address);
  const stop = async () => {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
  };
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve()))
    );
    const request: ScaleRequest = {
      task_id: TASK,
      worker_count: PODS,
      build_config: {},
      triggered_by: "kube-bench",
    };
    const start = now();
    const res = await unaryCall<ScaleRequest, ScaleResponse__Output>(
      client.ScaleUp.bind(client),
      request,
    );
    const acked = now();
    const problems = res.status === "SUCCESS" && res.processed_count === PODS
      ? []
      : [`ScaleUp answered ${res.status} (${res.processed_count}): ${res.message.slice(0, 500)}`];
    const finish = async () => {
      const spec = await sameSpec(kube, loadConfig({ env }), ns);
      await stop();
      return [...spec, ...warnings(server.logs()).map((l) => `serve: ${l}`)];
    };
    return { start, acked, sentAt: () => start, problems, finish };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Checks that Ottoscaler's first pod is the pod the baselines create. */
async function sameSpec(kube: BenchKube, config: Config, ns: string): Promise<string[]> {
  const [built] = workerPods(config, ns, { taskId: TASK, workers: 1 });
  const actual = await kube.call("GET", `/api/v1/namespaces/${ns}/pods/${built.metadata.name}`);
  return specMismatches(built, actual).map((m) => `baseline pod differs from Ottoscaler's: ${m}`);
}

/** The pods and their JSON bodies, built before the clock starts. */
function bodies(config: Config, ns: string): { name: string; body: string }[] {
  return workerPods(config, ns, { taskId: TASK, workers: PODS }).map((pod) => ({
    name: pod.metadata.name,
    body: JSON.stringify(pod),
  }));
}

/** POSTs one pod; a network error is an answer with status 0. */
function post(kube: BenchKube, ns: string, body: string): Promise<Answer> {
  return kube.request("POST", `/api/v1/namespaces/${ns}/pods`, body).catch((err) => ({
    status: 0,
    text: String(err),
  }));
}

/** Problems of create answers: one line per distinct failure, with its count. */
function failures(answers: Answer[]): string[] {
  const counts = new Map<string, number>();
  for (const a of answers) {
    if (a.status >= 200 && a.status <= 299) continue;
    const key = `POST answered ${a.status}: ${a.text.slice(0, 300)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n}× ${key}`);
}

/** Ceiling: every POST at once. */
async function driveCeiling(kube: BenchKube, config: Config, ns: string): Promise<Drive> {
  const pods = bodies(config, ns);
  const sent = new Map<string, number>();
  const start = now();
  const answers = await Promise.all(pods.map(({ name, body }) => {
    sent.set(name, now());
    return post(kube, ns, body);
  }));
  const acked = now();
  return { start, acked, sentAt: (pod) => sent.get(pod) ?? start, problems: failures(answers) };
}

/** Naive: one POST after another, behind client-go's default token bucket. */
async function driveNaive(kube: BenchKube, config: Config, ns: string): Promise<Drive> {
  const pods = bodies(config, ns);
  const bucket = new TokenBucket(5, 10);
  const sent = new Map<string, number>();
  const answers: Answer[] = [];
  const start = now();
  for (const { name, body } of pods) {
    await bucket.take();
    sent.set(name, now());
    answers.push(await post(kube, ns, body));
  }
  const acked = now();
  return { start, acked, sentAt: (pod) => sent.get(pod) ?? start, problems: failures(answers) };
}

/** The p-th percentile (nearest rank) of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The figures of a measurement from its creates and the watch. */
function figures(name: string, drive: Drive, watch: RunWatch, complete: boolean): Measurement {
  const latencies = [...watch.runningAt].map(([pod, t]) => t - drive.sentAt(pod))
    .sort((a, b) => a - b);
  return {
    name,
    created: (drive.acked - drive.start) / 1000,
    running: complete ? (watch.lastRunning() - drive.start) / 1000 : undefined,
    ran: watch.runningAt.size,
    p50: percentile(latencies, 50) / 1000,
    p99: percentile(latencies, 99) / 1000,
    problems: drive.problems,
  };
}

/**
 * Runs one measurement in a fresh namespace: watch, drive the creates, wait until every pod ran
 * (at most TIMEOUT_MS after the creates), then delete the pods and the namespace.
 */
async function measure(
  kube: BenchKube,
  name: string,
  slug: string,
  drive: (ns: string) => Promise<Drive>,
): Promise<Measurement> {
  const ns = `bench-kube-${slug}-${Date.now().toString(36)}`;
  progress(`${name} (namespace ${ns})`);
  await kube.createNamespace(ns);
  let watch: RunWatch | undefined;
  try {
    watch = await RunWatch.open(kube, ns);
    const created = await drive(ns);
    const complete = await watch.waitRunning(PODS, TIMEOUT_MS);
    const more = await created.finish?.() ?? [];
    const result = figures(name, created, watch, complete);
    if (!complete) {
      result.problems.push(`only ${result.ran} of ${PODS} pods ran within ${TIMEOUT_MS / 1000} s`);
    }
    result.problems.push(...more, ...watch.problems());
    return result;
  } finally {
    await watch?.close();
    await cleanUp(kube, ns);
  }
}

/** Deletes a run's pods and namespace, retrying an API server that is too busy to answer (504). */
async function cleanUp(kube: BenchKube, ns: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await kube.deletePods(ns, SELECTOR);
      await kube.deleteNamespace(ns);
      return;
    } catch (err) {
      if (attempt >= 5) {
        console.error(`could not clean up namespace ${ns}: ${err}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}

/** Seconds with about three significant digits. */
function secs(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return "—";
  return `${s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0)} s`;
}

/** One table row. */
function row(m: Measurement): string {
  return [
    m.name.padEnd(44),
    secs(m.created).padStart(11),
    secs(m.running).padStart(11),
    secs(m.p50).padStart(9),
    secs(m.p99).padStart(9),
  ].join("  ");
}

/** "12.3 s (ceiling 8.1 s: 1.52×, naive 201 s: 0.06×)" for one figure. */
function comparison(
  label: string,
  pick: (m: Measurement) => number | undefined,
  otto: Measurement,
  baselines: [string, Measurement][],
): string {
  const value = pick(otto);
  const parts = baselines.map(([name, m]) => {
    const base = pick(m);
    const ratio = value !== undefined && base !== undefined ? `${(value / base).toFixed(2)}×` : "—";
    return `${name} ${secs(base)}: ${ratio}`;
  });
  return `  ${(label + ":").padEnd(22)} ${secs(value)} (${parts.join(", ")})`;
}

/** Prints the table, the ratios and every problem seen. */
function report(
  cluster: Cluster,
  otto: Measurement,
  ceiling: Measurement,
  naive: Measurement | undefined,
) {
  const runs = naive ? [otto, ceiling, naive] : [otto, ceiling];
  console.log(
    `\nKubernetes pod starts: ${PODS} workers of one task on the local control plane ` +
      `(${cluster.server}, ${cluster.nodeCount} KWOK nodes)\n`,
  );
  console.log(
    `${"".padEnd(44)}  ${"all created".padStart(11)}  ${"all running".padStart(11)}  ${
      "p50".padStart(9)
    }  ${"p99".padStart(9)}`,
  );
  for (const m of runs) console.log(row(m));
  const baselines: [string, Measurement][] = [["ceiling", ceiling]];
  if (naive) baselines.push(["naive", naive]);
  console.log("\nOttoscaler / baseline (below 1: Ottoscaler is faster):");
  console.log(comparison("all created", (m) => m.created, otto, baselines));
  console.log(comparison("all running", (m) => m.running, otto, baselines));
  console.log(comparison("p50 request→running", (m) => m.p50, otto, baselines));
  console.log(comparison("p99 request→running", (m) => m.p99, otto, baselines));
  console.log(
    "\nall created: first request to the last create acknowledged (for Ottoscaler, the ScaleUp " +
      "answer);\nall running: first request to the last pod seen Running (or later) by a watch " +
      "opened before it;\np50/p99: per pod, its request (ScaleUp call / its POST) to it seen " +
      "running.",
  );
  console.log(
    `\nOn this control plane kube-scheduler binds pods behind its own client-side limit (QPS 50, ` +
      `burst 100),\nso no client gets ${PODS} pods running in less than about ` +
      `${secs(Math.max(0, PODS - 100) / 50)}.`,
  );
  const created = ceiling.created / otto.created;
  printSummary({
    figure: `ScaleUp of ${PODS} pods, all created (kube runtime)`,
    ottoscaler: secs(otto.created),
    baseline: `${PODS} POSTs at once (ceiling): ${secs(ceiling.created)}`,
    ratio: `${created.toFixed(2)}x`,
    goal: "≥ 0.9x",
    met: verdict(
      created >= 0.9,
      "fewer creates in flight than the ceiling's all at once, each on an HTTP/1.1 connection of its own, while the API server's throughput is noisy on 2 shared cores (Scale-up)",
    ),
  });
  const limit = ceiling.p99 + 0.1;
  printSummary({
    figure: `ScaleUp of ${PODS} pods, p99 request→running`,
    ottoscaler: secs(otto.p99),
    baseline: `ceiling: ${secs(ceiling.p99)}`,
    ratio: `${(ceiling.p99 / otto.p99).toFixed(2)}x`,
    goal: "≤ ceiling's p99 + 0.1 s",
    met: otto.running === undefined
      ? "no: not every pod ran in time"
      : verdict(otto.p99 <= limit, "the creates finish later than the ceiling's (Scale-up)"),
  });
  for (const m of runs) {
    for (const p of m.problems) console.log(`problem (${m.name}): ${p}`);
  }
}

const cluster = await ensureCluster();
const kube = await BenchKube.open(cluster);
const config = loadConfig({ env: serveEnv(cluster, "default") });
try {
  const otto = await measure(
    kube,
    "Ottoscaler: ScaleUp via gRPC (serve)",
    "otto",
    (ns) => driveOttoscaler(cluster, kube, ns),
  );
  const ceiling = await measure(
    kube,
    `ceiling: ${PODS} POSTs at once (fetch)`,
    "ceiling",
    (ns) => driveCeiling(kube, config, ns),
  );
  const naive = values.naive === "no" ? undefined : await measure(
    kube,
    "naive: sequential, 5 QPS burst 10",
    "naive",
    (ns) => driveNaive(kube, config, ns),
  );
  report(cluster, otto, ceiling, naive);
} finally {
  kube.close();
}
