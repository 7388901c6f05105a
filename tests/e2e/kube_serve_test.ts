/**
 * End to end on the Kubernetes runtime: `main.ts serve` with WORKER_RUNTIME=kubernetes against the
 * local control plane (kube-apiserver, etcd, kube-scheduler, KWOK nodes), driven over gRPC as
 * otto-handler drives it. KWOK plays the kubelet: a worker's build_config (its environment) sets
 * how long it runs (OTTO_SIM_DURATION) and its exit code (OTTO_SIM_EXIT_CODE); what it prints is
 * a CRI log file named by a kwok `Logs` object for the pod's (deterministic) name.
 */

import assert from "node:assert/strict";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { connectKube, type KubeApi, type PodObject } from "../../mod/kube/api.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import { type Cluster, ensureCluster } from "../support/cluster.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { workersOf } from "../support/calls.ts";
import { type ServerProcess, startServerProcess } from "../support/server_process.ts";

function scaleUp(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
}

/** Waits (on WatchWorkerEvents, no polling) until `count` workers of the task ended. */
function endsOf(client: OttoscalerServiceClient, taskId: string, count: number) {
  return readUntil(
    client.WatchWorkerEvents({ task_id: taskId }),
    (events) =>
      events.filter((e) => e.status === "COMPLETED" || e.status === "FAILED").length >= count,
  );
}

/** Lays down what worker `index` of `taskId` prints, before it exists. */
async function printLines(
  cluster: Cluster,
  api: KubeApi,
  namespace: string,
  taskId: string,
  index: number,
  lines: string[],
) {
  const pod = `otto-agent-${taskId}-${index}`;
  const file = `${cluster.podLogDir}/${namespace}_${pod}.log`;
  const now = new Date().toISOString();
  await Deno.writeTextFile(file, lines.map((l) => `${now} stdout F ${l}\n`).join(""));
  await api.create(`/apis/kwok.x-k8s.io/v1alpha1/namespaces/${namespace}/logs`, {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Logs",
    metadata: { name: pod, namespace },
    spec: { logs: [{ logsFile: file }] },
  });
}

async function podsOf(api: KubeApi, namespace: string, taskId: string): Promise<PodObject[]> {
  const { items } = await api.list<PodObject>(`/api/v1/namespaces/${namespace}/pods`, {
    labelSelector: `managed-by=ottoscaler,ottoscaler.io/task=${taskId}`,
  });
  return items;
}

