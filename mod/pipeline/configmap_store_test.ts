import assert from "node:assert/strict";
import { ensureCluster } from "../../tests/support/cluster.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { type ConfigMapObject, connectKube, type KubeApi } from "../kube/api.ts";
import { KubeApiError } from "../kube/errors.ts";
import { compilePipeline } from "./compile.ts";
import {
  ConfigMapPipelineStore,
  PIPELINE_ID_ANNOTATION,
  PIPELINE_STATE_SELECTOR,
  pipelineConfigMapName,
  STATE_KEY,
} from "./configmap_store.ts";
import type { PipelineState } from "./state.ts";

/** A pipeline state as the executor first saves it. */
function stateOf(id: string): PipelineState {
  const definition = compilePipeline({
    pipelineId: id,
    stages: [
      { stageId: "build", workerCount: 1, command: ["sh", "-c", "true"] },
      { stageId: "test", workerCount: 2, dependsOn: ["build"], command: ["true"] },
    ],
  }, { maxWorkersPerStage: 10, requireCommand: false });
  const stage = () => ({
    status: "STAGE_PENDING" as const,
    attempt: 0,
    message: "waiting for its dependencies",
    errorMessage: "",
    workers: [],
    successful: 0,
    failed: 0,
  });
  return {
    definition,
    repository: "https://example.com/r.git",
    commitSha: "abc123",
    createdAt: new Date().toISOString(),
    cancelled: false,
    stages: { build: stage(), test: stage() },
  };
}

