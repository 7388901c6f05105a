import assert from "node:assert/strict";
import { workerLabels, workerName } from "../naming.ts";
import type { WorkerSpec } from "../types.ts";
import { buildPod, NON_ROOT_UID, TASK_ID_ANNOTATION } from "./pod.ts";

const taskId = "Build #42 / main";
const spec: WorkerSpec = {
  id: workerName(taskId, 2),
  taskId,
  index: 2,
  image: "busybox:latest",
  command: "echo hi",
  env: { OTTO_TASK_ID: taskId, B: "2", A: "1" },
  labels: workerLabels(taskId, 2),
  timeoutSeconds: 600,
};
const options = {
  namespace: "alice-dev",
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
};

Deno.test("worker pods", async (t) => {
  const pod = buildPod(spec, options);

  await t.step("named and labelled as ours, with the full task id annotated", () => {
    assert.equal(pod.metadata.name, spec.id);
    assert.equal(pod.metadata.namespace, "alice-dev");
    assert.equal(pod.metadata.labels["managed-by"], "ottoscaler");
    assert.equal(pod.metadata.labels.app, "otto-agent");
    assert.equal(pod.metadata.labels["ottoscaler.io/index"], "2");
    assert.equal(pod.metadata.annotations[TASK_ID_ANNOTATION], taskId);
  });

  await t.step("never restarts; the timeout becomes activeDeadlineSeconds", () => {
    assert.equal(pod.spec.restartPolicy, "Never");
    assert.equal(pod.spec.activeDeadlineSeconds, 600);
    assert.equal(
      buildPod({ ...spec, timeoutSeconds: 0 }, options).spec.activeDeadlineSeconds,
      undefined,
    );
  });

  await t.step("secure by default", () => {
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.ok(
      pod.spec.securityContext.runAsUser > 0 && pod.spec.securityContext.runAsUser === NON_ROOT_UID,
    );
    assert.equal(pod.spec.securityContext.seccompProfile.type, "RuntimeDefault");
    const [container] = pod.spec.containers;
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
  });

  await t.step("runs sh -c <command>, or the image's entrypoint without one", () => {
    const [container] = pod.spec.containers;
    assert.equal(container.image, "busybox:latest");
    assert.deepEqual(container.command, ["sh", "-c", "echo hi"]);
    const bare = buildPod({ ...spec, command: undefined }, options).spec.containers[0];
    assert.equal(bare.command, undefined);
  });

  await t.step("environment in a stable order, and the configured resources", () => {
    const [container] = pod.spec.containers;
    assert.deepEqual(container.env.map((e) => e.name), ["A", "B", "OTTO_TASK_ID"]);
    assert.deepEqual(container.resources, options.resources);
  });

  await t.step("extra annotations are kept, the task id is not overridden", () => {
    const sim = buildPod(spec, {
      ...options,
      annotations: { "ottoscaler.io/sim-duration": "2s", [TASK_ID_ANNOTATION]: "forged" },
    });
    assert.equal(sim.metadata.annotations["ottoscaler.io/sim-duration"], "2s");
    assert.equal(sim.metadata.annotations[TASK_ID_ANNOTATION], taskId);
  });

  await t.step("an owner becomes the pod's only owner reference; none without one", () => {
    assert.equal(pod.metadata.ownerReferences, undefined);
    const owner = {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "ottoscaler-pipeline-p1",
      uid: "u-1",
    };
    const owned = buildPod({ ...spec, owner }, options);
    assert.deepEqual(owned.metadata.ownerReferences, [owner]);
  });
});
