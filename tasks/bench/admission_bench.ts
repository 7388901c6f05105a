/**
 * Admission benchmark (`deno task bench --only admission`): builds waiting for room. 200 tasks
 * of 5 workers from 4 tenants (task i belongs to tenant i mod 4), all asked for at once, on the
 * local control plane (with kube-controller-manager's resourcequota controller), two ways:
 *
 * 1. Ottoscaler: every task a ScaleUp (metadata tenant) through the gRPC API of a `serve` process
 *    on the Kubernetes runtime, into a namespace whose ResourceQuota allows 50 pods; the workers
 *    over the quota wait in Ottoscaler's line.
 * 2. ceiling: the same pods (same builder, same names) POSTed by the benchmark itself into a
 *    namespace with no quota, keeping at most 50 unfinished (a budget enforced by the client: a
 *    pod is POSTed as soon as one ends), tasks in order.
 *
 * Each worker runs `--duration` seconds (KWOK). A watch opened before the first request sees
 * each pod appear (its admission) and end. Figures: throughput (workers finished per second,
 * from the first request to the last end), p50/p99 wait in line (first request to the pod's
 * appearance), fairness across tenants (Jain's index of the tenants' shares of the first half of
 * the admissions: 1 is perfectly fair, 0.25 one tenant first), the most pods unfinished at once,
 * and failed workers. It prints figures and ratios; it asserts nothing.
 *
 * Usage: deno task bench --only admission [--tasks N] [--duration SECONDS] [--timeout SECONDS]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { loadConfig } from "../../mod/config/config.ts";
import { connectKube, type KubeApi, type PodObject } from "../../mod/kube/api.ts";
import { isGone } from "../../mod/kube/errors.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { workerPods } from "./worker_pods.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tasks: { type: "string", default: "200" },
    duration: { type: "string", default: "2" },
    timeout: { type: "string", default: "600" },
  },
});
const TASKS = Number(values.tasks);
const DURATION = Number(values.duration);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const WORKERS = 5;
const TENANTS = 4;
const BUDGET = 50;
const TOTAL = TASKS * WORKERS;
const progress = (step: string) => console.error(`… ${step}`);

const taskId = (i: number) => `t${i}`;
const tenantOf = (pod: string) =>
  `tenant-${Number(pod.match(/^otto-agent-t(\d+)-/)![1]) % TENANTS}`;

/** One watch on a namespace: when each pod appeared and ended, and the most unfinished at once. */
class Observer {
  readonly seenAt = new Map<string, number>();
  readonly endedAt = new Map<string, number>();
  readonly failed = new Set<string>();
  peak = 0;
  readonly #live = new Set<string>();
  readonly #abort = new AbortController();
  readonly #listeners = new Set<() => void>();
  #loop: Promise<void> = Promise.resolve();

  static async open(api: KubeApi, namespace: string): Promise<Observer> {
    const o = new Observer();
    const path = `/api/v1/namespaces/${namespace}/pods`;
    let rv = (await api.list<PodObject>(path)).resourceVersion;
    o.#loop = (async () => {
      while (!o.#abort.signal.aborted) {
        try {
          await api.watch<PodObject>(
            path,
            { resourceVersion: rv, allowWatchBookmarks: "true" },
            (e) => {
              rv = e.object.metadata.resourceVersion ?? rv;
              if (e.type !== "BOOKMARK") o.#observe(e.object, e.type);
            },
            o.#abort.signal,
          );
        } catch (err) {
          if (o.#abort.signal.aborted) return;
          if (!isGone(err)) throw err;
          const list = await api.list<PodObject>(path);
          for (const pod of list.items) o.#observe(pod, "ADDED");
          rv = list.resourceVersion;
        }
      }
    })();
    return o;
  }

  #observe(pod: PodObject, type: string): void {
    const name = pod.metadata.name;
    const t = performance.now();
    if (!this.seenAt.has(name)) this.seenAt.set(name, t);
    const phase = pod.status?.phase;
    if ((phase === "Succeeded" || phase === "Failed") && !this.endedAt.has(name)) {
      this.endedAt.set(name, t);
      if (phase === "Failed") this.failed.add(name);
    }
    if (type === "DELETED" || this.endedAt.has(name)) this.#live.delete(name);
    else this.#live.add(name);
    this.peak = Math.max(this.peak, this.#live.size);
    for (const listener of this.#listeners) listener();
  }

  get live(): number {
    return this.#live.size;
  }

  /** Resolves once `predicate` holds (checked on every event) or after the timeout. */
  until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(ok);
      };
      this.#listeners.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop.catch(() => {});
  }
}

