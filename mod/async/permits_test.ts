import assert from "node:assert/strict";
import { Permits } from "./permits.ts";

Deno.test("permits: at most n holders at once, the others served in order, freed on failure", async () => {
  const permits = new Permits(2);
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const entered: number[] = [];
  let holding = 0;
  let most = 0;
  const runs = gates.map((gate, i) =>
    permits.with(async () => {
      entered.push(i);
      most = Math.max(most, ++holding);
      await gate.promise;
      holding--;
      if (i === 1) throw new Error("failed holder");
      return i;
    })
  );
  // Let every waiter reach the queue.
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(entered, [0, 1]);
  gates[1].resolve(); // fails, and its permit still goes to the next in line
  await assert.rejects(runs[1], /failed holder/);
  assert.deepEqual(entered, [0, 1, 2]);
  gates[0].resolve();
  assert.equal(await runs[0], 0);
  assert.deepEqual(entered, [0, 1, 2, 3]);
  for (const gate of gates) gate.resolve();
  assert.deepEqual(await Promise.all([runs[2], runs[3], runs[4]]), [2, 3, 4]);
  assert.deepEqual(entered, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

Deno.test("permits: a holder can give its permit back before it is done, once", async () => {
  const permits = new Permits(1);
  const firstDone = Promise.withResolvers<void>();
  const secondDone = Promise.withResolvers<void>();
  const order: string[] = [];
  const first = permits.with(async (release) => {
    order.push("first in");
    release();
    release(); // a second call gives back nothing more
    await firstDone.promise;
    order.push("first out");
  });
  const second = permits.with(async () => {
    order.push("second in");
    await secondDone.promise;
  });
  const third = permits.with(() => {
    order.push("third in");
    return Promise.resolve();
  });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, ["first in", "second in"], "one permit given back, not two");
  secondDone.resolve();
  await second;
  await third;
  assert.deepEqual(order, ["first in", "second in", "third in"]);
  firstDone.resolve();
  await first;
  assert.equal(order.at(-1), "first out");
});
