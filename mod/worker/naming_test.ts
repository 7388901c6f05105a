import assert from "node:assert/strict";
import { isDnsLabel, MAX_NAME_LENGTH, taskPart, workerLabels, workerName } from "./naming.ts";

Deno.test("worker names", async (t) => {
  const cases: [string, number, string][] = [
    ["build-42", 1, "otto-agent-build-42-1"],
    ["a", 12, "otto-agent-a-12"],
  ];
  for (const [task, index, expected] of cases) {
    await t.step(`${task} #${index} is ${expected}`, () => {
      assert.equal(workerName(task, index), expected);
    });
  }

  await t.step("ids that are not DNS labels get a safe form and a hash", () => {
    const part = taskPart("Build_42/Main");
    assert.match(part, /^build-42-main-[0-9a-f]{8}$/);
    assert.notEqual(taskPart("build_42"), taskPart("build-42"), "no collision with a safe id");
    assert.notEqual(taskPart("Build_42"), taskPart("build_42"), "case matters");
  });

  await t.step("names are deterministic", () => {
    assert.equal(workerName("Ünïcode task ✓", 3), workerName("Ünïcode task ✓", 3));
  });

  await t.step("long and odd ids still give DNS labels of at most 63 characters", () => {
    for (
      const id of ["x".repeat(300), "---", "✓✓✓", "UPPER", "a.b.c", "9" + "-".repeat(80) + "z"]
    ) {
      const name = workerName(id, 99999);
      assert.ok(isDnsLabel(name, MAX_NAME_LENGTH), `${JSON.stringify(id)} -> ${name}`);
      assert.ok(isDnsLabel(workerLabels(id, 1)["ottoscaler.io/task"]));
    }
  });

  await t.step("labels mark the worker as ours", () => {
    assert.deepEqual(workerLabels("t", 2), {
      "managed-by": "ottoscaler",
      app: "otto-agent",
      "ottoscaler.io/task": "t",
      "ottoscaler.io/index": "2",
    });
  });
});