Deno.test("serve end to end on the Kubernetes runtime (local control plane)", async (t) => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `e2e-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const env = {
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfig,
    NAMESPACE: namespace,
    START_FAILURE_GRACE_SECONDS: "1",
  };
  const servers: ServerProcess[] = [];
  const serve = async (extra: Record<string, string> = {}) => {
    const server = await startServerProcess({ env: { ...env, ...extra } });
    servers.push(server);
    return { server, client: connect(server.address) };
  };
  let { server, client } = await serve();
  try {
    await t.step(
      "ScaleUp 3: scheduled on simulated nodes, Running, succeeded, logs delivered",
      async () => {
        const task = "build";
        for (const i of [1, 2, 3]) {
          await printLines(cluster, api, namespace, task, i, [`w${i} compiling`, `w${i} done`]);
        }
        const events = endsOf(client, task, 3);
        const res = await scaleUp(client, {
          task_id: task,
          worker_count: 3,
          build_config: { image: "busybox:1.36", OTTO_SIM_DURATION: "1s" },
        });
        assert.equal(res.status, "SUCCESS");
        assert.deepEqual(res.worker_pod_names, [1, 2, 3].map((i) => `otto-agent-${task}-${i}`));
        const seen = await events;
        for (const i of [1, 2, 3]) {
          const mine = seen.filter((e) => e.worker_id === `otto-agent-${task}-${i}`).map((e) =>
            e.status
          );
          assert.ok(mine.includes("RUNNING"), `worker ${i} was seen running: ${mine}`);
          assert.equal(mine.at(-1), "COMPLETED");
        }
        const pods = await podsOf(api, namespace, task);
        assert.equal(pods.length, 3);
        for (const pod of pods) {
          assert.match(
            pod.spec?.nodeName ?? "",
            /^kwok-node-\d+$/,
            "scheduled on a simulated node",
          );
          assert.equal(pod.status?.phase, "Succeeded");
          assert.equal(pod.metadata.labels?.["app"], "otto-agent");
        }
        const lines = await readAll<WorkerLogEntry__Output>(
          client.WatchWorkerLogs({ task_id: task, follow: true }),
        );
        for (const i of [1, 2, 3]) {
          const mine = lines.filter((l) => l.worker_id === `otto-agent-${task}-${i}`);
          assert.deepEqual(mine.map((l) => [Number(l.sequence), l.message]), [
            [1, `w${i} compiling`],
            [2, `w${i} done`],
          ]);
        }
      },
    );

    await t.step("a worker that exits with code 1 is FAILED with the reason", async () => {
      const task = "broken";
      await printLines(cluster, api, namespace, task, 1, ["error: tests failed"]);
      const events = endsOf(client, task, 1);
      await scaleUp(client, {
        task_id: task,
        worker_count: 1,
        build_config: { image: "busybox:1.36", OTTO_SIM_EXIT_CODE: "1" },
      });
      assert.equal((await events).at(-1)?.status, "FAILED");
      const [worker] = (await workersOf(client, task)).workers;
      assert.equal(worker.status, "failed");
      assert.match(worker.error_message, /Error: exited with code 1/);
    });

    await t.step(
      "ScaleDown stops the highest indices: TERMINATED, pods kept with their logs",
      async () => {
        const task = "soak";
        for (const i of [1, 2, 3]) await printLines(cluster, api, namespace, task, i, [`up ${i}`]);
        const terminated = readUntil(
          client.WatchWorkerEvents({ task_id: task }),
          (events) => events.filter((e) => e.status === "TERMINATED").length === 2,
        );
        const running = readUntil(
          client.WatchWorkerEvents({ task_id: task }),
          (events) => events.filter((e) => e.status === "RUNNING").length === 3,
        );
        const config = { image: "busybox:1.36", OTTO_SIM_DURATION: "60s" };
        await scaleUp(client, { task_id: task, worker_count: 3, build_config: config });
        await running;
        const down = await unaryCall<ScaleRequest, ScaleResponse__Output>(
          client.ScaleDown.bind(client),
          { task_id: task, worker_count: 1 },
        );
        assert.equal(down.processed_count, 2);
        assert.deepEqual(down.worker_pod_names, [3, 2].map((i) => `otto-agent-${task}-${i}`));
        assert.deepEqual(
          (await terminated).filter((e) => e.status === "TERMINATED").map((e) => e.worker_id)
            .sort(),
          [2, 3].map((i) => `otto-agent-${task}-${i}`),
        );
        const workers = (await workersOf(client, task)).workers;
        assert.deepEqual(workers.map((w) => [w.pod_name, w.status]), [
          [`otto-agent-${task}-1`, "running"],
          [`otto-agent-${task}-2`, "failed"],
          [`otto-agent-${task}-3`, "failed"],
        ]);
        assert.match(workers[2].error_message, /^Stopped/);
        // Stopped by deadline, not deleted: the pod and its log are still there.
        const pods = await podsOf(api, namespace, task);
        const three = pods.find((p) => p.metadata.name === `otto-agent-${task}-3`);
        assert.equal(three?.status?.phase, "Failed");
        assert.ok(three?.metadata.annotations?.["ottoscaler.io/stop-requested"]);
        const lines = await readAll<WorkerLogEntry__Output>(
          client.WatchWorkerLogs({ task_id: task, worker_id: `otto-agent-${task}-3` }),
        );
        assert.deepEqual(lines.map((l) => l.message), ["up 3"]);
        await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleDown.bind(client), {
          task_id: task,
          worker_count: 0,
        });
      },
    );

    await t.step("a worker no node can take is FAILED as Unschedulable", async () => {
      // A second Ottoscaler whose workers ask for more CPU than any simulated node has.
      const big = await serve({ WORKER_CPU_REQUEST: "5000" });
      try {
        const task = "too-big";
        const events = endsOf(big.client, task, 1);
        await scaleUp(big.client, { task_id: task, worker_count: 1, build_config: {} });
        assert.equal((await events).at(-1)?.status, "FAILED");
        const [worker] = (await workersOf(big.client, task)).workers;
        assert.equal(worker.status, "failed");
        assert.match(worker.error_message, /^Unschedulable: .*Insufficient cpu/);
      } finally {
        big.client.close();
        await big.server.stop();
      }
    });

    await t.step(
      "killed and restarted mid-run: no orphan, no duplicate, statuses known",
      async () => {
        const task = "survivor";
        for (const i of [1, 2, 3]) await printLines(cluster, api, namespace, task, i, [`s${i}`]);
        const running = readUntil(
          client.WatchWorkerEvents({ task_id: task }),
          (events) => events.filter((e) => e.status === "RUNNING").length >= 3,
        );
        const config = { image: "busybox:1.36", OTTO_SIM_DURATION: "4s" };
        await scaleUp(client, { task_id: task, worker_count: 3, build_config: config });
        await running;
        client.close();
        await server.kill();

        // A new Ottoscaler with an empty state dir: everything it knows comes from the cluster.
        ({ server, client } = await serve());
        const known = await workersOf(client, task);
        assert.deepEqual(
          known.workers.map((w) => w.pod_name).sort(),
          [1, 2, 3].map((i) => `otto-agent-${task}-${i}`),
        );
        const again = await scaleUp(client, {
          task_id: task,
          worker_count: 3,
          build_config: config,
        });
        assert.equal(again.processed_count, 0, "nothing is started twice");
        const ends = await endsOf(client, task, 3);
        assert.equal(ends.filter((e) => e.status === "COMPLETED").length, 3);
        const pods = await podsOf(api, namespace, task);
        assert.equal(pods.length, 3, "exactly the three pods, none orphaned or duplicated");
        const lines = await readAll<WorkerLogEntry__Output>(
          client.WatchWorkerLogs({ task_id: task, follow: true }),
        );
        assert.deepEqual(lines.map((l) => l.message).sort(), ["s1", "s2", "s3"]);
      },
    );
  } finally {
    client.close();
    for (const s of servers) await s.stop().catch(() => {});
  }
});