interface Figures {
  readonly name: string;
  readonly seconds: number;
  readonly finished: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly jain: number;
  readonly peak: number;
  readonly failed: number;
  readonly problems: string[];
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Jain's fairness index of the tenants' shares of the first half of the admissions. */
function jain(seenAt: Map<string, number>): number {
  const first = [...seenAt.entries()].sort((a, b) => a[1] - b[1]).slice(0, Math.floor(TOTAL / 2));
  const shares = new Map<string, number>();
  for (let t = 0; t < TENANTS; t++) shares.set(`tenant-${t}`, 0);
  for (const [pod] of first) shares.set(tenantOf(pod), (shares.get(tenantOf(pod)) ?? 0) + 1);
  const x = [...shares.values()];
  const sum = x.reduce((a, b) => a + b, 0);
  return (sum * sum) / (x.length * x.reduce((a, b) => a + b * b, 0));
}

function figures(name: string, o: Observer, start: number, problems: string[]): Figures {
  const ends = [...o.endedAt.values()];
  const last = ends.length ? Math.max(...ends) : performance.now();
  const waits = [...o.seenAt.values()].map((t) => (t - start) / 1000).sort((a, b) => a - b);
  const seconds = (last - start) / 1000;
  return {
    name,
    seconds,
    finished: ends.length,
    throughput: ends.length / seconds,
    p50: quantile(waits, 0.5),
    p99: quantile(waits, 0.99),
    jain: jain(o.seenAt),
    peak: o.peak,
    failed: o.failed.size,
    problems,
  };
}

async function freshNamespace(api: KubeApi, name: string): Promise<string> {
  const ns = `${name}-${crypto.randomUUID().slice(0, 6)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: ns } });
  return ns;
}

async function runOttoscaler(api: KubeApi, kubeconfig: string): Promise<Figures> {
  const ns = await freshNamespace(api, "bench-adm");
  const quotas = `/api/v1/namespaces/${ns}/resourcequotas`;
  await api.create(quotas, {
    metadata: { name: "budget" },
    spec: { hard: { pods: String(BUDGET) } },
  });
  // The quota takes effect once the resourcequota controller has filled in its status.
  for (;;) {
    const q = await api.get<{ status?: { hard?: Record<string, string> } }>(`${quotas}/budget`);
    if (q.status?.hard?.pods) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const server = await startServerProcess({
    env: { WORKER_RUNTIME: "kubernetes", KUBECONFIG: kubeconfig, NAMESPACE: ns, LOG_LEVEL: "info" },
  });
  const client = connect(server.address);
  const o = await Observer.open(api, ns);
  const problems: string[] = [];
  try {
    progress(`Ottoscaler: ${TASKS} ScaleUps of ${WORKERS} into a quota of ${BUDGET} pods`);
    const start = performance.now();
    const answers = await Promise.all(
      Array.from(
        { length: TASKS },
        (_, i) =>
          unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
            task_id: taskId(i),
            worker_count: WORKERS,
            build_config: { OTTO_SIM_DURATION: `${DURATION}s` },
            metadata: { tenant: `tenant-${i % TENANTS}` },
          }),
      ),
    );
    for (const a of answers) {
      if (a.status !== "SUCCESS") problems.push(`ScaleUp: ${a.status} ${a.message}`);
    }
    const ok = await o.until(() => o.endedAt.size >= TOTAL, TIMEOUT_MS);
    if (!ok) problems.push(`only ${o.endedAt.size} of ${TOTAL} workers ended within the timeout`);
    const f = figures("Ottoscaler (quota 50 pods)", o, start, problems);
    const warn = server.logs().split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
    if (warn.length) {
      problems.push(`${warn.length} warnings logged, first: ${warn[0].slice(0, 300)}`);
    }
    return f;
  } finally {
    await o.close();
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true });
    await api.remove(`/api/v1/namespaces/${ns}`);
  }
}

async function runCeiling(api: KubeApi): Promise<Figures> {
  const ns = await freshNamespace(api, "bench-ceil");
  const config = loadConfig({ env: {} });
  const pods = Array.from(
    { length: TASKS },
    (_, i) => workerPods(config, ns, { taskId: taskId(i), workers: WORKERS }),
  ).flat().map((pod) => ({
    ...pod,
    metadata: {
      ...pod.metadata,
      annotations: { ...pod.metadata.annotations, "ottoscaler.io/sim-duration": `${DURATION}s` },
    },
  }));
  const o = await Observer.open(api, ns);
  const problems: string[] = [];
  try {
    progress(
      `ceiling: the same ${TOTAL} pods, at most ${BUDGET} unfinished, POSTed by the benchmark`,
    );
    const start = performance.now();
    // The budget: pods POSTed (answered or not) and not yet seen ended stay under 50.
    let next = 0;
    const unfinished = () => next - o.endedAt.size;
    const posts: Promise<void>[] = [];
    while (next < pods.length) {
      if (unfinished() >= BUDGET) {
        await o.until(() => unfinished() < BUDGET, TIMEOUT_MS);
        continue;
      }
      const pod = pods[next++];
      posts.push(
        api.create(`/api/v1/namespaces/${ns}/pods`, pod).then(
          () => {},
          (err) => void problems.push(`POST ${pod.metadata.name}: ${err}`),
        ),
      );
    }
    await Promise.all(posts);
    const ok = await o.until(() => o.endedAt.size >= TOTAL, TIMEOUT_MS);
    if (!ok) problems.push(`only ${o.endedAt.size} of ${TOTAL} workers ended within the timeout`);
    return figures("ceiling (budget of 50 kept by the client)", o, start, problems);
  } finally {
    await o.close();
    await api.remove(`/api/v1/namespaces/${ns}`);
  }
}

const cluster = await ensureCluster();
const api = connectKube({ kubeconfig: cluster.kubeconfig });
const runs = [await runOttoscaler(api, cluster.kubeconfig), await runCeiling(api)];
const pad = (s: string, n: number) => s.padEnd(n);
console.log(
  `\n${TASKS} tasks × ${WORKERS} workers, ${TENANTS} tenants, ${DURATION} s each, ${BUDGET} pods at most\n`,
);
console.log(
  `${pad("", 44)} ${pad("time", 8)} ${pad("workers/s", 10)} ${pad("p50 wait", 9)} ${
    pad("p99 wait", 9)
  } ${pad("Jain", 6)} ${pad("peak", 5)} failed`,
);
for (const f of runs) {
  console.log(
    `${pad(f.name, 44)} ${pad(f.seconds.toFixed(1) + " s", 8)} ${
      pad(f.throughput.toFixed(2), 10)
    } ${pad(f.p50.toFixed(1) + " s", 9)} ${pad(f.p99.toFixed(1) + " s", 9)} ${
      pad(f.jain.toFixed(3), 6)
    } ${pad(String(f.peak), 5)} ${f.failed}`,
  );
  for (const p of f.problems) console.log(`  problem: ${p}`);
}
const [ours, ceiling] = runs;
console.log(
  `\nthroughput ${(ours.throughput / ceiling.throughput).toFixed(2)}× the ceiling; p99 wait ${
    (ours.p99 / ceiling.p99).toFixed(2)
  }× the ceiling's; ${ours.finished} of ${TOTAL} finished, ${ours.failed} failed`,
);
