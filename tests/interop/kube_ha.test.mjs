// High availability on the Kubernetes runtime: two `serve` processes on the local control plane
// elect a leader on a Lease (client-go's defaults: lease 15 s, renew deadline 10 s, retry 2 s),
// pushing to a grpc-js handler on Node.js as otto-handler runs it.
//
// - exactly one leader; the standby is not ready (/readyz names the leader), its gRPC health is
//   NOT_SERVING, and it refuses a changing call with UNAVAILABLE naming the leader;
// - the leader killed with SIGKILL: the standby becomes ready within the lease and a generous
//   margin (a deadline that fails, not a measurement), re-adopts the pods (no duplicate), delivers
//   every line (from the progress on the pods) and continues the pipeline (no stage run twice);
// - a leader whose API access is cut (a TCP proxy in front of the API server, closed) stops
//   leading and exits 1, and the standby takes over.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { join } from "node:path";
import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  HANDLER_OPTIONS,
  loadContract,
  startOttoscaler,
  tempDir,
  unary,
  waitFor,
} from "./support.mjs";
import { cluster, newRecord, prepare, startHandler } from "./kube_support.mjs";

const require = createRequire(import.meta.url);
const v1 = loadContract();
const LINES = ["checkout", "compile", "test", "package", "done"];
const LEASE_SECONDS = 15;

