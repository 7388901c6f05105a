import assert from "node:assert/strict";
import { isNoSpace, type SpaceLog, SpaceWatch, StateDirFullError } from "./space.ts";

const noSpace = () =>
  Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });

Deno.test("a full state directory: told apart, reported once, waited out", async (t) => {
  const records: string[] = [];
  const logger: SpaceLog = {
    error: (msg) => records.push(JSON.stringify({ msg })),
    info: (msg) => records.push(JSON.stringify({ msg })),
  };

  await t.step("ENOSPC and EDQUOT are no space; other errors are not", () => {
    assert.ok(isNoSpace(noSpace()));
    assert.ok(isNoSpace(Object.assign(new Error("quota"), { code: "EDQUOT" })));
    assert.ok(!isNoSpace(new Deno.errors.NotFound("gone")));
    assert.ok(!isNoSpace(undefined));
  });

  await t.step(
    "once: a failure for want of space names the directory; others pass through",
    async () => {
      const watch = new SpaceWatch("/var/state", logger, { probeMs: 60_000, settleMs: 0 });
      await assert.rejects(
        watch.once("worker w-1", () => Promise.reject(noSpace())),
        (err: unknown) =>
          err instanceof StateDirFullError &&
          err.message ===
            "the state directory /var/state is full (no space left on device): could not write worker w-1",
      );
      assert.ok(watch.full);
      assert.match(
        watch.problem()!,
        /^the state directory \/var\/state is full .* could not write worker w-1$/,
      );
      await assert.rejects(
        watch.once("x", () => Promise.reject(new Error("other"))),
        /^Error: other$/,
      );
      assert.ok(watch.full, "another error says nothing about space");
      assert.equal(await watch.once("x", () => Promise.resolve(7)), 7);
      assert.equal(watch.full, false);
      assert.equal(watch.problem(), undefined);
      watch.close();
      const said = records.map((r) => JSON.parse(r).msg);
      assert.deepEqual(said, [
        "the state directory is full; writes wait for room",
        "the state directory has room again",
      ]);
    },
  );

  await t.step("untilStored tries again until there is room, logging once", async () => {
    records.length = 0;
    const watch = new SpaceWatch("/var/state", logger, { probeMs: 60_000, settleMs: 0 });
    let tries = 0;
    let waits = 0;
    const result = await watch.untilStored(
      "log",
      () => {
        tries++;
        return tries < 3 ? Promise.reject(noSpace()) : Promise.resolve("stored");
      },
      new AbortController().signal,
      () => waits++,
    );
    assert.equal(result, "stored");
    assert.equal(tries, 3);
    assert.equal(waits, 2, "told before each wait (a start gives up its turn)");
    assert.equal(records.length, 2, "one line when full, one when room came back");
    watch.close();
  });

  await t.step("untilStored ends when its signal aborts", async () => {
    const watch = new SpaceWatch("/var/state", logger, { probeMs: 60_000, settleMs: 0 });
    const stop = new AbortController();
    const waiting = watch.untilStored("log", () => Promise.reject(noSpace()), stop.signal);
    stop.abort();
    await assert.rejects(waiting, StateDirFullError);
    watch.close();
  });
});
