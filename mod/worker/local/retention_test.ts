import assert from "node:assert/strict";
import { silentLogger } from "../../telemetry/logger.ts";
import { waitForEnd } from "../../../tests/support/conformance.ts";
import type { WorkerSpec } from "../types.ts";
import { LocalRuntime } from "./runtime.ts";

function spec(taskId: string, command: string): WorkerSpec {
  return {
    id: `otto-agent-${taskId}-1`,
    taskId,
    index: 1,
    image: "busybox:latest",
    command,
    env: {},
    labels: {},
    timeoutSeconds: 0,
  };
}

/** Polls until `ok()`; fails after `limitMs` (a guard against hanging, not a measure). */
async function until(what: string, ok: () => boolean | Promise<boolean>, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

Deno.test("local runtime retention: ended workers are removed once delivered and retained", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-retention-" });
  const delivered = new Set<string>();
  const removed: string[] = [];
  const open = () =>
    LocalRuntime.open({
      stateDir,
      logger: silentLogger,
      stopGraceMs: 1000,
      retentionMs: 300,
      isDelivered: (id) => delivered.has(id),
      onRemoved: (id) => removed.push(id),
    });
  let runtime = await open();
  const held = spec("held", "echo kept until delivered");
  const done = spec("done", "echo delivered at once");
  const running = spec("running", "echo still running; sleep 60");
  try {
    await runtime.start(held);
    await waitForEnd(runtime, held.id);
    await runtime.start(running);
    await runtime.start(done);
    await waitForEnd(runtime, done.id);
    delivered.add(done.id).add(running.id);

    // `done` ended after `held`, so once `done` is gone, `held` has outlived its retention too:
    // it stays only because it was not delivered. A running worker is never removed.
    await until("the delivered worker is removed", () => removed.includes(done.id));
    assert.equal(await exists(`${stateDir}/workers/${done.id}`), false);
    assert.deepEqual(runtime.list().map((w) => w.id).sort(), [held.id, running.id].sort());
    assert.equal(await exists(`${stateDir}/workers/${held.id}/log.jsonl`), true);
    assert.equal(await exists(`${stateDir}/workers/${running.id}/log.jsonl`), true);

    delivered.add(held.id);
    await until("the held worker is removed once delivered", () => removed.includes(held.id));
    assert.deepEqual(runtime.list().map((w) => w.id), [running.id]);
    assert.deepEqual([...Deno.readDirSync(`${stateDir}/workers`)].map((e) => e.name), [
      running.id,
    ]);
    await until(
      "the trash is emptied",
      () => [...Deno.readDirSync(`${stateDir}/trash`)].length === 0,
    );

    // A restart does not bring them back; the same id starts afresh, numbered from 1.
    await runtime.close();
    runtime = await open();
    assert.deepEqual(runtime.list().map((w) => w.id), [running.id]);
    await runtime.start(done);
    const again = await waitForEnd(runtime, done.id);
    assert.equal(again.phase, "succeeded");
    const lines = [];
    for await (const line of runtime.logs(done.id)) lines.push([line.sequence, line.message]);
    assert.deepEqual(lines, [[1, "delivered at once"]]);
    await runtime.stop(running.id);
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime retention: a removal cut short by a crash is finished at the next open", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-retention-" });
  try {
    // What a crash after the rename into the trash leaves: a half-removed directory there.
    await Deno.mkdir(`${stateDir}/trash/otto-agent-x-1.1.1/work`, { recursive: true });
    await Deno.writeTextFile(`${stateDir}/trash/otto-agent-x-1.1.1/spec.json`, "{");
    const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
    try {
      assert.equal(await exists(`${stateDir}/trash`), false);
      assert.deepEqual(runtime.list(), []);
    } finally {
      await runtime.close();
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