/** A port that was free a moment ago. */
function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** GET `path` of an instance's HTTP port: status and body. */
async function http(instance, path) {
  const res = await fetch(`${instance.httpUrl()}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Waits until `check()` (async) holds; fails with `describe()` after `ms`. */
async function until(check, describe, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ready = (instance) => async () => (await http(instance, "/readyz")).status === 200;

/** Starts one replica and waits until its HTTP port listens. */
async function replica(env) {
  const instance = await startOttoscaler({ env: { ...env, HTTP_PORT: String(await freePort()) } });
  await waitFor(() => instance.httpUrl() && instance.identity(), () => instance.logs());
  return instance;
}

/** grpc.health.v1.Health/Check of the whole server. */
async function health(address) {
  const { protoPath } = require("grpc-health-check");
  const h = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, HANDLER_OPTIONS)).grpc.health
    .v1;
  const client = new h.Health(address, grpc.credentials.createInsecure());
  try {
    return (await unary(client, "Check", { service: "" })).status;
  } finally {
    client.close();
  }
}

const lease = (k, ns) =>
  JSON.parse(k.curl("GET", `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/ottoscaler`).body);
const pods = (k, ns) =>
  JSON.parse(
    k.curl("GET", `/api/v1/namespaces/${ns}/pods?labelSelector=managed-by%3Dottoscaler`).body,
  ).items;

describe("leader election with a hot standby (local control plane)", () => {
  it(
    "one leader; after a SIGKILL the standby takes over: no duplicate, no lost line, the pipeline goes on",
    {
      timeout: 240_000,
    },
    async () => {
      const k = cluster();
      const task = "ha";
      const namespace = prepare(k, task, 3, LINES);
      // The handler acknowledges nothing at first: every line is still to deliver at the failover.
      const record = newRecord(false);
      const handler = await startHandler(record);
      const env = {
        WORKER_RUNTIME: "kubernetes",
        KUBECONFIG: k.kubeconfig,
        NAMESPACE: namespace,
        OTTO_HANDLER_HOST: `127.0.0.1:${handler.port}`,
        LEADER_ELECTION: "true",
        POD_RETENTION_SECONDS: "3600",
        PUSH_ACK_TIMEOUT_SECONDS: "60",
      };
      const a = await replica(env);
      await until(ready(a), () => http(a, "/readyz").then((r) => r.body), 30_000);
      const b = await replica(env);
      const clients = [];
      const clientOf = (instance) => {
        const c = new v1.OttoscalerService(instance.address, grpc.credentials.createInsecure());
        clients.push(c);
        return c;
      };
      try {
        // --- one leader, one standby ---------------------------------------------------------
        await until(
          async () => (await http(b, "/readyz")).body.includes(a.identity()),
          () => http(b, "/readyz").then((r) => r.body),
          30_000,
        );
        const standby = await http(b, "/readyz");
        assert.equal(standby.status, 503);
        assert.match(standby.body, /leader: not the leader \(standby\); the leader is /);
        assert.equal((await http(b, "/healthz")).status, 200, "a standby is alive");
        assert.equal(lease(k, namespace).spec.holderIdentity, a.identity());
        assert.equal(await health(a.address), "SERVING");
        await until(
          async () => (await health(b.address)) === "NOT_SERVING",
          () => "b health",
          10_000,
        );
        await assert.rejects(
          unary(clientOf(b), "ScaleUp", { taskId: "refused", workerCount: 1 }),
          (err) => {
            assert.equal(err.code, grpc.status.UNAVAILABLE);
            assert.match(err.details, new RegExp(`the leader is ${a.identity()}`));
            return true;
          },
        );
        const leaderMetric = async (i) =>
          Number((await http(i, "/metrics")).body.match(/^ottoscaler_leader (\d+)$/m)?.[1]);
        assert.equal(await leaderMetric(a), 1);
        assert.equal(await leaderMetric(b), 0);

        // --- work under way on the leader -------------------------------------------------------
        const leader = clientOf(a);
        await unary(leader, "ScaleUp", {
          taskId: task,
          workerCount: 3,
          buildConfig: { OTTO_SIM_DURATION: "1s" },
        });
        const pipeline = {
          pipelineId: "ha-pipe",
          stages: [
            {
              stageId: "build",
              workerCount: 1,
              image: "busybox:1.36",
              config: { OTTO_SIM_DURATION: "3s" },
            },
            {
              stageId: "test",
              workerCount: 1,
              dependsOn: ["build"],
              image: "busybox:1.36",
              config: { OTTO_SIM_DURATION: "1s" },
            },
          ],
        };
        // The standby serves reads from its warm cache.
        await until(
          async () =>
            (await unary(clientOf(b), "GetWorkerStatus", { taskId: task })).workers.length === 3,
          () => "the standby to see the 3 workers",
          30_000,
        );
        const stream = leader.ExecutePipeline(pipeline);
        stream.on("error", () => {}); // cut by the kill below
        await new Promise((resolve) => stream.once("data", resolve));
        await waitFor(() => record.lines.size > 0, () => `lines ${record.lines.size}`);

        // --- the leader dies ------------------------------------------------------------------
        // From now on the handler acknowledges, but only what it receives next: the old leader's
        // streams wait for acknowledgements that never come, so every line must be delivered
        // again, and acknowledged, by the new leader from the progress recorded on the pods.
        record.acking = true;
        await a.kill();
        await until(
          ready(b),
          () => http(b, "/readyz").then((r) => r.body),
          (LEASE_SECONDS + 20) * 1000,
        );
        const held = lease(k, namespace).spec;
        assert.equal(held.holderIdentity, b.identity());
        assert.equal(held.leaseTransitions, 1);
        assert.equal(await leaderMetric(b), 1);

        // Delivery resumes on the new leader: every worker's lines acknowledged, as its pod says.
        const delivery = (i) => {
          const pod = k.curl("GET", `/api/v1/namespaces/${namespace}/pods/otto-agent-${task}-${i}`);
          const text = JSON.parse(pod.body).metadata.annotations?.["ottoscaler.io/delivery"];
          return text ? JSON.parse(text) : {};
        };
        await waitFor(
          () => [1, 2, 3].every((i) => delivery(i).complete === true),
          () => `delivery ${JSON.stringify([1, 2, 3].map(delivery))}`,
          90_000,
        );
        assert.deepEqual([1, 2, 3].map((i) => delivery(i).logsAcked), [5, 5, 5]);
        assert.equal(record.lines.size, 15);
        for (let i = 1; i <= 3; i++) {
          LINES.forEach((line, n) =>
            assert.equal(record.lines.get(`otto-agent-${task}-${i}#${n + 1}`), `w${i} ${line}`)
          );
        }

        // The pipeline goes on from its ConfigMap, on the new leader.
        const progress = await new Promise((resolve, reject) => {
          const items = [];
          const watch = clientOf(b).WatchPipeline({ pipelineId: "ha-pipe" });
          watch.on("data", (p) => items.push(p));
          watch.on("end", () => resolve(items));
          watch.on("error", reject);
        });
        const last = Object.fromEntries(progress.map((p) => [p.stageId, p.status]));
        assert.deepEqual(last, { build: "STAGE_COMPLETED", test: "STAGE_COMPLETED" });

        // No duplicate: exactly the workers asked for, each once (names are deterministic).
        const names = pods(k, namespace).map((p) => p.metadata.name).sort();
        assert.deepEqual(names, [
          "otto-agent-ha-1",
          "otto-agent-ha-2",
          "otto-agent-ha-3",
          "otto-agent-ha-pipe-build-a1-1",
          "otto-agent-ha-pipe-test-a1-1",
        ]);
        const status = await unary(clientOf(b), "GetWorkerStatus", { taskId: task });
        assert.deepEqual(status.workers.map((w) => w.status), [
          "succeeded",
          "succeeded",
          "succeeded",
        ]);

        // The new leader's metrics tell what it did (read by a scrape after known activity).
        const metrics = (await http(b, "/metrics")).body;
        const value = (pattern) => Number(metrics.match(pattern)?.[1] ?? NaN);
        assert.equal(value(/^ottoscaler_workers\{phase="succeeded"\} (\d+)$/m), 5);
        assert.equal(value(/^ottoscaler_push_connected (\d+)$/m), 1);
        assert.equal(value(/^ottoscaler_push_unacknowledged_lines (\d+)$/m), 0);
        assert.ok(value(/^ottoscaler_kube_requests_total\{verb="PUT",code="200"\} (\d+)$/m) >= 1);
        assert.ok(value(/^ottoscaler_kube_requests_total\{verb="WATCH",code="200"\} (\d+)$/m) >= 1);
        assert.ok(
          value(
            /^ottoscaler_pipeline_stages_total\{type="unspecified",result="completed"\} (\d+)$/m,
          ) >=
            1,
          "at least the test stage completed under the new leader",
        );
        assert.ok(
          value(/^ottoscaler_grpc_requests_total\{method="WatchPipeline",code="OK"\} (\d+)$/m) ===
            1,
        );

        // The story is in the Events: leadership, on the Lease (no POD_NAME here).
        const events = JSON.parse(
          k.curl("GET", `/api/v1/namespaces/${namespace}/events`).body,
        ).items.filter((e) => e.reason === "LeaderElection");
        assert.ok(
          events.some((e) => e.message.startsWith(`${b.identity()} became leader`)),
          JSON.stringify(events.map((e) => e.message)),
        );
      } finally {
        for (const c of clients) c.close();
        await a.kill();
        await b.stop();
        handler.stop();
      }
    },
  );

  it("a leader cut off from the API server stops and exits; the standby takes over", {
    timeout: 180_000,
  }, async () => {
    const k = cluster();
    const namespace = prepare(k, "cut", 1, LINES);
    // A TCP proxy in front of the API server: closing it cuts only the leader's access.
    const target = new URL(k.env.OTTOSCALER_APISERVER);
    const sockets = new Set();
    let open = true;
    const proxy = createServer((client) => {
      if (!open) return client.destroy();
      const upstream = netConnect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const dir = tempDir("ottoscaler-ha-");
    const proxied = join(dir, "kubeconfig");
    writeFileSync(
      proxied,
      readFileSync(k.kubeconfig, "utf8").replace(
        target.origin,
        `https://127.0.0.1:${proxy.address().port}`,
      ),
    );
    const env = {
      WORKER_RUNTIME: "kubernetes",
      NAMESPACE: namespace,
      LEADER_ELECTION: "true",
      SHUTDOWN_GRACE_SECONDS: "2",
    };
    const a = await replica({ ...env, KUBECONFIG: proxied });
    await until(ready(a), () => http(a, "/readyz").then((r) => r.body), 30_000);
    const b = await replica({ ...env, KUBECONFIG: k.kubeconfig });
    try {
      await until(
        async () => (await http(b, "/readyz")).body.includes(a.identity()),
        () => http(b, "/readyz").then((r) => r.body),
        30_000,
      );
      open = false;
      for (const s of sockets) s.destroy();
      // Renew deadline (10 s), then a shutdown bounded by SHUTDOWN_GRACE_SECONDS: a deadline.
      const code = await Promise.race([
        a.exited,
        new Promise((r) => setTimeout(() => r("still running"), 60_000)),
      ]);
      assert.equal(code, 1, a.logs().slice(-2000));
      assert.match(a.logs(), /"msg":"lost the leader lease; stopping"/);
      await until(
        ready(b),
        () => http(b, "/readyz").then((r) => r.body),
        (LEASE_SECONDS + 20) * 1000,
      );
      assert.equal(lease(k, namespace).spec.holderIdentity, b.identity());
    } finally {
      await a.kill();
      await b.stop();
      proxy.close();
    }
  });
});
