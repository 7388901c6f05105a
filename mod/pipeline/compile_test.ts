import assert from "node:assert/strict";
import { ValidationError } from "../worker/errors.ts";
import { compilePipeline, type PipelineRequest, type StageRequest } from "./compile.ts";

const limits = { maxWorkersPerStage: 10, requireCommand: true };
const stage = (stageId: string, dependsOn: string[] = [], extra: Partial<StageRequest> = {}) => ({
  stageId,
  workerCount: 1,
  dependsOn,
  command: ["sh", "-c", "true"],
  ...extra,
});

function refuses(request: PipelineRequest, field: string, rule: RegExp, l = limits) {
  assert.throws(() => compilePipeline(request, l), (err) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, field);
    assert.match(err.rule, rule);
    return true;
  });
}

Deno.test("pipeline compilation", async (t) => {
  await t.step("a diamond is ordered after its dependencies", () => {
    const compiled = compilePipeline({
      pipelineId: "p1",
      stages: [
        stage("deploy", ["unit", "lint"]),
        stage("unit", ["build"]),
        stage("lint", ["build"]),
        stage("build"),
      ],
    }, limits);
    assert.deepEqual(compiled.stages.map((s) => s.id), ["build", "unit", "lint", "deploy"]);
    const build = compiled.stages[0];
    assert.deepEqual(build.dependents, ["unit", "lint"]);
    assert.deepEqual(compiled.stages[3].dependsOn, ["unit", "lint"]);
  });

  await t.step("defaults: unspecified type, one attempt, any failure retryable, no timeout", () => {
    const [only] = compilePipeline({ pipelineId: "p", stages: [stage("a")] }, limits).stages;
    assert.equal(only.type, "unspecified");
    assert.equal(only.name, "a");
    assert.equal(only.maxAttempts, 1);
    assert.equal(only.timeoutSeconds, 0);
    assert.deepEqual(only.retryable, [{ class: "any" }]);
    assert.deepEqual(only.argv, ["sh", "-c", "true"]);
  });

  await t.step("stage types: numbers, enum names and the older strings, any case", () => {
    const stages = compilePipeline({
      pipelineId: "p",
      stages: [
        stage("a", [], { type: 1 }),
        stage("b", [], { type: "STAGE_TYPE_CLEANUP" }),
        stage("c", [], { type: "Deploy" }),
        stage("d", [], { type: 100 }),
        { stageId: "e", type: 7, workerCount: 0, timeoutSeconds: 60 },
      ],
    }, limits).stages;
    assert.deepEqual(stages.map((s) => s.type), [
      "build",
      "cleanup",
      "deploy",
      "custom",
      "approval",
    ]);
    assert.equal(stages[4].workerCount, 0);
    assert.equal(stages[4].timeoutSeconds, 60);
  });

  await t.step("a retry policy is parsed", () => {
    const [only] = compilePipeline({
      pipelineId: "p",
      stages: [stage("a", [], {
        retryPolicy: {
          maxAttempts: 3,
          retryDelaySeconds: 2,
          retryableFailures: ["timeout", "exit_code:75", "START_FAILURE"],
        },
      })],
    }, limits).stages;
    assert.equal(only.maxAttempts, 3);
    assert.deepEqual(only.retryable, [
      { class: "timeout" },
      { exitCode: 75 },
      { class: "start_failure" },
    ]);
  });

  const cases: [string, PipelineRequest, string, RegExp][] = [
    ["no id", { pipelineId: "", stages: [stage("a")] }, "pipeline_id", /must not be empty/],
    ["no stages", { pipelineId: "p", stages: [] }, "stages", /at least one/],
    ["bad stage id", { pipelineId: "p", stages: [stage("-x")] }, "stages[0].stage_id", /letters/],
    [
      "duplicate stage",
      { pipelineId: "p", stages: [stage("a"), stage("a")] },
      "stages[1].stage_id",
      /used by another/,
    ],
    [
      "unknown dependency",
      { pipelineId: "p", stages: [stage("a", ["bild"])] },
      "stages[a].depends_on",
      /unknown stage "bild"/,
    ],
    [
      "self dependency",
      { pipelineId: "p", stages: [stage("a", ["a"])] },
      "stages[a].depends_on",
      /itself/,
    ],
    [
      "cycle",
      { pipelineId: "p", stages: [stage("a", ["c"]), stage("b", ["a"]), stage("c", ["b"])] },
      "stages[a].depends_on",
      /cycle: a → c → b → a/,
    ],
    [
      "workers",
      { pipelineId: "p", stages: [stage("a", [], { workerCount: 0 })] },
      "stages[a].worker_count",
      /1 to 10, got 0/,
    ],
    [
      "too many workers",
      { pipelineId: "p", stages: [stage("a", [], { workerCount: 11 })] },
      "stages[a].worker_count",
      /got 11/,
    ],
    [
      "timeout",
      { pipelineId: "p", stages: [stage("a", [], { timeoutSeconds: -1 })] },
      "stages[a].timeout_seconds",
      /from 0/,
    ],
    [
      "attempts",
      { pipelineId: "p", stages: [stage("a", [], { retryPolicy: { maxAttempts: 11 } })] },
      "stages[a].retry_policy.max_attempts",
      /0 to 10/,
    ],
    [
      "failure class",
      {
        pipelineId: "p",
        stages: [stage("a", [], { retryPolicy: { retryableFailures: ["oom"] } })],
      },
      "stages[a].retry_policy.retryable_failures[0]",
      /not a failure class/,
    ],
    [
      "type",
      { pipelineId: "p", stages: [stage("a", [], { type: "release" })] },
      "stages[a].type",
      /unknown stage type "release"/,
    ],
    [
      "unknown type number",
      { pipelineId: "p", stages: [stage("a", [], { type: 42 })] },
      "stages[a].type",
      /unknown stage type 42/,
    ],
    [
      "workers on an APPROVAL stage",
      {
        pipelineId: "p",
        stages: [{ stageId: "a", type: "STAGE_TYPE_APPROVAL", workerCount: 1 }],
      },
      "stages[a].worker_count",
      /must be 0: an APPROVAL stage runs no workers/,
    ],
    [
      "env name",
      { pipelineId: "p", stages: [stage("a", [], { config: { "A-B": "1" } })] },
      "stages[a].config.A-B",
      /variable name/,
    ],
    [
      "a variable Ottoscaler sets",
      { pipelineId: "p", stages: [stage("a", [], { config: { OTTO_ATTEMPT: "7" } })] },
      "stages[a].config.OTTO_ATTEMPT",
      /reserved/,
    ],
    [
      "nothing to run",
      { pipelineId: "p", stages: [stage("a", [], { command: [] })] },
      "stages[a].command",
      /required by the local runtime/,
    ],
  ];
  for (const [name, request, field, rule] of cases) {
    await t.step(`refuses: ${name}`, () => refuses(request, field, rule));
  }

  await t.step("other OTTO_* config keys become the stage's environment", () => {
    const [only] = compilePipeline({
      pipelineId: "p",
      stages: [stage("a", [], { config: { OTTO_SIM_DURATION: "2s" } })],
    }, limits).stages;
    assert.deepEqual(only.env, { OTTO_SIM_DURATION: "2s" });
  });

  await t.step("a runtime that runs images accepts an image without a command", () => {
    const l = { maxWorkersPerStage: 10, requireCommand: false };
    const [only] = compilePipeline({
      pipelineId: "p",
      stages: [stage("a", [], { command: [], image: "alpine:3" })],
    }, l).stages;
    assert.equal(only.image, "alpine:3");
    refuses(
      { pipelineId: "p", stages: [stage("a", [], { command: [] })] },
      "stages[a].command",
      /command or an image/,
      l,
    );
  });
});
