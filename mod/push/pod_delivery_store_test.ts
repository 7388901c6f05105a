import assert from "node:assert/strict";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { connectKube, type PodObject } from "../kube/api.ts";
import { DELIVERY_ANNOTATION, PodDeliveryStore } from "./pod_delivery_store.ts";

Deno.test("delivery progress lives on the worker pods and is read back by a new store", async () => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `delivery-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const pods = `/api/v1/namespaces/${namespace}/pods`;
  for (const name of ["otto-agent-d-1", "otto-agent-d-2"]) {
    await api.create(pods, {
      metadata: { name, labels: { "managed-by": "ottoscaler" } },
      // An impossible node selector keeps them Pending: the store only needs the objects.
      spec: {
        nodeSelector: { "ottoscaler.io/nowhere": "true" },
        containers: [{ name: "worker", image: "busybox:1.36" }],
      },
    });
  }

  const store = await PodDeliveryStore.open(api, namespace);
  assert.deepEqual(store.get("otto-agent-d-1"), { logsAcked: 0, eventsAcked: 0 });
  store.update("otto-agent-d-1", { logsAcked: 120, eventsAcked: 2 });
  store.update("otto-agent-d-1", { logsAcked: 80 }); // progress never moves backwards
  store.update("otto-agent-d-2", { logsAcked: 7, eventsAcked: 3, complete: true });
  store.update("otto-agent-gone-1", { logsAcked: 1 }); // no such pod: skipped, not an error
  await store.flush();

  const one = await api.get<PodObject>(`${pods}/otto-agent-d-1`);
  assert.deepEqual(JSON.parse(one.metadata.annotations?.[DELIVERY_ANNOTATION] ?? "null"), {
    logsAcked: 120,
    eventsAcked: 2,
  });

  const reopened = await PodDeliveryStore.open(api, namespace);
  assert.deepEqual(reopened.get("otto-agent-d-1"), { logsAcked: 120, eventsAcked: 2 });
  assert.deepEqual(reopened.get("otto-agent-d-2"), {
    logsAcked: 7,
    eventsAcked: 3,
    complete: true,
  });
  assert.deepEqual(reopened.get("otto-agent-gone-1"), { logsAcked: 0, eventsAcked: 0 });

  for (const name of ["otto-agent-d-1", "otto-agent-d-2"]) {
    await api.remove(`${pods}/${name}`, { gracePeriodSeconds: "0" });
  }
});
