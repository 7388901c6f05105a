/**
 * The admission line handed over between leader-election replicas (local control plane): two
 * `serve` processes with `LEADER_ELECTION=true` and `MAX_RUNNING_WORKERS=2`; a ScaleUp of 6 to the
 * leader; the standby started after the line was written (so a standby that loaded it at start
 * would hold a stale copy); the leader SIGKILLed while workers still wait. The standby must take
 * the line over and admit the rest: each worker runs exactly once (one pod object per worker, from
 * a pod watch opened before anything starts), never more than 2 unfinished at once, the waiting
 * ones reported `pending`/`Queued` by the new leader, and no write to the line's ConfigMaps between
 * the kill and the new leader's acquisition of the Lease (it was a standby then).
 *
 * Writes are ordered by resourceVersion: on this control plane (kube-apiserver over etcd 3) it is
 * the etcd revision, one counter for every object, so a ConfigMap change with a resourceVersion
 * below that of the Lease update that made the standby leader was made before it led.
 */

import assert from "node:assert/strict";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import { type ConfigMapObject, connectKube, type KubeApi } from "../../mod/kube/api.ts";
import type { LeaseObject } from "../../mod/kube/leader.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import { ensureCluster } from "../support/cluster.ts";
import { workersOf } from "../support/calls.ts";
import { podMeter } from "../support/pod_meter.ts";
import { type ServerProcess, startServerProcess } from "../support/server_process.ts";

/** Lease seconds: short for a quick failover, long enough for a busy 2-core machine's renews. */
const LEASE_SECONDS = 10;
/**
 * Each worker's run: long enough that the standby's start (slow on a busy machine) comes before
 * the first two end, and that the two running when the new leader takes over still run then, so
 * it has waiting workers to report.
 */
const WORKER_SECONDS = 15;
const TASK = "hacap";
const QUEUE_SELECTOR = "ottoscaler.io/admission=queue";

/** Waits until `check()` holds (asking every 100 ms); fails with `describe()` after `ms`. */
async function until(
  check: () => Promise<boolean> | boolean,
  describe: () => Promise<string> | string,
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readyz = async (s: ServerProcess) => {
  const res = await fetch(`${s.httpUrl}/readyz`);
  return { status: res.status, body: await res.text() };
};

const identityOf = (s: ServerProcess) =>
  s.logs().match(/"msg":"campaigning for the leader lease".*?"identity":"([^"]+)"/)?.[1];

