import assert from "node:assert/strict";
import { ValidationError } from "./errors.ts";
import {
  admissionTicket,
  parseBuildConfig,
  validateCount,
  validatePhaseFilter,
  validateTaskId,
} from "./validate.ts";

function refuses(fn: () => unknown, field: string, rule: RegExp) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, field);
    assert.match(err.rule, rule);
    assert.equal(err.message, `${err.field}: ${err.rule}`);
    return true;
  });
}

Deno.test("validation", async (t) => {
  await t.step("task ids", () => {
    assert.equal(validateTaskId("build-1"), "build-1");
    assert.equal(validateTaskId("Build #1 / main"), "Build #1 / main");
    refuses(() => validateTaskId(""), "task_id", /must not be empty/);
    refuses(() => validateTaskId("   "), "task_id", /must not be empty/);
    refuses(() => validateTaskId("x".repeat(254)), "task_id", /at most 253/);
    refuses(() => validateTaskId("a\nb"), "task_id", /control characters/);
  });

  await t.step("counts", () => {
    assert.equal(validateCount(1, 1, 10, "worker_count"), 1);
    refuses(() => validateCount(0, 1, 10, "worker_count"), "worker_count", /from 1 to 10, got 0/);
    refuses(() => validateCount(11, 1, 10, "worker_count"), "worker_count", /got 11/);
    refuses(() => validateCount(1.5, 1, 10, "worker_count"), "worker_count", /integer/);
  });

  await t.step("build_config: reserved keys configure, the rest is environment", () => {
    const template = parseBuildConfig(
      { image: "alpine:3", command: "make test", timeout_seconds: "90", GOFLAGS: "-v" },
      { requireCommand: false },
    );
    assert.deepEqual(template, {
      image: "alpine:3",
      command: "make test",
      timeoutSeconds: 90,
      env: { GOFLAGS: "-v" },
    });
    assert.deepEqual(parseBuildConfig({}, { requireCommand: false }), {
      image: undefined,
      command: undefined,
      timeoutSeconds: 0,
      env: {},
    });
  });

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ "9LIVES": "x" }, "build_config.9LIVES", /valid environment variable name/],
    [{ "A-B": "x" }, "build_config.A-B", /valid environment variable name/],
    [{ OTTO_WORKER_ID: "x" }, "build_config.OTTO_WORKER_ID", /reserved/],
    [{ X: "a\0b" }, "build_config.X", /NUL/],
    [{ image: "" }, "build_config.image", /image reference/],
    [{ image: "a b" }, "build_config.image", /image reference/],
    [{ command: " " }, "build_config.command", /must not be empty/],
    [{ timeout_seconds: "-1" }, "build_config.timeout_seconds", /whole number/],
    [{ timeout_seconds: "1e3" }, "build_config.timeout_seconds", /whole number/],
    [{ timeout_seconds: "999999999" }, "build_config.timeout_seconds", /from 0 to/],
  ];
  for (const [config, field, rule] of bad) {
    await t.step(`refuses ${JSON.stringify(config)}`, () => {
      refuses(() => parseBuildConfig(config, { requireCommand: false }), field, rule);
    });
  }

  await t.step("a runtime that runs no images needs a command", () => {
    refuses(
      () => parseBuildConfig({ image: "alpine" }, { requireCommand: true }),
      "build_config.command",
      /required by the local runtime/,
    );
  });

  await t.step("status filters", () => {
    assert.equal(validatePhaseFilter(""), undefined);
    assert.equal(validatePhaseFilter("running"), "running");
    refuses(() => validatePhaseFilter("Running"), "status_filter", /one of pending, running/);
  });
});

Deno.test("admissionTicket: tenant from metadata, else triggered_by, else default; priority", () => {
  assert.deepEqual(admissionTicket({ tenant: "a", priority: "5" }, "ci"), {
    tenant: "a",
    priority: 5,
  });
  assert.deepEqual(admissionTicket({}, "ci"), { tenant: "ci", priority: 0 });
  assert.deepEqual(admissionTicket({}), { tenant: "default", priority: 0 });
  assert.deepEqual(admissionTicket({ priority: "-3" }), { tenant: "default", priority: -3 });
  for (const bad of ["high", "1.5", "1e3", "9999999999"]) {
    assert.throws(
      () => admissionTicket({ priority: bad }),
      (err: ValidationError) => err.field === "metadata.priority" && /integer/.test(err.rule),
      bad,
    );
  }
});
