/**
 * Builds wait for room on the Kubernetes runtime (local control plane with the real resourcequota
 * controller of kube-controller-manager): a ResourceQuota of 3 pods and a ScaleUp of 6, a cpu
 * quota, a request that can never fit, and two pipelines whose stages are admitted whole. A pod
 * watch opened before each step counts how many worker pods are unfinished at once.
 */

import assert from "node:assert/strict";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { connectKube, type KubeApi, type PodObject } from "../../mod/kube/api.ts";

import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { ensureCluster } from "../support/cluster.ts";
import { readAll } from "../support/grpc.ts";
import { finalStatuses, workersOf } from "../support/calls.ts";
import { pipelineConfigMapName } from "../../mod/pipeline/configmap_store.ts";
import { podMeter } from "../support/pod_meter.ts";
import { startServerProcess } from "../support/server_process.ts";

function scaleUp(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
}

/** Waits (asking every 250 ms) until every worker of `task` has ended; their statuses. */
async function untilEnded(client: OttoscalerServiceClient, task: string, count: number) {
  for (;;) {
    const { workers } = await workersOf(client, task);
    if (workers.length === count && workers.every((w) => /succeeded|failed/.test(w.status))) {
      return workers;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Sets the namespace's one quota and waits until the quota controller has taken it in. */
async function setQuota(api: KubeApi, namespace: string, hard: Record<string, string>) {
  const path = `/api/v1/namespaces/${namespace}/resourcequotas`;
  await api.remove(`${path}/room`);
  await api.create(path, { metadata: { name: "room" }, spec: { hard } });
  for (;;) {
    const quota = await api.get<{ status?: { hard?: Record<string, string> } }>(`${path}/room`);
    if (JSON.stringify(quota.status?.hard ?? {}) === JSON.stringify(hard)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("admission on the Kubernetes runtime: quotas, never-fits, gangs", async (t) => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `adm-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const meter = podMeter(api, namespace);
  await meter.ready;
  const server = await startServerProcess({
    env: { WORKER_RUNTIME: "kubernetes", KUBECONFIG: cluster.kubeconfig, NAMESPACE: namespace },
  });
  const client = connect(server.address);
  try {
    await t.step("a quota of 3 pods and a ScaleUp of 6: all run, 3 at a time", async () => {
      await setQuota(api, namespace, { pods: "3" });
      meter.reset();
      const res = await scaleUp(client, {
        task_id: "pods6",
        worker_count: 6,
        build_config: { OTTO_SIM_DURATION: "2s" },
      });
      assert.equal(res.status, "SUCCESS", res.message);
      const waiting = (await workersOf(client, "pods6")).workers.filter((w) =>
        w.error_message.startsWith("Queued")
      );
      assert.ok(waiting.length >= 3, `3 wait: ${JSON.stringify(waiting)}`);
      for (const w of waiting) {
        assert.equal(w.status, "pending");
        assert.match(w.error_message, /held by ResourceQuota room \(pods: 3 used of 3, 1 asked\)/);
      }
      const ends = await untilEnded(client, "pods6", 6);
      assert.ok(ends.every((w) => w.status === "succeeded"), JSON.stringify(ends));
      assert.ok(meter.peak() <= 3, `at most 3 pods at once, saw ${meter.peak()}`);
    });

    await t.step("a cpu quota: 2 workers of 100m at a time under 200m", async () => {
      await setQuota(api, namespace, { "requests.cpu": "200m" });
      meter.reset();
      const res = await scaleUp(client, {
        task_id: "cpu4",
        worker_count: 4,
        build_config: { OTTO_SIM_DURATION: "2s" },
      });
      assert.equal(res.status, "SUCCESS", res.message);
      const held = (await workersOf(client, "cpu4")).workers.filter((w) =>
        /held by ResourceQuota room \(requests.cpu: 200m used of 200m, 100m asked\)/.test(
          w.error_message,
        )
      );
      assert.ok(held.length >= 1, "the waiting ones name the cpu quota");
      const ends = await untilEnded(client, "cpu4", 4);
      assert.ok(ends.every((w) => w.status === "succeeded"), JSON.stringify(ends));
      assert.ok(meter.peak() <= 2, `at most 2 pods at once, saw ${meter.peak()}`);
    });

    await t.step("a worker that can never fit is refused at once, naming the quota", async () => {
      await setQuota(api, namespace, { "limits.memory": "512Mi" });
      const res = await scaleUp(client, { task_id: "huge", worker_count: 1, build_config: {} });
      assert.equal(res.status, "FAILED");
      assert.match(
        res.message,
        /QuotaExceeded: can never fit: ResourceQuota room allows limits.memory 512Mi, 1024Mi asked/,
      );
      const [w] = (await workersOf(client, "huge")).workers;
      assert.equal(w.status, "failed");
      assert.match(w.error_message, /^QuotaExceeded: can never fit/);
      const { items } = await api.list<PodObject>(`/api/v1/namespaces/${namespace}/pods`, {
        labelSelector: "ottoscaler.io/task=huge",
      });
      assert.equal(items.length, 0, "no pod was created");
    });

    await t.step(
      "two pipelines' stages of 3 under a quota of 3 pods go whole, one after the other",
      async () => {
        await setQuota(api, namespace, { pods: "3" });
        const blocker = await scaleUp(client, {
          task_id: "blocker",
          worker_count: 1,
          build_config: { OTTO_SIM_DURATION: "4s" },
        });
        assert.equal(blocker.status, "SUCCESS", blocker.message);
        meter.reset();
        const pipeline = (id: string, tenant: string) =>
          readAll<PipelineProgress__Output>(client.ExecutePipeline({
            pipeline_id: id,
            metadata: { tenant },
            stages: [{
              stage_id: "s",
              worker_count: 3,
              image: "busybox:latest",
              config: { OTTO_SIM_DURATION: "2s" },
            }],
          }));
        const runs = Promise.all([pipeline("kgang-a", "alpha"), pipeline("kgang-b", "beta")]);
        // While the blocker holds 1 of 3 pods, neither stage has a single pod: both wait whole.
        for (;;) {
          const gang = (await unaryCall<object, WorkerStatusResponse__Output>(
            client.GetWorkerStatus.bind(client),
            {},
          )).workers.filter((w) => w.pod_name.startsWith("otto-agent-kgang-"));
          if (gang.length === 6) {
            assert.ok(gang.every((w) => w.status === "pending" && /^Queued/.test(w.error_message)));
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        const [a, b] = await runs;
        assert.deepEqual(finalStatuses(a), { s: "STAGE_COMPLETED" });
        assert.deepEqual(finalStatuses(b), { s: "STAGE_COMPLETED" });
        assert.ok(meter.peak() <= 3, `at most 3 pods at once, saw ${meter.peak()}`);
      },
    );

    await t.step("the garbage collector deletes a pipeline's pods with its ConfigMap", async () => {
      const pods = async () =>
        (await api.list<PodObject>(`/api/v1/namespaces/${namespace}/pods`, {
          labelSelector: "ottoscaler.io/pipeline=kgang-a",
        })).items.filter((p) => !p.metadata.deletionTimestamp);
      assert.equal((await pods()).length, 3, "the stage's 3 pods are kept after it finished");
      await api.remove(
        `/api/v1/namespaces/${namespace}/configmaps/${pipelineConfigMapName("kgang-a")}`,
        { propagationPolicy: "Background" },
      );
      // kube-controller-manager's garbage collector follows the pods' owner references.
      const giveUp = Date.now() + 60_000; // a guard against hanging, not a timing assertion
      while ((await pods()).length > 0) {
        if (Date.now() > giveUp) throw new Error("the pipeline's pods were never collected");
        await new Promise((r) => setTimeout(r, 250));
      }
    });
  } finally {
    client.close();
    await server.stop();
    await meter.close();
    await api.remove(`/api/v1/namespaces/${namespace}`);
  }
});

Deno.test("admission on the Kubernetes runtime: a cap, the line in ConfigMaps across a SIGKILL", async () => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `admcap-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const meter = podMeter(api, namespace);
  await meter.ready;
  const env = {
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfig,
    NAMESPACE: namespace,
    MAX_RUNNING_WORKERS: "2",
  };
  let server = await startServerProcess({ env });
  let client = connect(server.address);
  const queued = async () =>
    (await api.list<{ metadata: { name: string } }>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { labelSelector: "ottoscaler.io/admission=queue" },
    )).items.length;
  try {
    const res = await scaleUp(client, {
      task_id: "capped",
      worker_count: 5,
      build_config: { OTTO_SIM_DURATION: "3s" },
    });
    assert.equal(res.status, "SUCCESS", res.message);
    const waiting = (await workersOf(client, "capped")).workers.filter((w) =>
      w.error_message.startsWith("Queued")
    );
    assert.equal(waiting.length, 3);
    assert.match(waiting[0].error_message, /held by MAX_RUNNING_WORKERS \(2, 2 running\)/);
    assert.equal(await queued(), 3, "one ConfigMap per waiting worker");
    client.close();
    await server.kill();
    server = await startServerProcess({ env, stateDir: server.stateDir });
    client = connect(server.address);
    const ends = await untilEnded(client, "capped", 5);
    assert.ok(ends.every((w) => w.status === "succeeded"), JSON.stringify(ends));
    assert.ok(meter.peak() <= 2, `at most 2 pods at once, saw ${meter.peak()}`);
    assert.equal(await queued(), 0, "the line is empty and so are its ConfigMaps");
  } finally {
    client.close();
    await server.stop();
    await meter.close();
    await api.remove(`/api/v1/namespaces/${namespace}`);
  }
});
