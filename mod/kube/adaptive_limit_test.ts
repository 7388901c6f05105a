import assert from "node:assert/strict";
import { AdaptiveLimit } from "./adaptive_limit.ts";

/** Starts `n` runs that each wait for their own release; returns the releases in start order. */
function startMany(limit: AdaptiveLimit, n: number, started: number[]) {
  const releases:
    ((report: (r: { done(ms: number): void; overloaded(): void }) => void) => void)[] = [];
  const runs = Array.from(
    { length: n },
    (_, i) =>
      limit.run((report) =>
        new Promise<void>((resolve) => {
          started.push(i);
          releases[i] = (how) => {
            how(report);
            resolve();
          };
        })
      ),
  );
  return { releases, runs };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("adaptive limit: never more in flight than the limit, in order", async () => {
  const limit = new AdaptiveLimit({ initial: 3, max: 3 });
  const started: number[] = [];
  const { releases, runs } = startMany(limit, 10, started);
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  assert.equal(limit.inFlight, 3);
  releases[1]((r) => r.done(10));
  await tick();
  assert.deepEqual(started, [0, 1, 2, 3]);
  for (let i = 0; i < 10; i++) {
    if (i === 1) continue;
    await tick();
    assert.ok(limit.inFlight <= 3);
    releases[i]?.((r) => r.done(10));
    await tick();
  }
  await Promise.all(runs);
  assert.equal(started.length, 10);
  assert.equal(limit.inFlight, 0);
});

Deno.test("adaptive limit: grows while latency holds, up to its max", async () => {
  const limit = new AdaptiveLimit({ initial: 2, max: 8 });
  const finished = new Set<number>();
  const started: number[] = [];
  const { releases, runs } = startMany(limit, 40, started);
  for (let done = 0; done < 40;) {
    await tick();
    const open = started.filter((i) => releases[i] !== undefined && !finished.has(i));
    for (const i of open) {
      finished.add(i);
      releases[i]((r) => r.done(10));
      done++;
    }
  }
  await Promise.all(runs);
  assert.equal(limit.limit, 8);
});
Deno.test("adaptive limit: halves on overload once per burst", async () => {
  const limit = new AdaptiveLimit({ initial: 16, max: 64 });
  const started: number[] = [];
  const { releases, runs } = startMany(limit, 16, started);
  await tick();
  releases[0]((r) => r.done(10));
  await tick();
  assert.equal(limit.limit, 17, "grew: in time, with the limit in use");
  // Every request of the burst sees the overload; the limit halves once.
  for (let i = 1; i < 8; i++) releases[i]((r) => (r.overloaded(), r.done(10)));
  await tick();
  assert.equal(limit.limit, 8);
  // Neither growth nor back-off until the requests in flight at the back-off have completed.
  for (let i = 8; i < 16; i++) releases[i]((r) => r.done(10));
  await Promise.all(runs);
  assert.equal(limit.limit, 8);
  // Then an overload halves it again.
  await limit.run((r) => Promise.resolve(r.overloaded()));
  assert.equal(limit.limit, 4);
});

Deno.test("adaptive limit: slow answers halve it, but never below where it started", async () => {
  const limit = new AdaptiveLimit({ initial: 4, max: 64 });
  const started: number[] = [];
  const { releases, runs } = startMany(limit, 40, started);
  const finished = new Set<number>();
  // Fast answers while the limit is in use: it grows.
  while (finished.size < 30) {
    await tick();
    for (const i of started.filter((i) => !finished.has(i) && releases[i])) {
      if (finished.size >= 30) break;
      finished.add(i);
      releases[i]((r) => r.done(10));
    }
  }
  const grown = limit.limit;
  assert.ok(grown > 8, `grew to ${grown}`);
  // One slow answer halves it (once for the requests in flight), not below 4.
  const open = started.filter((i) => !finished.has(i));
  for (const i of open) releases[i]((r) => r.done(1000));
  await tick();
  assert.equal(limit.limit, Math.max(4, Math.floor(grown / 2)));
  for (let n = 0; n < 10; n++) {
    await tick();
    for (const i of started.filter((i) => !finished.has(i) && !open.includes(i))) {
      finished.add(i);
      releases[i]((r) => r.done(1000));
    }
  }
  await Promise.all(runs);
  for (let n = 0; n < 20; n++) await limit.run((r) => Promise.resolve(r.done(1000)));
  assert.equal(limit.limit, 4, "slow answers stop at the initial limit");
});

Deno.test("adaptive limit: never below its min", async () => {
  const limit = new AdaptiveLimit({ initial: 2, min: 1 });
  for (let i = 0; i < 5; i++) {
    await limit.run((r) => {
      r.overloaded();
      return Promise.resolve();
    });
  }
  assert.equal(limit.limit, 1);
  assert.equal(await limit.run(() => Promise.resolve("ran")), "ran");
});
