import assert from "node:assert/strict";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { connectKube, type KubeApi } from "../kube/api.ts";
import { KubeApiError } from "../kube/errors.ts";
import { NotLeaderError } from "../kube/leader.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { ConfigMapAdmissionStore, QUEUE_SELECTOR, queueConfigMapName } from "./configmap_store.ts";
import type { QueueRecord } from "./store.ts";

function record(key: string): QueueRecord {
  return {
    key,
    tenant: "t",
    priority: 0,
    seq: 1,
    queuedAt: new Date().toISOString(),
    gang: false,
    specs: [{
      id: key,
      taskId: "task",
      index: 1,
      image: "busybox:latest",
      command: "true",
      env: {},
      labels: {},
      timeoutSeconds: 0,
    }],
    ended: [],
  };
}

Deno.test("the line's ConfigMaps are written only while this replica leads (local control plane)", async (t) => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `admstore-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const names = async () =>
    (await api.list<{ metadata: { name: string } }>(path, { labelSelector: QUEUE_SELECTOR }))
      .items.map((cm) => cm.metadata.name);
  let leading = false;
  const leadership = { isLeader: () => leading, leader: () => leading ? "me" : "the other one" };
  const store = new ConfigMapAdmissionStore(api, namespace, silentLogger, leadership);
  try {
    await t.step("a standby's put and delete are refused and change nothing", async () => {
      await assert.rejects(store.put(record("w-1")), NotLeaderError);
      assert.deepEqual(await names(), []);
      leading = true;
      await store.put(record("w-1"));
      leading = false;
      await assert.rejects(store.delete("w-1"), NotLeaderError);
      assert.deepEqual(await names(), [queueConfigMapName("w-1")]);
      assert.deepEqual((await store.load()).map((r) => r.key), ["w-1"], "a standby still reads");
      leading = true;
      await store.delete("w-1");
      assert.deepEqual(await names(), []);
    });

    await t.step("a write retried after leadership is lost is not sent again", async () => {
      const calls: string[] = [];
      const flaky: KubeApi = {
        ...api,
        server: api.server,
        get: (p) => api.get(p),
        list: (p, q) => api.list(p, q),
        create: () => {
          calls.push("create");
          leading = false; // lost while the API server was down
          return Promise.reject(new KubeApiError(503, "ServiceUnavailable", "try again"));
        },
      };
      leading = true;
      const losing = new ConfigMapAdmissionStore(flaky, namespace, silentLogger, leadership);
      await assert.rejects(losing.put(record("w-2")), NotLeaderError);
      assert.deepEqual(calls, ["create"]);
      assert.deepEqual(await names(), []);
    });
  } finally {
    await api.remove(`/api/v1/namespaces/${namespace}`);
  }
});
