import assert from "node:assert/strict";
import { buildPod } from "../worker/kube/pod.ts";
import type { WorkerSpec } from "../worker/types.ts";
import {
  describeShortfall,
  parseQuantity,
  podDemand,
  quotaCounts,
  type ResourceQuotaObject,
  shortfall,
} from "./quota.ts";

const spec: WorkerSpec = {
  id: "otto-agent-q-1",
  taskId: "q",
  index: 1,
  image: "busybox",
  env: {},
  labels: {},
  timeoutSeconds: 0,
};

Deno.test("parseQuantity reads Kubernetes quantities", () => {
  const cases: [string, number][] = [
    ["1", 1],
    ["100m", 0.1],
    ["1.5", 1.5],
    ["128Mi", 128 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["2k", 2000],
    ["1e3", 1000],
  ];
  for (const [text, want] of cases) assert.equal(parseQuantity(text), want, text);
  assert.throws(() => parseQuantity("12 apples"), /not a quantity/);
});

Deno.test("podDemand is read from the pod the runtime would create", () => {
  const pod = buildPod(spec, {
    namespace: "ns",
    resources: { requests: { cpu: "250m" }, limits: { memory: "1Gi" } },
  });
  assert.deepEqual(podDemand(pod), {
    pods: 1,
    "count/pods": 1,
    "requests.cpu": 0.25,
    // A limit without a request is the request too, as Kubernetes defaults it.
    "requests.memory": 2 ** 30,
    "limits.memory": 2 ** 30,
    cpu: 0.25,
    memory: 2 ** 30,
  });
});

Deno.test("shortfall names the quota and the resource a demand does not fit in", () => {
  const quotas: ResourceQuotaObject[] = [
    { metadata: { name: "roomy" }, status: { hard: { pods: "100" } } },
    { metadata: { name: "cpu" }, status: { hard: { "requests.cpu": "1", pods: "10" } } },
  ];
  const demand = { pods: 2, "requests.cpu": 0.5 };
  assert.equal(shortfall(quotas, demand, () => ({ "requests.cpu": 0.5, pods: 1 })), undefined);
  const s = shortfall(quotas, demand, () => ({ "requests.cpu": 0.75, pods: 1 }))!;
  assert.deepEqual(s, { quota: "cpu", resource: "requests.cpu", used: 0.75, hard: 1, asked: 0.5 });
  assert.equal(
    describeShortfall(s),
    "ResourceQuota cpu (requests.cpu: 750m used of 1, 500m asked)",
  );
  // Resources a quota does not limit, and ones the demand does not ask for, are no shortfall.
  assert.equal(shortfall(quotas, { "limits.memory": 1e12 }, () => ({})), undefined);
});

Deno.test("quotaCounts follows the quota's scopes", () => {
  const resources = { requests: { cpu: "100m" } };
  const plain = buildPod(spec, { namespace: "ns", resources });
  const deadline = buildPod({ ...spec, timeoutSeconds: 60 }, { namespace: "ns", resources });
  const bare = buildPod(spec, { namespace: "ns", resources: {} });
  const quota = (scopes?: string[]): ResourceQuotaObject => ({
    metadata: { name: "q" },
    spec: { hard: { pods: "1" }, ...(scopes ? { scopes } : {}) },
  });
  assert.equal(quotaCounts(quota(), plain), true);
  assert.equal(quotaCounts(quota(["Terminating"]), plain), false);
  assert.equal(quotaCounts(quota(["Terminating"]), deadline), true);
  assert.equal(quotaCounts(quota(["NotTerminating", "NotBestEffort"]), plain), true);
  assert.equal(quotaCounts(quota(["BestEffort"]), plain), false);
  assert.equal(quotaCounts(quota(["BestEffort"]), bare), true);
  assert.equal(quotaCounts(quota(["PriorityClass"]), plain), false, "left to the API server");
});