async function freshNamespace(): Promise<{ api: KubeApi; namespace: string }> {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `pipeline-store-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  return { api, namespace };
}

Deno.test("pipeline state in ConfigMaps (local control plane)", async (t) => {
  const { api, namespace } = await freshNamespace();
  const open = () => new ConfigMapPipelineStore({ api, namespace, logger: silentLogger });
  const configMaps = async () =>
    (await api.list<ConfigMapObject>(`/api/v1/namespaces/${namespace}/configmaps`, {
      labelSelector: PIPELINE_STATE_SELECTOR,
    })).items;
  const store = open();

  await t.step("a fresh namespace holds no pipelines", async () => {
    assert.deepEqual(await store.loadAll(), []);
    assert.equal(store.ownerOf("nope"), undefined);
  });

  await t.step("save then loadAll gives the state back; saves replace it", async () => {
    const state = stateOf("p1");
    await store.save(state);
    state.stages.build.status = "STAGE_COMPLETED";
    state.stages.build.attempt = 1;
    await store.save(state);
    const [loaded] = await store.loadAll();
    const json = JSON.parse(JSON.stringify(state)); // as stored: JSON has no undefined
    assert.deepEqual(loaded, json);
    const [cm] = await configMaps();
    assert.equal(cm.metadata.name, "ottoscaler-pipeline-p1");
    assert.equal(cm.metadata.labels?.["app.kubernetes.io/managed-by"], "ottoscaler");
    assert.equal(cm.metadata.labels?.["ottoscaler.io/pipeline-state"], "true");
    assert.equal(cm.metadata.labels?.["managed-by"], undefined, "that label selects worker pods");
    assert.equal(cm.metadata.annotations?.[PIPELINE_ID_ANNOTATION], "p1");
    assert.deepEqual(JSON.parse(cm.data![STATE_KEY]), json);
  });

  await t.step("ownerOf names the ConfigMap with its uid once saved", async () => {
    const [cm] = await configMaps();
    assert.deepEqual(store.ownerOf("p1"), {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: cm.metadata.name,
      uid: cm.metadata.uid,
    });
  });

  await t.step("saves of one pipeline are applied in order; the last one wins", async () => {
    const state = stateOf("p1");
    const saves = [];
    for (let attempt = 1; attempt <= 20; attempt++) {
      state.stages.test.attempt = attempt;
      saves.push(store.save(state));
    }
    await Promise.all(saves);
    const [loaded] = (await open().loadAll()).filter((s) => s.definition.id === "p1");
    assert.equal(loaded.stages.test.attempt, 20);
  });

  const odd = [
    "Build #42 / main",
    `release-${"x".repeat(200)}`,
    `release-${"x".repeat(200)}-2`,
    "UPPER.case_and.dots",
    "ünïcödé pipeline",
  ];

  await t.step("long and odd pipeline ids get distinct DNS-safe names", async () => {
    for (const id of odd) await store.save(stateOf(id));
    const names = odd.map(pipelineConfigMapName);
    assert.equal(new Set(names).size, odd.length);
    for (const name of names) {
      assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      assert.ok(name.length <= 253);
    }
    const byName = new Map((await configMaps()).map((cm) => [cm.metadata.name, cm]));
    for (const id of odd) {
      const cm = byName.get(pipelineConfigMapName(id));
      assert.equal(cm?.metadata.annotations?.[PIPELINE_ID_ANNOTATION], id);
      assert.equal(store.ownerOf(id)?.uid, cm?.metadata.uid);
    }
  });

  await t.step("a second store (a restarted Ottoscaler) sees every pipeline", async () => {
    const again = open();
    assert.equal(again.ownerOf("p1"), undefined, "nothing known before loading");
    const loaded = await again.loadAll();
    assert.deepEqual(loaded.map((s) => s.definition.id).sort(), ["p1", ...odd].sort());
    assert.deepEqual(again.ownerOf("p1"), store.ownerOf("p1"));
    // It carries on saving into the same ConfigMap.
    const state = loaded.find((s) => s.definition.id === "p1")!;
    state.cancelled = true;
    await again.save(state);
    assert.deepEqual(again.ownerOf("p1"), store.ownerOf("p1"), "replaced, not re-created");
    const reread = (await open().loadAll()).find((s) => s.definition.id === "p1")!;
    assert.equal(reread.cancelled, true);
  });

  await t.step("a store that never loaded replaces an existing ConfigMap of its id", async () => {
    const blind = open();
    const state = stateOf("p1");
    await blind.save(state);
    assert.deepEqual(blind.ownerOf("p1"), store.ownerOf("p1"));
    const reread = (await open().loadAll()).find((s) => s.definition.id === "p1")!;
    assert.equal(reread.cancelled, false);
  });

  await t.step("a ConfigMap deleted behind its back is made again", async () => {
    const before = store.ownerOf("p1")!;
    await api.remove(`/api/v1/namespaces/${namespace}/configmaps/${before.name}`);
    await store.save(stateOf("p1"));
    const after = store.ownerOf("p1")!;
    assert.equal(after.name, before.name);
    assert.notEqual(after.uid, before.uid);
  });

  await t.step("another pipeline's ConfigMap is never overwritten", async () => {
    // A ConfigMap under p2's name that holds some other id (a hand-made or colliding record).
    await api.create(`/api/v1/namespaces/${namespace}/configmaps`, {
      metadata: {
        name: pipelineConfigMapName("p2"),
        annotations: { [PIPELINE_ID_ANNOTATION]: "someone-else" },
      },
      data: { note: "not ours" },
    });
    await assert.rejects(store.save(stateOf("p2")), /holds pipeline "someone-else"/);
  });

  await t.step("throttling, server errors and conflicts are retried", async () => {
    // The real API behind a wrapper that answers the first writes with errors.
    const createFailures = [
      new KubeApiError(429, "TooManyRequests", "slow down", { retryAfterSeconds: 0.05 }),
      new KubeApiError(503, "ServiceUnavailable", "try again"),
    ];
    const replaceFailures = [new KubeApiError(409, "Conflict", "the object has been modified")];
    const calls: string[] = [];
    const flaky: KubeApi = {
      ...api,
      server: api.server,
      get: (path) => api.get(path),
      list: (path, query) => api.list(path, query),
      remove: (path, query) => api.remove(path, query),
      create: (path, body, query) => {
        calls.push("create");
        const err = createFailures.shift();
        return err ? Promise.reject(err) : api.create(path, body, query);
      },
      replace: (path, body) => {
        calls.push("replace");
        const err = replaceFailures.shift();
        return err ? Promise.reject(err) : api.replace(path, body);
      },
    };
    const retrying = new ConfigMapPipelineStore({
      api: flaky,
      namespace,
      logger: silentLogger,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const state = stateOf("p3");
    await retrying.save(state);
    state.stages.build.status = "STAGE_RUNNING";
    await retrying.save(state);
    // 429 (after its Retry-After), 503, created; then 409 on the replace, replaced.
    assert.deepEqual(calls, ["create", "create", "create", "replace", "replace"]);
    const loaded = (await open().loadAll()).find((s) => s.definition.id === "p3")!;
    assert.equal(loaded.stages.build.status, "STAGE_RUNNING");
    const limited = new ConfigMapPipelineStore({
      api: { ...flaky, create: () => Promise.reject(new KubeApiError(500, "InternalError", "x")) },
      namespace,
      logger: silentLogger,
      maxAttempts: 2,
      backoff: { initialMs: 1, maxMs: 1 },
    });
    await assert.rejects(limited.save(stateOf("p4")), /x/, "gives up after maxAttempts");
    await assert.rejects(
      new ConfigMapPipelineStore({
        api: {
          ...flaky,
          create: () => Promise.reject(new KubeApiError(422, "Invalid", "too long")),
        },
        namespace,
        logger: silentLogger,
      }).save(stateOf("p4")),
      /too long/,
      "other errors are not retried",
    );
  });

  await t.step("ConfigMaps without a readable state are skipped", async () => {
    await api.create(`/api/v1/namespaces/${namespace}/configmaps`, {
      metadata: {
        name: "ottoscaler-pipeline-broken",
        labels: {
          "app.kubernetes.io/managed-by": "ottoscaler",
          "ottoscaler.io/pipeline-state": "true",
        },
      },
      data: { [STATE_KEY]: "{not json" },
    });
    const loaded = await open().loadAll();
    assert.equal(loaded.length, 2 + odd.length);
  });
});
