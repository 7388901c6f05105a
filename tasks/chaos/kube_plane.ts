/**
 * The chaos suite's own local control plane (kube-apiserver, etcd, kube-scheduler,
 * kube-controller-manager, KWOK) and what its Kubernetes scenarios share: faults on it (a
 * component restarted or paused with `tasks/control_plane/restart.sh`), a namespace per run,
 * Ottoscaler on the Kubernetes runtime, what each simulated worker prints, and a census of the
 * pods from the API server.
 *
 * The plane is separate from the tests' (its own dev dir, `<dev dir>/chaos`, and its own ports,
 * well above those up.sh scans from): a restarted API server frees its port for a moment, and
 * another control plane starting on the machine must not take it; nor may a fault here disturb
 * what other tests run on theirs.
 *
 * @module
 */

import { type ControlPlane, devDir, readControlPlane } from "../control_plane/env.ts";
import { connectKube, type KubeApi, type PodObject } from "../../mod/kube/api.ts";
import { freePort, startServe } from "./kill_serve.ts";
import type { PrintingTask } from "./kube_check.ts";

const SCRIPTS = new URL("../control_plane/", import.meta.url).pathname;

/** Where the chaos plane lives. */
export function chaosDevDir(): string {
  return `${devDir()}/chaos`;
}