/** Records every change of the line's ConfigMaps and of the Lease, with its resourceVersion. */
function recordWrites(api: KubeApi, namespace: string) {
  const abort = new AbortController();
  const lineWrites: { type: string; name: string; rv: number }[] = [];
  const holders: { holder: string; rv: number }[] = [];
  const watches: Promise<void>[] = [];
  /** Lists, then watches from the list; resolves once the watch is on its way. */
  const follow = async <T extends { metadata: { name: string; resourceVersion?: string } }>(
    path: string,
    query: Record<string, string>,
    onEvent: (type: string, object: T) => void,
  ) => {
    const { resourceVersion } = await api.list<T>(path, query);
    watches.push(
      api.watch<T>(
        path,
        { ...query, resourceVersion },
        (e) => onEvent(e.type, e.object),
        abort.signal,
      ),
    );
  };
  const started = Promise.all([
    follow<ConfigMapObject>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { labelSelector: QUEUE_SELECTOR },
      (type, cm) =>
        lineWrites.push({ type, name: cm.metadata.name, rv: Number(cm.metadata.resourceVersion) }),
    ),
    follow<LeaseObject>(
      `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
      {},
      (_type, lease) =>
        holders.push({
          holder: lease.spec.holderIdentity ?? "",
          rv: Number(lease.metadata.resourceVersion),
        }),
    ),
  ]);
  return {
    started,
    lineWrites,
    holders,
    close: async () => {
      abort.abort();
      await Promise.allSettled(watches);
    },
  };
}

function scaleUp(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
}

Deno.test("admission with leader election: the standby takes the line over after a SIGKILL", async () => {
  const cluster = await ensureCluster();
  const api = connectKube({ kubeconfig: cluster.kubeconfig });
  const namespace = `admha-${crypto.randomUUID().slice(0, 8)}`;
  await api.create("/api/v1/namespaces", { metadata: { name: namespace } });
  const meter = podMeter(api, namespace);
  await meter.ready;
  const writes = recordWrites(api, namespace);
  await writes.started;
  const queued =
    async () => (await api.list<ConfigMapObject>(`/api/v1/namespaces/${namespace}/configmaps`, {
      labelSelector: QUEUE_SELECTOR,
    }));
  const env = {
    WORKER_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfig,
    NAMESPACE: namespace,
    LEADER_ELECTION: "true",
    LEADER_ELECTION_LEASE_SECONDS: String(LEASE_SECONDS),
    MAX_RUNNING_WORKERS: "2",
  };
  const a = await startServerProcess({ env });
  let b: ServerProcess | undefined;
  const clients: OttoscalerServiceClient[] = [];
  const client = (s: ServerProcess) => {
    const c = connect(s.address);
    clients.push(c);
    return c;
  };
  try {
    await until(
      async () => (await readyz(a)).status === 200,
      async () => (await readyz(a)).body,
      30_000,
    );
    const res = await scaleUp(client(a), {
      task_id: TASK,
      worker_count: 6,
      build_config: { OTTO_SIM_DURATION: `${WORKER_SECONDS}s` },
    });
    assert.equal(res.status, "SUCCESS", res.message);
    const waiting = (await workersOf(client(a), TASK)).workers.filter((w) =>
      w.error_message.startsWith("Queued")
    );
    assert.equal(waiting.length, 4, JSON.stringify(waiting));
    assert.equal((await queued()).items.length, 4, "one ConfigMap per waiting worker");

    // The standby starts once the line is written, and stays a standby.
    b = await startServerProcess({ env });
    const standby = b;
    await until(
      async () => (await readyz(standby)).body.includes(identityOf(a) ?? "?"),
      async () => (await readyz(standby)).body,
      30_000,
    );
    assert.equal((await readyz(b)).status, 503);
    // A standby has not loaded the line: it reports the pods only, none of the waiting workers.
    const seenByStandby = (await workersOf(client(b), TASK)).workers;
    assert.ok(
      seenByStandby.every((w) => !w.error_message.startsWith("Queued")),
      JSON.stringify(seenByStandby),
    );

    // --- the leader dies while workers wait ----------------------------------------------------
    await a.kill();
    const atKill = await queued();
    const killRv = Number(atKill.resourceVersion);
    assert.ok(atKill.items.length >= 2, `workers still wait at the kill: ${atKill.items.length}`);

    await until(
      async () => (await readyz(standby)).status === 200,
      async () => (await readyz(standby)).body,
      (LEASE_SECONDS + 30) * 1000,
    );
    const bIdentity = identityOf(b)!;
    const acquired = writes.holders.find((h) => h.holder === bIdentity);
    assert.ok(acquired, `the Lease update naming ${bIdentity}: ${JSON.stringify(writes.holders)}`);
    const byStandby = writes.lineWrites.filter((w) => w.rv > killRv && w.rv < acquired.rv);
    assert.deepEqual(byStandby, [], "the standby wrote nothing to the line");
    // The line is loaded only once it leads.
    const logs = b.logs().split("\n");
    const at = (msg: string) => logs.findIndex((l) => l.includes(`"msg":"${msg}"`));
    const story = logs.filter((l) => /became the leader|admission line loaded/.test(l)).join("\n");
    assert.ok(at("became the leader") >= 0, story);
    assert.ok(at("admission line loaded") > at("became the leader"), story);

    // The new leader reports the waiting workers from the line it took over.
    const leader = client(b);
    let report: Awaited<ReturnType<typeof workersOf>>["workers"] = [];
    await until(
      async () => (report = (await workersOf(leader, TASK)).workers).length === 6,
      () => JSON.stringify(report),
      30_000,
    );
    const stillQueued = report.filter((w) => w.error_message.startsWith("Queued"));
    assert.ok(
      stillQueued.length >= 1,
      `the new leader reports waiting ones: ${JSON.stringify(report)}`,
    );
    for (const w of stillQueued) {
      assert.equal(w.status, "pending");
      assert.match(
        w.error_message,
        /^Queued: position \d+, held by MAX_RUNNING_WORKERS \(2, 2 running\)/,
      );
    }

    // --- all run, exactly once, never more than 2 at a time ------------------------------------
    let ends = report;
    await until(
      async () => {
        ends = (await workersOf(leader, TASK)).workers;
        return ends.length === 6 && ends.every((w) => /succeeded|failed/.test(w.status));
      },
      () => JSON.stringify(ends),
      60_000,
    );
    assert.deepEqual(ends.map((w) => w.status), Array(6).fill("succeeded"), JSON.stringify(ends));
    const uids = meter.uids();
    const names = [...uids.keys()].filter((n) => n.startsWith(`otto-agent-${TASK}-`)).sort();
    assert.deepEqual(names, [1, 2, 3, 4, 5, 6].map((i) => `otto-agent-${TASK}-${i}`));
    for (const name of names) assert.equal(uids.get(name)!.size, 1, `${name} has one pod`);
    assert.ok(meter.peak() <= 2, `at most 2 pods unfinished at once, saw ${meter.peak()}`);
    assert.equal((await queued()).items.length, 0, "the line is empty and so are its ConfigMaps");
  } finally {
    for (const c of clients) c.close();
    await a.kill();
    await b?.stop();
    await writes.close();
    await meter.close();
    await api.remove(`/api/v1/namespaces/${namespace}`);
  }
});
