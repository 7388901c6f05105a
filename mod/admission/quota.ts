/**
 * Room in a Kubernetes namespace: its ResourceQuotas, against what the worker pods ask for.
 *
 * A worker's demand is read from the pod the Kubernetes runtime would create for it
 * (`buildPod`): one pod, and its containers' requests and limits of cpu and memory (a limit with
 * no request counts as the request too, as Kubernetes defaults it). What is used is the larger of
 * the quota's `status.used` (kept by kube-controller-manager's resourcequota controller, raised at
 * once by the API server's quota admission) and what Ottoscaler's own unfinished pods use, plus
 * the starts still in flight. A worker fits when, for every quota and every resource it limits,
 * used + demand ≤ hard; it can never fit when its demand alone is above a hard limit.
 *
 * @module
 */

import type { KubeApi } from "../kube/api.ts";
import type { WorkerPod } from "../worker/kube/pod.ts";
import { isTerminal, type Runtime, type WorkerSpec } from "../worker/types.ts";
import type { Capacity, FitCheck } from "./parts.ts";

/** Resource names a worker's demand covers, as ResourceQuota `hard` keys. */
const COUNTED = [
  "pods",
  "count/pods",
  "cpu",
  "requests.cpu",
  "memory",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
] as const;

/** A demand or usage: amounts by ResourceQuota key (cores for cpu, bytes for memory). */
export type Amounts = Partial<Record<(typeof COUNTED)[number], number>>;

/** A ResourceQuota (the fields read). */
export interface ResourceQuotaObject {
  readonly metadata: { readonly name: string };
  readonly spec?: {
    readonly hard?: Readonly<Record<string, string>>;
    readonly scopes?: readonly string[];
    readonly scopeSelector?: {
      readonly matchExpressions?: readonly {
        readonly scopeName: string;
        readonly operator: string;
      }[];
    };
  };
  readonly status?: {
    readonly hard?: Readonly<Record<string, string>>;
    readonly used?: Readonly<Record<string, string>>;
  };
}

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("100m", "1.5", "128Mi", "1e3") as a number; throws on others. */
export function parseQuantity(text: string): number {
  const match = text.trim().match(/^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/);
  if (!match || !(match[2] in SUFFIX)) throw new Error(`not a quantity: "${text}"`);
  return Number(match[1]) * SUFFIX[match[2]];
}

/** What one pod counts against quotas. */
export function podDemand(pod: WorkerPod): Amounts {
  const sum: Amounts = { pods: 1, "count/pods": 1 };
  const add = (key: keyof Amounts, value: number) => (sum[key] = (sum[key] ?? 0) + value);
  for (const c of pod.spec.containers) {
    const requests = { ...c.resources.limits, ...c.resources.requests };
    if (requests.cpu) add("requests.cpu", parseQuantity(requests.cpu));
    if (requests.memory) add("requests.memory", parseQuantity(requests.memory));
    if (c.resources.limits?.cpu) add("limits.cpu", parseQuantity(c.resources.limits.cpu));
    if (c.resources.limits?.memory) add("limits.memory", parseQuantity(c.resources.limits.memory));
  }
  sum.cpu = sum["requests.cpu"];
  sum.memory = sum["requests.memory"];
  return sum;
}

/**
 * Whether a quota counts `pod`, by its scopes: Terminating (an activeDeadlineSeconds),
 * NotTerminating, BestEffort (no requests or limits), NotBestEffort. A quota with a scope this does
 * not know (PriorityClass, ...) is left to the API server: it is not counted here, and a create it
 * refuses goes back in line.
 */
export function quotaCounts(quota: ResourceQuotaObject, pod: WorkerPod): boolean {
  const scopes = [
    ...(quota.spec?.scopes ?? []).map((scope) => ({ scope, exists: true })),
    ...(quota.spec?.scopeSelector?.matchExpressions ?? []).map((e) => ({
      scope: e.scopeName,
      exists: e.operator !== "DoesNotExist",
    })),
  ];
  const terminating = pod.spec.activeDeadlineSeconds !== undefined;
  const bestEffort = pod.spec.containers.every((c) =>
    Object.keys(c.resources.requests ?? {}).length === 0 &&
    Object.keys(c.resources.limits ?? {}).length === 0
  );
  const has: Record<string, boolean> = {
    Terminating: terminating,
    NotTerminating: !terminating,
    BestEffort: bestEffort,
    NotBestEffort: !bestEffort,
  };
  return scopes.every(({ scope, exists }) => scope in has && has[scope] === exists);
}

function plus(a: Amounts, b: Amounts, times = 1): Amounts {
  const out: Amounts = { ...a };
  for (const key of COUNTED) {
    if (b[key] !== undefined) out[key] = (out[key] ?? 0) + b[key]! * times;
  }
  return out;
}

/** How a quantity reads in a message (cpu in cores or m, memory in Mi). */
function show(key: string, value: number): string {
  if (key.endsWith("memory")) return `${Math.round(value / 2 ** 20)}Mi`;
  if (key.endsWith("cpu")) {
    return value < 1 ? `${Math.round(value * 1000)}m` : `${+value.toFixed(3)}`;
  }
  return String(+value.toFixed(3));
}