async function script(name: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("bash", {
    args: [`${SCRIPTS}${name}`, ...args],
    env: { OTTOSCALER_DEV_DIR: chaosDevDir(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `tasks/control_plane/${name} ${args.join(" ")} failed:\n${text.decode(out.stderr)}`,
    );
  }
  return text.decode(out.stdout);
}

let plane: Promise<ControlPlane> | undefined;

/**
 * Starts the chaos plane (6 simulated nodes, room for 660 pods) if it is not up; idempotent.
 * Fails loudly if it cannot start.
 */
export function ensureChaosPlane(): Promise<ControlPlane> {
  plane ??= (async () => {
    // Ports from a random base in 27000..28900: up.sh's own defaults scan 23790.. and 26250..26650.
    const base = 27000 + 10 * Math.floor(Math.random() * 190);
    const names = ["ETCD", "ETCD_PEER", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER", "KWOK"];
    const ports = Object.fromEntries(
      names.map((n, i) => [`OTTOSCALER_${n}_PORT`, String(base + i)]),
    );
    await script("up.sh", [], { ...ports, OTTOSCALER_DEV_NODES: "6" });
    const found = await readControlPlane(chaosDevDir());
    if (!found) throw new Error(`up.sh wrote no ${chaosDevDir()}/control-plane/env`);
    return found;
  })();
  return plane;
}

/** Stops the chaos plane and removes its state (if it was started). */
export async function stopChaosPlane(): Promise<void> {
  if (!plane) return;
  plane = undefined;
  await script("down.sh", []);
}

/** How long a fault kept the component away and how long it took to be ready again, in ms. */
export interface FaultTimes {
  /** From the fault to the component started (or resumed) again. */
  readonly downMs: number;
  /** From then until it and kube-apiserver's /readyz were healthy. */
  readonly upMs: number;
}

/**
 * Restarts a component of the chaos plane (`restart.sh`; SIGTERM, SIGKILL after `graceSeconds`),
 * or with `pauseSeconds` freezes it that long (SIGSTOP, SIGCONT); resolves once it is ready.
 */
export async function fault(
  component: "kube-apiserver" | "etcd",
  options: { readonly pauseSeconds?: number; readonly graceSeconds?: number } = {},
): Promise<FaultTimes> {
  const args = options.pauseSeconds !== undefined
    ? ["--pause", component, String(options.pauseSeconds)]
    : [component];
  const out = await script("restart.sh", args, {
    OTTOSCALER_DOWN_GRACE: String(options.graceSeconds ?? 3),
  });
  const m = out.match(/down_ms=(\d+) up_ms=(\d+)/);
  if (!m) throw new Error(`restart.sh printed no times: ${out}`);
  return { downMs: Number(m[1]), upMs: Number(m[2]) };
}

/** A fresh namespace on the plane, and a function that deletes it. */
export async function freshNamespace(api: KubeApi, prefix: string) {
  const namespace = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  return {
    namespace,
    remove: () => api.remove(`/api/v1/namespaces/${namespace}`).catch(() => {}),
  };
}

/** The API of the plane. */
export function planeApi(cp: ControlPlane): KubeApi {
  return connectKube({ kubeconfig: cp.kubeconfig });
}

/**
 * Lays down what the simulated worker `pod` prints (a CRI log file and the kwok `Logs` object
 * for its name), before the pod exists: `lines` lines `<tag> 1`..`<tag> n`.
 */
export async function printLines(
  cp: ControlPlane,
  api: KubeApi,
  namespace: string,
  pod: string,
  tag: string,
  lines: number,
): Promise<void> {
  const file = `${cp.podLogDir}/${namespace}_${pod}.log`;
  const now = new Date().toISOString();
  const text = Array.from({ length: lines }, (_, i) => `${now} stdout F ${tag} ${i + 1}\n`);
  await Deno.writeTextFile(file, text.join(""));
  await api.create(`/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs`, {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Logs",
    metadata: { name: pod, namespace },
    spec: { logs: [{ logsFile: file }] },
  });
}

/** Lays down what every worker of `task` prints ({@linkcode printLines}, pods `otto-agent-<task>-<i>`). */
export async function printTask(
  cp: ControlPlane,
  api: KubeApi,
  namespace: string,
  task: PrintingTask,
): Promise<void> {
  for (let i = 1; i <= task.workers; i++) {
    await printLines(cp, api, namespace, `otto-agent-${task.taskId}-${i}`, task.tag(i), task.lines);
  }
}

/**
 * `main.ts serve` on the Kubernetes runtime in `namespace` of the plane. With
 * `OTTOSCALER_CHAOS_LOGS=DIR` set it logs at debug level, and {@linkcode keepLog} saves its log.
 */
export function startKubeServe(
  cp: ControlPlane,
  namespace: string,
  stateDir: string,
  port: number,
  httpPort: number,
  extra: Record<string, string> = {},
) {
  return startServe(stateDir, port, {
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cp.kubeconfig,
    NAMESPACE: namespace,
    LEADER_ELECTION: "false",
    HTTP_PORT: String(httpPort),
    // Finished pods stay until the census at the end (the namespace is deleted then).
    POD_RETENTION_SECONDS: "3600",
    MAX_WORKERS_PER_TASK: "300",
    ...(Deno.env.get("OTTOSCALER_CHAOS_LOGS") ? { LOG_LEVEL: "debug" } : {}),
    ...extra,
  });
}

/** With `OTTOSCALER_CHAOS_LOGS=DIR` set, writes `log` to DIR/`name`.log. */
export async function keepLog(name: string, log: string): Promise<void> {
  const dir = Deno.env.get("OTTOSCALER_CHAOS_LOGS");
  if (!dir) return;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/${name}.log`, log, { append: true });
}

/** Ottoscaler's `/readyz`: its status and body, or status 0 when it does not answer. */
export async function readyz(httpPort: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, {
      signal: AbortSignal.timeout(2000),
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** A free port (re-exported for the scenarios). */
export { freePort };

/**
 * Every pod of the namespace's workers seen from the API server, polled until `stop()`: the
 * distinct uids per pod name (a pod deleted and created again under its name is a duplicate),
 * and the final list.
 */
export class PodCensus {
  readonly #uids = new Map<string, Set<string>>();
  readonly #api: KubeApi;
  readonly #namespace: string;
  #running = true;
  readonly #loop: Promise<void>;

  /** Starts polling (every 500 ms; failures while the plane is down are ignored). */
  constructor(api: KubeApi, namespace: string) {
    this.#api = api;
    this.#namespace = namespace;
    this.#loop = (async () => {
      while (this.#running) {
        await this.list().catch(() => []);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
  }

  /** Lists the workers' pods now (and records their uids). */
  async list(): Promise<PodObject[]> {
    const { items } = await this.#api.list<PodObject>(
      `/api/v1/namespaces/${this.#namespace}/pods`,
      { labelSelector: "managed-by=ottoscaler" },
    );
    for (const pod of items) {
      const set = this.#uids.get(pod.metadata.name) ?? new Set<string>();
      set.add(pod.metadata.uid ?? "");
      this.#uids.set(pod.metadata.name, set);
    }
    return items;
  }

  /** Stops polling; the last list, taken after everything ended. */
  async stop(): Promise<PodObject[]> {
    this.#running = false;
    await this.#loop;
    return await this.list();
  }

  /** Pods beyond one per pod name (a name seen with more than one uid). */
  duplicates(): number {
    let n = 0;
    for (const uids of this.#uids.values()) n += uids.size - 1;
    return n;
  }
}
