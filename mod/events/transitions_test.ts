import assert from "node:assert/strict";
import type { WorkerStatus } from "../worker/types.ts";
import { transitionsOf } from "./transitions.ts";

const base: WorkerStatus = {
  id: "otto-agent-t-1",
  taskId: "t",
  index: 1,
  phase: "pending",
  createdAt: "2026-01-01T00:00:00.000Z",
  labels: {},
};

Deno.test("events are derived from a worker's state", async (t) => {
  const cases: [string, Partial<WorkerStatus>, string[]][] = [
    ["pending", {}, ["CREATED"]],
    ["running", { phase: "running", startedAt: "2026-01-01T00:00:01.000Z" }, [
      "CREATED",
      "RUNNING",
    ]],
    ["succeeded", {
      phase: "succeeded",
      startedAt: "2026-01-01T00:00:01.000Z",
      finishedAt: "2026-01-01T00:00:02.000Z",
      exitCode: 0,
      reason: "Completed",
    }, ["CREATED", "RUNNING", "COMPLETED"]],
    ["failed", {
      phase: "failed",
      startedAt: "2026-01-01T00:00:01.000Z",
      exitCode: 1,
      reason: "Error",
      message: "exited with code 1",
    }, ["CREATED", "RUNNING", "FAILED"]],
    ["stopped", { phase: "failed", startedAt: "x", reason: "Stopped" }, [
      "CREATED",
      "RUNNING",
      "TERMINATED",
    ]],
    ["never started", { phase: "failed", reason: "StartError" }, ["CREATED", "FAILED"]],
  ];
  for (const [name, patch, expected] of cases) {
    await t.step(name, () => {
      const events = transitionsOf({ ...base, ...patch });
      assert.deepEqual(events.map((e) => e.type), expected);
      const ordinals = { CREATED: 1, RUNNING: 2, COMPLETED: 3, FAILED: 3, TERMINATED: 3 };
      assert.deepEqual(
        events.map((e) => e.ordinal),
        expected.map((type) => ordinals[type as keyof typeof ordinals]),
      );
    });
  }

  await t.step("a failure carries its reason and exit code", () => {
    const last = transitionsOf({
      ...base,
      phase: "failed",
      reason: "Error",
      message: "exited with code 3",
      exitCode: 3,
      finishedAt: "2026-01-01T00:00:05.000Z",
    }).at(-1)!;
    assert.equal(last.reason, "Error: exited with code 3");
    assert.equal(last.metadata.exit_code, "3");
    assert.equal(last.timestamp, "2026-01-01T00:00:05.000Z");
  });
});
