import assert from "node:assert/strict";
import { Channel } from "./channel.ts";

Deno.test("channel", async (t) => {
  await t.step("delivers in order, then ends", async () => {
    const channel = new Channel<number>(2);
    const sending = (async () => {
      for (let i = 1; i <= 5; i++) await channel.send(i);
      channel.close();
    })();
    const got: number[] = [];
    for await (const n of channel) got.push(n);
    await sending;
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
  });

  await t.step("a full channel makes the sender wait for the consumer", async () => {
    const channel = new Channel<number>(1);
    await channel.send(1);
    let second = false;
    const pending = channel.send(2).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(second, false, "the send waits while the channel is full");
    const iterator = channel[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await pending;
    assert.equal(second, true);
    channel.close();
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    assert.equal((await iterator.next()).done, true);
  });

  await t.step(
    "closing with an error throws it to the consumer after the queued items",
    async () => {
      const channel = new Channel<string>(4);
      await channel.send("a");
      channel.close(new Error("boom"));
      const got: string[] = [];
      await assert.rejects(async () => {
        for await (const item of channel) got.push(item);
      }, /boom/);
      assert.deepEqual(got, ["a"]);
    },
  );

  await t.step("sends after close are refused", async () => {
    const channel = new Channel<number>(1);
    channel.close();
    assert.equal(await channel.send(1), false);
  });
});
