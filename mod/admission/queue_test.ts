import assert from "node:assert/strict";
import {
  admit,
  type Caps,
  neverFitsCaps,
  order,
  places,
  queuedMessage,
  type Usage,
  type Waiting,
} from "./queue.ts";

let seq = 0;
function entry(key: string, tenant: string, options: { priority?: number; size?: number } = {}) {
  return { key, tenant, priority: options.priority ?? 0, seq: ++seq, size: options.size ?? 1 };
}
function usage(running: number, perTenant: Record<string, number> = {}): Usage {
  return { running, perTenant: new Map(Object.entries(perTenant)) };
}
const keys = (entries: readonly Waiting[]) => entries.map((e) => e.key);

Deno.test("order: tenants take turns, FIFO within a tenant, priority first", () => {
  const cases: { name: string; waiting: Waiting[]; lastServed?: string; want: string[] }[] = [
    {
      name: "two tenants alternate though a arrived first",
      waiting: [entry("a1", "a"), entry("a2", "a"), entry("a3", "a"), entry("b1", "b")],
      want: ["a1", "b1", "a2", "a3"],
    },
    {
      name: "the turn goes on after the tenant served last",
      waiting: [entry("a1", "a"), entry("b1", "b"), entry("c1", "c")],
      lastServed: "a",
      want: ["b1", "c1", "a1"],
    },
    {
      name: "after the last tenant in the ring, the first",
      waiting: [entry("a1", "a"), entry("b1", "b")],
      lastServed: "b",
      want: ["a1", "b1"],
    },
    {
      name: "higher priority first within a tenant, then arrival",
      waiting: [
        entry("a1", "a"),
        entry("a2", "a", { priority: 5 }),
        entry("a3", "a", { priority: 5 }),
        entry("a4", "a", { priority: -1 }),
      ],
      want: ["a2", "a3", "a1", "a4"],
    },
    {
      name: "priority never jumps another tenant's turn",
      waiting: [entry("a1", "a"), entry("b1", "b", { priority: 100 }), entry("a2", "a")],
      want: ["a1", "b1", "a2"],
    },
  ];
  for (const c of cases) assert.deepEqual(keys(order(c.waiting, c.lastServed)), c.want, c.name);
});

Deno.test("admit: caps, turns and gangs", () => {
  const noCap: Caps = { maxRunning: 0, maxPerTenant: 0 };
  const cases: {
    name: string;
    waiting: Waiting[];
    usage: Usage;
    caps: Caps;
    lastServed?: string;
    want: string[];
    served?: string;
  }[] = [
    {
      name: "no caps: everything, in turn order",
      waiting: [entry("a1", "a"), entry("a2", "a"), entry("b1", "b")],
      usage: usage(0),
      caps: noCap,
      want: ["a1", "b1", "a2"],
      served: "a",
    },
    {
      name: "the instance cap leaves room for 3",
      waiting: [entry("a1", "a"), entry("a2", "a"), entry("a3", "a"), entry("b1", "b")],
      usage: usage(1, { a: 1 }),
      caps: { maxRunning: 4, maxPerTenant: 0 },
      want: ["a1", "b1", "a2"],
      served: "a",
    },
    {
      name: "a full instance admits nothing",
      waiting: [entry("a1", "a")],
      usage: usage(3, { x: 3 }),
      caps: { maxRunning: 3, maxPerTenant: 0 },
      want: [],
    },
    {
      name: "a tenant at its cap is skipped, the others go on",
      waiting: [entry("a1", "a"), entry("a2", "a"), entry("b1", "b"), entry("b2", "b")],
      usage: usage(2, { a: 2 }),
      caps: { maxRunning: 0, maxPerTenant: 2 },
      want: ["b1", "b2"],
      served: "b",
    },
    {
      name: "a gang goes whole: 3 free slots do not take a gang of 4",
      waiting: [entry("g1", "a", { size: 4 }), entry("b1", "b")],
      usage: usage(2),
      caps: { maxRunning: 5, maxPerTenant: 0 },
      want: [],
    },
    {
      name: "a gang that fits goes with what fits after it",
      waiting: [entry("g1", "a", { size: 3 }), entry("b1", "b"), entry("b2", "b")],
      usage: usage(0),
      caps: { maxRunning: 4, maxPerTenant: 0 },
      want: ["g1", "b1"],
      served: "b",
    },
    {
      name: "two gangs that would deadlock half-admitted: only the first, whole",
      waiting: [entry("p1", "a", { size: 3 }), entry("p2", "b", { size: 3 })],
      usage: usage(0),
      caps: { maxRunning: 4, maxPerTenant: 0 },
      want: ["p1"],
      served: "a",
    },
    {
      name: "the round robin starts after the tenant served last",
      waiting: [entry("a1", "a"), entry("b1", "b")],
      usage: usage(2),
      caps: { maxRunning: 3, maxPerTenant: 0 },
      lastServed: "a",
      want: ["b1"],
      served: "b",
    },
  ];
  for (const c of cases) {
    const result = admit(c.waiting, c.usage, c.caps, c.lastServed);
    assert.deepEqual(keys(result.admit), c.want, c.name);
    assert.equal(result.lastServed, c.served ?? c.lastServed, `${c.name}: last served`);
  }
});

Deno.test("admit: a capacity check holds the line behind the entry it refuses", () => {
  const waiting = [entry("a1", "a"), entry("b1", "b", { size: 2 }), entry("a2", "a")];
  // Room for 2 workers by the check (a quota), none by the caps.
  const capacity = (e: Waiting, admitted: readonly Waiting[]) =>
    admitted.reduce((n, x) => n + x.size, 0) + e.size > 2 ? "ResourceQuota q: pods" : undefined;
  const result = admit(waiting, usage(0), { maxRunning: 0, maxPerTenant: 0 }, undefined, capacity);
  assert.deepEqual(keys(result.admit), ["a1"], "b1 (2 pods) does not fit after a1; a2 waits");
});

Deno.test("places: position in turn order and what holds each entry", () => {
  const waiting = [entry("a1", "a"), entry("a2", "a"), entry("b1", "b")];
  const caps = { maxRunning: 3, maxPerTenant: 2 };
  const got = places(waiting, usage(3, { a: 2, b: 1 }), caps);
  assert.equal(
    queuedMessage(got.get("a1")!),
    "Queued: position 1, held by MAX_RUNNING_WORKERS_PER_TENANT (2, tenant a runs 2)",
  );
  assert.equal(
    queuedMessage(got.get("b1")!),
    "Queued: position 2, held by MAX_RUNNING_WORKERS (3, 3 running)",
  );
  assert.equal(got.get("a2")!.position, 3);
  const free = places([entry("c1", "c"), entry("c2", "c")], usage(0), caps);
  assert.equal(free.get("c2")!.heldBy, "the workers ahead");
});

Deno.test("neverFitsCaps: a gang larger than a cap can never run", () => {
  assert.match(neverFitsCaps(5, { maxRunning: 4, maxPerTenant: 0 })!, /MAX_RUNNING_WORKERS \(4\)/);
  assert.match(neverFitsCaps(3, { maxRunning: 0, maxPerTenant: 2 })!, /PER_TENANT \(2\)/);
  assert.equal(neverFitsCaps(4, { maxRunning: 4, maxPerTenant: 4 }), undefined);
  assert.equal(neverFitsCaps(100, { maxRunning: 0, maxPerTenant: 0 }), undefined);
});
