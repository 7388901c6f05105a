/**
 * The elector's rules against an in-memory Lease store that behaves as the API server does for
 * the calls the elector makes (GET, POST with AlreadyExists, PUT with optimistic concurrency on
 * resourceVersion), with a per-client switch that cuts one client off (every request fails as a
 * network error would). Short durations keep it quick; every wait is for a condition, with a
 * generous deadline that fails the test, never a timing measurement. The same rules run against
 * a real API server in tests/e2e/kube_ha_test.ts.
 */

import assert from "node:assert/strict";
import { createLogger } from "../telemetry/logger.ts";
import type { KubeApi } from "./api.ts";
import { KubeApiError } from "./errors.ts";
import { LeaderElector, type LeaseObject, microTime } from "./leader.ts";

const logger = createLogger({ level: "error" });

/** One Lease store (the "etcd"), shared by the clients made by {@linkcode client}. */
class LeaseStore {
  leases = new Map<string, LeaseObject>();
  version = 1;
  writes = 0;

  client(): KubeApi & { down: boolean } {
    return leaseClient(this);
  }
}

/** A client of `store`; setting its `down` cuts it off. */
function leaseClient(store: LeaseStore): KubeApi & { down: boolean } {
  const fail = () => new KubeApiError(0, "NetworkError", "connection refused");
  const api = {
    server: "fake",
    down: false,
    get<T>(path: string): Promise<T> {
      if (api.down) return Promise.reject(fail());
      const lease = store.leases.get(path.split("/").at(-1)!);
      if (!lease) return Promise.reject(new KubeApiError(404, "NotFound", `${path} not found`));
      return Promise.resolve(structuredClone(lease) as T);
    },
    create<T>(_path: string, body: unknown): Promise<T> {
      if (api.down) return Promise.reject(fail());
      const lease = structuredClone(body) as LeaseObject;
      if (store.leases.has(lease.metadata.name)) {
        return Promise.reject(new KubeApiError(409, "AlreadyExists", "exists"));
      }
      lease.metadata.resourceVersion = String(++store.version);
      store.leases.set(lease.metadata.name, lease);
      store.writes++;
      return Promise.resolve(structuredClone(lease) as T);
    },
    replace<T>(path: string, body: unknown): Promise<T> {
      if (api.down) return Promise.reject(fail());
      const lease = structuredClone(body) as LeaseObject;
      const name = path.split("/").at(-1)!;
      const current = store.leases.get(name);
      if (current?.metadata.resourceVersion !== lease.metadata.resourceVersion) {
        return Promise.reject(new KubeApiError(409, "Conflict", "the object has been modified"));
      }
      lease.metadata.resourceVersion = String(++store.version);
      store.leases.set(name, lease);
      store.writes++;
      return Promise.resolve(structuredClone(lease) as T);
    },
    mergePatch: () => Promise.reject(new Error("not used")),
    remove: () => Promise.reject(new Error("not used")),
    list: () => Promise.reject(new Error("not used")),
    watch: () => Promise.reject(new Error("not used")),
    stream: () => Promise.reject(new Error("not used")),
  };
  return api;
}

const TIMING = { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 120 };

/** Resolves once `predicate` holds; fails after `limitMs` (a deadline, not a measurement). */
async function eventually(predicate: () => boolean, what: string, limitMs = 10_000) {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function elector(store: LeaseStore, identity: string, lost: string[] = []) {
  const api = store.client();
  const e = LeaderElector.open({
    api,
    namespace: "ns",
    name: "ottoscaler",
    identity,
    logger,
    ...TIMING,
    onLost: (reason) => lost.push(reason),
  });
  return { api, e };
}

/** Samples both electors every few ms and records any moment both say they lead. */
function watchForTwoLeaders(a: LeaderElector, b: LeaderElector) {
  let both = 0;
  const timer = setInterval(() => {
    if (a.isLeader() && b.isLeader()) both++;
  }, 5);
  return { stop: () => (clearInterval(timer), both) };
}

Deno.test("MicroTime has six fractional digits, as the API server's Lease fields need", () => {
  assert.equal(microTime(Date.UTC(2026, 10, 30, 12, 0, 1, 234)), "2026-11-30T12:00:01.234000Z");
});

Deno.test("leader election: one leader, the standby takes over only after the lease", async (t) => {
  const store = new LeaseStore();
  const lostA: string[] = [];
  const a = elector(store, "pod-a", lostA);
  await eventually(() => a.e.isLeader(), "pod-a leads");
  const b = elector(store, "pod-b");
  const overlap = watchForTwoLeaders(a.e, b.e);
  try {
    await t.step("exactly one leader; the standby names it", async () => {
      await eventually(() => b.e.leader() === "pod-a", "pod-b sees pod-a as the leader");
      assert.equal(a.e.isLeader(), true);
      assert.equal(b.e.isLeader(), false);
      const lease = store.leases.get("ottoscaler")!;
      assert.equal(lease.spec.holderIdentity, "pod-a");
      assert.equal(lease.spec.leaseTransitions, 0);
      assert.equal(lease.spec.leaseDurationSeconds, 1);
    });

    await t.step("the leader renews: renewTime moves, the holder stays", async () => {
      const first = store.leases.get("ottoscaler")!.spec.renewTime;
      await eventually(
        () => store.leases.get("ottoscaler")!.spec.renewTime !== first,
        "a renew",
      );
      assert.equal(store.leases.get("ottoscaler")!.spec.holderIdentity, "pod-a");
      assert.equal(b.e.isLeader(), false);
    });

    await t.step(
      "a leader cut off from the API stops leading, then the standby takes over",
      async () => {
        a.api.down = true;
        await eventually(() => !a.e.isLeader(), "pod-a stops leading");
        await eventually(() => lostA.length === 1, "pod-a reports the loss");
        assert.match(lostA[0], /renew deadline/);
        await eventually(() => b.e.isLeader(), "pod-b leads");
        const lease = store.leases.get("ottoscaler")!;
        assert.equal(lease.spec.holderIdentity, "pod-b");
        assert.equal(lease.spec.leaseTransitions, 1);
        // pod-a, reconnected, does not lead again (it exits in production).
        a.api.down = false;
        await new Promise((r) => setTimeout(r, TIMING.leaseDurationMs));
        assert.equal(a.e.isLeader(), false);
      },
    );
    assert.equal(overlap.stop(), 0, "never two leaders at once");
  } finally {
    overlap.stop();
    await a.e.close();
    await b.e.close();
  }
});

Deno.test("leader election: close releases the lease and the standby takes it", async () => {
  const store = new LeaseStore();
  // A one-minute lease: the standby can take over within the deadline below only because
  // the leader released it.
  const a = LeaderElector.open({
    api: store.client(),
    namespace: "ns",
    name: "ottoscaler",
    identity: "pod-a",
    logger,
    ...TIMING,
    leaseDurationMs: 60_000,
    renewDeadlineMs: 40_000,
  });
  await eventually(() => a.isLeader(), "pod-a leads");
  const b = elector(store, "pod-b").e;
  try {
    await eventually(() => b.leader() === "pod-a", "pod-b sees pod-a");
    await a.close();
    assert.equal(a.isLeader(), false);
    assert.equal(store.leases.get("ottoscaler")!.spec.holderIdentity, "");
    await eventually(() => b.isLeader(), "pod-b leads after the release", 5_000);
    assert.equal(store.leases.get("ottoscaler")!.spec.leaseTransitions, 1);
  } finally {
    await a.close();
    await b.close();
  }
});
