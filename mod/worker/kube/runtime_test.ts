import { EventRecorder } from "../../kube/events.ts";
import assert from "node:assert/strict";
import { ensureCluster } from "../../../tests/support/cluster.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import {
  collectLogs,
  runConformance,
  waitForEnd,
  waitForStatus,
} from "../../../tests/support/conformance.ts";
import { connectKube, type KubeApi, type PodObject } from "../../kube/api.ts";
import { KubeApiError } from "../../kube/errors.ts";
import { KubeRuntime, type KubeRuntimeOptions } from "./runtime.ts";
import { QuotaRefusedError } from "../types.ts";
import { cancelPrints, prepareLog, simSpec, simulated } from "../../../tests/support/kube_sim.ts";

/** A fresh namespace on the local control plane, and the admin API. */
async function freshNamespace(prefix: string): Promise<{ api: KubeApi; namespace: string }> {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  return { api, namespace };
}

async function logDir(): Promise<string> {
  const cluster = await ensureCluster();
  return cluster.podLogDir;
}

/** A ResourceQuota as far as these tests read it. */
interface QuotaObject {
  readonly status?: {
    readonly hard?: Record<string, string>;
    readonly used?: Record<string, string>;
  };
}

/** Polls the ResourceQuota at `path` until `ready` holds (the quota controller has computed it). */
async function quotaStatus(
  api: KubeApi,
  path: string,
  ready: (quota: QuotaObject) => boolean,
): Promise<QuotaObject> {
  // A guard against hanging, not a timing assertion.
  const giveUp = Date.now() + 60_000;
  for (;;) {
    const quota = await api.get<QuotaObject>(path);
    if (ready(quota)) return quota;
    if (Date.now() > giveUp) {
      throw new Error(`the quota controller never computed ${path}: ${JSON.stringify(quota)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `api` with some of its requests replaced (to inject failures in front of the real server). */
function overriding(api: KubeApi, replaced: Partial<KubeApi>): KubeApi {
  return {
    server: api.server,
    get: (path) => api.get(path),
    create: (path, body, query) => api.create(path, body, query),
    replace: (path, body) => api.replace(path, body),
    mergePatch: (path, patch) => api.mergePatch(path, patch),
    remove: (path, query) => api.remove(path, query),
    list: (path, query, signal) => api.list(path, query, signal),
    watch: (path, query, onEvent, signal) => api.watch(path, query, onEvent, signal),
    stream: (path, query, signal) => api.stream(path, query, signal),
    ...replaced,
  };
}

function open(options: Partial<KubeRuntimeOptions> & { api: KubeApi; namespace: string }) {
  return KubeRuntime.open({
    logger: silentLogger,
    stopGraceSeconds: 1,
    startFailureGraceMs: 1_000,
    retentionMs: 3_600_000,
    ...options,
  });
}

Deno.test("kubernetes runtime passes the conformance suite (local control plane, KWOK)", async (t) => {
  const { api, namespace } = await freshNamespace("conformance");
  const sim = { api, namespace, logDir: await logDir() };
  try {
    await runConformance(t, {
      open: async () => simulated(await open({ api, namespace }), sim),
      spec: simSpec,
      mergedStreams: true,
    });
  } finally {
    cancelPrints();
  }
});

Deno.test("kubernetes runtime: start failures, quota, retention, retries", async (t) => {
  const { api, namespace } = await freshNamespace("kube-runtime");
  const sim = { api, namespace, logDir: await logDir() };
  const suffix = crypto.randomUUID().slice(0, 6);

  await t.step(
    "an unschedulable worker is failed as Unschedulable after the grace time",
    async () => {
      // No simulated node has 5000 CPUs, so kube-scheduler marks the pod Unschedulable.
      const events = new EventRecorder({ api, namespace, logger: silentLogger });
      const runtime = await open({
        api,
        namespace,
        resources: { requests: { cpu: "5000" } },
        startFailureGraceMs: 500,
        events,
      });
      try {
        const spec = simSpec(`big-${suffix}`, 1, { stdout: [] });
        await prepareLog(sim, spec);
        await runtime.start(spec);
        const end = await waitForEnd(runtime, spec.id);
        assert.equal(end.phase, "failed");
        assert.equal(end.reason, "Unschedulable");
        assert.match(end.message ?? "", /Insufficient cpu|nodes are available/);
        // The reason is written on the pod, so a restarted Ottoscaler still knows it.
        const pod = await api.get<PodObject>(`/api/v1/namespaces/${namespace}/pods/${spec.id}`);
        assert.equal(pod.metadata.annotations?.["ottoscaler.io/failure-reason"], "Unschedulable");
        assert.equal(pod.spec?.activeDeadlineSeconds, 1, "a late start is killed at once");
        assert.deepEqual(await collectLogs(runtime, spec.id), [], "it never ran, so no log");
        // kubectl describe pod tells why.
        await events.flush();
        const told = await eventsOf(api, namespace, spec.id);
        assert.deepEqual(told.map((e) => [e.type, e.reason, e.involvedObject.uid]), [
          ["Warning", "Unschedulable", pod.metadata.uid],
        ]);
        assert.match(told[0].message, /^worker cannot start; failed as Unschedulable: /);
      } finally {
        await runtime.close();
      }
    },
  );

  await t.step("an image that cannot be pulled is failed as ErrImagePull", async () => {
    const runtime = await open({ api, namespace, startFailureGraceMs: 500 });
    try {
      const spec = {
        ...simSpec(`pull-${suffix}`, 1, { stdout: [] }),
        image: "registry.invalid/ottoscaler/missing:1",
      };
      const pending = waitForStatus(runtime, spec.id, (s) => s.nodeName !== undefined);
      await runtime.start(spec);
      assert.equal((await pending).phase, "pending", "placed on a node, but it cannot start");
      const end = await waitForEnd(runtime, spec.id);
      assert.equal(end.phase, "failed");
      assert.equal(end.reason, "ErrImagePull");
      assert.match(end.message ?? "", /registry\.invalid\/ottoscaler\/missing:1/);
    } finally {
      await runtime.close();
    }
  });

  await t.step("a create refused for quota is failed as QuotaExceeded", async () => {
    const quotaNs = await freshNamespace("quota");
    const quotaPath = `/api/v1/namespaces/${quotaNs.namespace}/resourcequotas`;
    await api.create(quotaPath, { metadata: { name: "no-pods" }, spec: { hard: { pods: "0" } } });
    // kube-controller-manager's resourcequota controller computes the status; until it has, quota
    // admission refuses pods for a status it does not know yet rather than for the quota.
    await quotaStatus(
      api,
      `${quotaPath}/no-pods`,
      (q) => q.status?.hard?.pods === "0" && q.status?.used?.pods === "0",
    );
    const runtime = await open({ api, namespace: quotaNs.namespace });
    try {
      const spec = simSpec(`quota-${suffix}`, 1, { stdout: [] });
      const status = await runtime.start(spec);
      assert.equal(status.phase, "failed");
      assert.equal(status.reason, "QuotaExceeded");
      assert.match(status.message ?? "", /exceeded quota/);
      assert.equal(runtime.list({ taskId: spec.taskId })[0].reason, "QuotaExceeded");
    } finally {
      await runtime.close();
    }
    // In front of the admission line: the refusal is handed back, and no trace is kept, so the
    // worker can wait in line and be started later.
    const requeueing = await open({ api, namespace: quotaNs.namespace, quotaRefusal: "requeue" });
    try {
      const spec = simSpec(`quota-requeue-${suffix}`, 1, { stdout: [] });
      await assert.rejects(requeueing.start(spec), QuotaRefusedError);
      assert.deepEqual(requeueing.list({ taskId: spec.taskId }), []);
    } finally {
      await requeueing.close();
    }
  });

  await t.step(
    "the quota controller counts a worker's pod and releases it when it ends",
    async () => {
      const quotaNs = await freshNamespace("quota-used");
      const quotas = `/api/v1/namespaces/${quotaNs.namespace}/resourcequotas`;
      const path = `${quotas}/one-pod`;
      await api.create(quotas, { metadata: { name: "one-pod" }, spec: { hard: { pods: "1" } } });
      await quotaStatus(
        api,
        path,
        (q) => q.status?.hard?.pods === "1" && q.status?.used?.pods === "0",
      );
      const runtime = await open({ api, namespace: quotaNs.namespace });
      try {
        const first = simSpec(`quota-used-${suffix}`, 1, { sleepSeconds: 600 });
        await runtime.start(first);
        await quotaStatus(api, path, (q) => q.status?.used?.pods === "1");
        const second = await runtime.start(simSpec(`quota-used-${suffix}`, 2, { stdout: [] }));
        assert.equal(second.reason, "QuotaExceeded");
        // The pod is kept (retention), but a stopped worker's pod ends Failed: no longer counted.
        await runtime.stop(first.id);
        assert.equal((await waitForEnd(runtime, first.id)).reason, "Stopped");
        await quotaStatus(api, path, (q) => q.status?.used?.pods === "0");
        const third = await runtime.start(simSpec(`quota-used-${suffix}`, 3, { stdout: [] }));
        assert.notEqual(third.phase, "failed", JSON.stringify(third));
      } finally {
        await runtime.close();
      }
    },
  );

  await t.step("a finished pod is deleted only after delivery, then after retention", async () => {
    const delivered = new Set<string>();
    const runtime = await open({
      api,
      namespace,
      retentionMs: 300,
      isDelivered: (id) => delivered.has(id),
    });
    try {
      const spec = simSpec(`keep-${suffix}`, 1, { stdout: ["kept"] });
      await prepareLog(sim, spec);
      await runtime.start(spec);
      await waitForEnd(runtime, spec.id);
      // Well past the retention: still there, because its log is not delivered yet.
      await new Promise((r) => setTimeout(r, 1_500));
      const path = `/api/v1/namespaces/${namespace}/pods/${spec.id}`;
      assert.equal((await api.get<PodObject>(path)).metadata.name, spec.id);
      assert.deepEqual((await collectLogs(runtime, spec.id)).map((l) => l.message), ["kept"]);
      delivered.add(spec.id);
      await new Promise<void>((resolve) => {
        const unwatch = runtime.watch(() => {});
        const timer = setInterval(() => {
          if (!runtime.list().some((s) => s.id === spec.id)) {
            clearInterval(timer);
            unwatch();
            resolve();
          }
        }, 100);
      });
      await assert.rejects(api.get(path), (err: unknown) => (err as KubeApiError).code === 404);
    } finally {
      await runtime.close();
    }
  });

  await t.step("creates are retried on 429 and 5xx answers", async () => {
    // The real API server behind a wrapper that answers the first creates with errors.
    const failures = [
      new KubeApiError(429, "TooManyRequests", "throttled", { retryAfterSeconds: 1 }),
      new KubeApiError(503, "ServiceUnavailable", "unavailable"),
      new KubeApiError(500, "InternalError", "etcd hiccup"),
    ];
    let calls = 0;
    const flaky = overriding(api, {
      create: <T>(path: string, body: unknown) => {
        calls++;
        const failure = failures.shift();
        return failure ? Promise.reject(failure) : api.create<T>(path, body);
      },
    });
    const runtime = await open({
      api: flaky,
      namespace,
      createBackoff: { initialMs: 10, maxMs: 50 },
    });
    try {
      const spec = simSpec(`retry-${suffix}`, 1, { stdout: ["made it"] });
      await prepareLog(sim, spec);
      const started = Date.now();
      await runtime.start(spec);
      assert.ok(Date.now() - started >= 1_000, "Retry-After: 1 was honoured");
      assert.equal(calls, 4, "three refused creates, then one that worked");
      assert.equal((await waitForEnd(runtime, spec.id)).phase, "succeeded");
    } finally {
      await runtime.close();
    }
  });

  await t.step("a stop no kubelet carries out deletes the pod and ends as Stopped", async () => {
    // The patch that asks the kubelet to stop is lost (as if its node were gone).
    const deaf = overriding(api, { mergePatch: <T>(path: string) => api.get<T>(path) });
    const runtime = await open({ api: deaf, namespace, stopGraceSeconds: 0, stopSlackMs: 300 });
    try {
      const spec = simSpec(`deaf-${suffix}`, 1, { stdout: ["x"], sleepSeconds: 30 });
      await prepareLog(sim, spec);
      await runtime.start(spec);
      await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
      await runtime.stop(spec.id);
      const end = runtime.list({ taskId: spec.taskId })[0];
      assert.equal(end.phase, "failed");
      assert.equal(end.reason, "Stopped");
      assert.match(end.message ?? "", /deleted before its end was seen/);
      await assert.rejects(
        api.get(`/api/v1/namespaces/${namespace}/pods/${spec.id}`),
        (err: unknown) => (err as KubeApiError).code === 404,
      );
    } finally {
      await runtime.close();
      cancelPrints();
    }
  });

  await t.step("a stopped worker's pod gets a Stopped Event", async () => {
    const events = new EventRecorder({ api, namespace, logger: silentLogger });
    const runtime = await open({ api, namespace, stopGraceSeconds: 0, events });
    try {
      const spec = simSpec(`stopped-${suffix}`, 1, { stdout: ["x"], sleepSeconds: 30 });
      await prepareLog(sim, spec);
      await runtime.start(spec);
      await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
      await runtime.stop(spec.id);
      await events.flush();
      const told = await eventsOf(api, namespace, spec.id);
      assert.deepEqual(told.map((e) => [e.type, e.reason]), [["Normal", "Stopped"]]);
    } finally {
      await runtime.close();
      cancelPrints();
    }
  });

  await t.step("a pod deleted behind Ottoscaler's back is failed as Lost", async () => {
    const runtime = await open({ api, namespace });
    try {
      const spec = simSpec(`gone-${suffix}`, 1, { stdout: ["x"], sleepSeconds: 30 });
      await prepareLog(sim, spec);
      await runtime.start(spec);
      await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
      await api.remove(`/api/v1/namespaces/${namespace}/pods/${spec.id}`, {
        gracePeriodSeconds: "0",
      });
      const end = await waitForEnd(runtime, spec.id);
      assert.equal(end.reason, "Lost");
      assert.match(end.message ?? "", /deleted/);
    } finally {
      await runtime.close();
      cancelPrints();
    }
  });
});

/** The Events Ottoscaler recorded about the object named `name` (not kube-scheduler's). */
async function eventsOf(api: KubeApi, namespace: string, name: string) {
  const { items } = await api.list<{
    type: string;
    reason: string;
    message: string;
    involvedObject: { name: string; uid?: string };
    source?: { component?: string };
  }>(`/api/v1/namespaces/${namespace}/events`, {
    fieldSelector: `involvedObject.name=${name}`,
  });
  return items.filter((e) => e.source?.component === "ottoscaler");
}
