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

Deno.test("local runtime: truncated or garbage state files are set aside, never a failed start", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-corrupt-" });
  const a = spec("truncated", "echo one; echo two");
  const b = spec("garbage", "echo never read");
  try {
    let runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
    await runtime.start(a);
    await runtime.start(b);
    await waitForEnd(runtime, a.id);
    await waitForEnd(runtime, b.id);
    await runtime.close();

    // A full disk truncates a record; garbage lands in a spec and in the owner lock.
    await Deno.writeTextFile(`${stateDir}/workers/${a.id}/state.json`, '{"phase":"succ');
    await Deno.writeTextFile(`${stateDir}/workers/${b.id}/spec.json`, "\u0000\u0001garbage");
    await Deno.writeTextFile(`${stateDir}/owner.json`, "");

    runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
    try {
      // The worker with the truncated record is rebuilt from its own pid and exit files.
      const [status] = runtime.list();
      assert.equal(runtime.list().length, 1);
      assert.equal(status.id, a.id);
      const end = await waitForEnd(runtime, a.id);
      assert.equal(end.phase, "succeeded");
      assert.equal(end.exitCode, 0);
      const lines = [];
      for await (const line of runtime.logs(a.id)) lines.push([line.sequence, line.message]);
      assert.deepEqual(lines, [[1, "one"], [2, "two"]]);
      const files = [...Deno.readDirSync(`${stateDir}/workers/${a.id}`)].map((e) => e.name);
      assert.ok(files.some((f) => /^state\.json\.corrupt-\d+$/.test(f)), files.join(" "));
      // The one whose spec is garbage is kept aside whole, not run and not deleted.
      const aside = [...Deno.readDirSync(`${stateDir}/corrupt`)].map((e) => e.name);
      assert.equal(aside.length, 1);
      assert.ok(aside[0].startsWith(`${b.id}.`));
      assert.ok(
        Deno.statSync(`${stateDir}/corrupt/${aside[0]}/log.jsonl`).isFile,
        "its output is kept",
      );
    } finally {
      await runtime.close();
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
