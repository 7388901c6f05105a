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

/** Lets every promise continuation run (no timers, so thousands of them stay fast). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await null;
}

/** The values of `seen` with repeats in a row dropped: the limit's changes. */
function changes(seen: readonly number[]): number[] {
  return seen.filter((v, i) => i === 0 || v !== seen[i - 1]);
}

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

/**
 * A simulated API server, with no clock: a request sent while `c` are in flight takes
 * `c / rate(c)` simulated ms (rate: requests per ms at that concurrency), and is answered
 * `overloaded` instead when `overloaded(c)`. Runs `n` requests through `limit`, answering them in
 * the order of their simulated ends; returns the limit after each answer.
 */
async function simulate(
  limit: AdaptiveLimit,
  n: number,
  rate: (c: number) => number,
  overloaded: (c: number) => boolean = () => false,
): Promise<number[]> {
  let now = 0;
  const pending: { end: number; start: number; answer: (ms: number) => void }[] = [];
  const seen = [limit.limit];
  const runs = Array.from(
    { length: n },
    () =>
      limit.run((report) =>
        new Promise<void>((resolve) => {
          const c = limit.inFlight;
          const entry = {
            start: now,
            end: now + c / rate(c),
            answer: (ms: number) => {
              if (overloaded(c)) report.overloaded();
              else report.done(ms);
              resolve();
            },
          };
          pending.push(entry);
        })
      ),
  );
  await flush();
  while (pending.length > 0) {
    let first = 0;
    for (let i = 1; i < pending.length; i++) if (pending[i].end < pending[first].end) first = i;
    const [next] = pending.splice(first, 1);
    now = next.end;
    next.answer(now - next.start);
    await flush();
    seen.push(limit.limit);
  }
  await Promise.all(runs);
  return seen;
}

Deno.test("adaptive limit: doubles while throughput grows, stops once it does not", async () => {
  // 10 ms a request up to 64 in flight (throughput grows with them), then only queueing.
  const limit = new AdaptiveLimit({ initial: 16, max: 256 });
  const seen = await simulate(limit, 2000, (c) => Math.min(c, 64) / 10);
  // 128 gained nothing over 64 in two rounds: it stays there.
  assert.deepEqual(changes(seen), [16, 32, 64, 128]);
  assert.equal(limit.limit, 128);
});

Deno.test("adaptive limit: stops growing where throughput is flat", async () => {
  // One request per ms whatever the concurrency: more in flight only waits longer.
  const limit = new AdaptiveLimit({ initial: 16, max: 256 });
  const seen = await simulate(limit, 1000, () => 1);
  assert.deepEqual(changes(seen), [16, 32]);
  assert.equal(limit.limit, 32);
});

Deno.test("adaptive limit: stops at its max", async () => {
  const limit = new AdaptiveLimit({ initial: 2, max: 8 });
  const seen = await simulate(limit, 200, (c) => c / 10);
  assert.equal(Math.max(...seen), 8);
  assert.equal(limit.limit, 8);
});

Deno.test("adaptive limit: an overload halves it; it grows back below where it was", async () => {
  // Throughput would grow without end, but the server refuses more than 40 in flight.
  const limit = new AdaptiveLimit({ initial: 16, max: 256 });
  const seen = await simulate(limit, 3000, (c) => c / 10, (c) => c > 40);
  // 64 overloaded: halved to 32, then at most 48 (3/4 of 64); 48 overloaded: 24, then 36.
  assert.deepEqual(changes(seen), [16, 32, 64, 32, 48, 24, 36]);
  assert.equal(limit.limit, 36);
});

Deno.test("adaptive limit: halves on overload once per burst", async () => {
  const limit = new AdaptiveLimit({ initial: 16, max: 64 });
  const started: number[] = [];
  const { releases, runs } = startMany(limit, 16, started);
  await tick();
  // Every request of the burst sees the overload; the limit halves once.
  for (let i = 0; i < 8; i++) releases[i]((r) => (r.overloaded(), r.done(10)));
  await tick();
  assert.equal(limit.limit, 8);
  // Requests sent before the back-off neither halve it again nor count towards growth.
  for (let i = 8; i < 16; i++) releases[i]((r) => (r.overloaded(), r.done(10)));
  await Promise.all(runs);
  assert.equal(limit.limit, 8);
  // A request sent after it does.
  await limit.run((r) => Promise.resolve(r.overloaded()));
  assert.equal(limit.limit, 4);
});

Deno.test("adaptive limit: a server that slows down halves it, not below where it started", async () => {
  const limit = new AdaptiveLimit({ initial: 16, max: 64 });
  await simulate(limit, 1000, (c) => c / 10);
  assert.equal(limit.limit, 64);
  // A hundredth of that throughput, whatever the concurrency: halved after two slow rounds, then
  // probed upwards again, where it gains nothing and stays.
  assert.deepEqual(changes(await simulate(limit, 1000, () => 0.064)), [64, 32, 64]);
  // Where it started, slow rounds do not lower it (an overload would).
  const fixed = new AdaptiveLimit({ initial: 16, max: 16 });
  await simulate(fixed, 200, (c) => c / 10);
  assert.deepEqual(changes(await simulate(fixed, 500, () => 0.0064)), [16]);
  await fixed.run((r) => Promise.resolve(r.overloaded()));
  assert.equal(fixed.limit, 8);
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