/** A quota a demand does not fit in: which quota, which resource, and the amounts. */
export interface QuotaShortfall {
  /** The ResourceQuota's name. */
  readonly quota: string;
  /** The resource (a `hard` key). */
  readonly resource: string;
  /** What is used. */
  readonly used: number;
  /** The hard limit. */
  readonly hard: number;
  /** What was asked. */
  readonly asked: number;
}

/** The first quota and resource where `demand` next to `used` goes over the hard limit. */
export function shortfall(
  quotas: readonly ResourceQuotaObject[],
  demand: Amounts,
  used: (quota: ResourceQuotaObject) => Amounts,
): QuotaShortfall | undefined {
  for (const quota of quotas) {
    const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
    const u = used(quota);
    for (const key of COUNTED) {
      if (hard[key] === undefined || !demand[key]) continue;
      const limit = parseQuantity(hard[key]);
      const now = u[key] ?? 0;
      if (now + demand[key]! > limit + 1e-9) {
        return {
          quota: quota.metadata.name,
          resource: key,
          used: now,
          hard: limit,
          asked: demand[key]!,
        };
      }
    }
  }
  return undefined;
}

/** What holds a worker, for its Queued message: `ResourceQuota q (pods: 3 used of 3, 1 asked)`. */
export function describeShortfall(s: QuotaShortfall): string {
  const r = s.resource;
  return `ResourceQuota ${s.quota} (${r}: ${show(r, s.used)} used of ${show(r, s.hard)}, ${
    show(r, s.asked)
  } asked)`;
}

/** Options for {@linkcode QuotaCapacity}. */
export interface QuotaCapacityOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the worker pods. */
  readonly namespace: string;
  /** The Kubernetes runtime (its unfinished workers use room). */
  readonly runtime: Runtime;
  /** The pod the runtime would create for a spec. */
  readonly podOf: (spec: WorkerSpec) => WorkerPod;
}

/** The namespace's ResourceQuotas as a {@linkcode Capacity}; see the module doc. */
export class QuotaCapacity implements Capacity {
  readonly #o: QuotaCapacityOptions;
  #quotas: ResourceQuotaObject[] = [];
  #readAt = -Infinity;
  #reading: Promise<void> | undefined;

  /** A capacity over `options.namespace`'s quotas; call {@linkcode refresh} to read them. */
  constructor(options: QuotaCapacityOptions) {
    this.#o = options;
  }

  /** Reads the namespace's ResourceQuotas, unless they were read less than `maxAgeMs` ago. */
  /** Concurrent callers share one read: they wait for the one in flight. */
  refresh(maxAgeMs = 0): Promise<void> {
    if (performance.now() - this.#readAt < maxAgeMs) return Promise.resolve();
    this.#reading ??= (async () => {
      const path = `/api/v1/namespaces/${this.#o.namespace}/resourcequotas`;
      const startedAt = performance.now();
      try {
        this.#quotas = (await this.#o.api.list<ResourceQuotaObject>(path)).items;
        this.#readAt = startedAt;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  /** What `count` pods like the one of `spec` ask for (worker pods all get the same resources). */
  #demand(spec: WorkerSpec, count: number): Amounts {
    return plus({}, podDemand(this.#o.podOf(spec)), count);
  }

  /** The quotas that count the pods of `specs`. */
  #quotasOf(specs: readonly WorkerSpec[]): ResourceQuotaObject[] {
    if (specs.length === 0 || this.#quotas.length === 0) return [];
    const pod = this.#o.podOf(specs[0]);
    return this.#quotas.filter((q) => quotaCounts(q, pod));
  }

  /** Why `specs` could never fit: their demand alone is above a quota's hard limit. */
  neverFits(specs: readonly WorkerSpec[]): string | undefined {
    if (specs.length === 0) return undefined;
    const s = shortfall(this.#quotasOf(specs), this.#demand(specs[0], specs.length), () => ({}));
    return s &&
      `ResourceQuota ${s.quota} allows ${s.resource} ${show(s.resource, s.hard)}, ${
        show(s.resource, s.asked)
      } asked`;
  }

  /** What fits now, next to the runtime's unfinished workers and `starting`; see the module doc. */
  check(starting: readonly WorkerSpec[]): FitCheck {
    if (this.#quotas.length === 0) return () => undefined;
    const mine = this.#o.runtime.list().filter((w) => !isTerminal(w.phase)).length +
      starting.length;
    return (specs, extra = []) => {
      const quotas = this.#quotasOf(specs);
      if (quotas.length === 0) return undefined;
      const one = this.#demand(specs[0], 1);
      const s = shortfall(quotas, plus({}, one, specs.length), (quota) => {
        const used: Amounts = {};
        for (const key of COUNTED) {
          const reported = quota.status?.used?.[key];
          const base = Math.max(reported ? parseQuantity(reported) : 0, (one[key] ?? 0) * mine);
          const value = base + (one[key] ?? 0) * extra.length;
          if (value > 0) used[key] = value;
        }
        return used;
      });
      return s && describeShortfall(s);
    };
  }
}
