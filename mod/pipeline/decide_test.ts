import assert from "node:assert/strict";
import type { WorkerStatus } from "../worker/types.ts";
import { compilePipeline, type StageRequest } from "./compile.ts";
import { decide, type PipelineAction, type PipelineEvent } from "./decide.ts";
import type { StageState, StageStatus } from "./state.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

const worker = (stageId: string, index: number, phase: WorkerStatus["phase"], reason?: string) =>
  ({
    id: `w-${stageId}-${index}`,
    taskId: stageId,
    index,
    phase,
    createdAt: "2026-01-01T00:00:00Z",
    labels: {},
    ...(reason ? { reason, exitCode: reason === "Error" ? 1 : undefined } : {}),
  }) as WorkerStatus;

const st = (status: StageStatus, extra: Partial<StageState> = {}): StageState => ({
  status,
  attempt: status === "STAGE_PENDING" ? 0 : 1,
  message: "",
  errorMessage: "",
  workers: [],
  successful: 0,
  failed: 0,
  ...(status === "STAGE_RUNNING" ? { startedAt: new Date(NOW - 5000).toISOString() } : {}),
  ...extra,
});

const run = (stageId: string, extra: Partial<StageRequest> = {}): StageRequest => ({
  stageId,
  workerCount: 1,
  command: ["true"],
  ...extra,
});
const gate = (stageId: string, extra: Partial<StageRequest> = {}): StageRequest => ({
  stageId,
  type: "approval",
  workerCount: 0,
  ...extra,
});

interface Case {
  readonly name: string;
  readonly stages: readonly StageRequest[];
  readonly states: Record<string, StageState>;
  readonly workers?: Record<string, WorkerStatus[]>;
  readonly cancelled?: boolean;
  readonly event?: PipelineEvent;
  /** The statuses after the step. */
  readonly expect: Record<string, StageStatus>;
  readonly changed: readonly string[];
  readonly actions?: readonly PipelineAction[];
  readonly wakeAt?: number;
  readonly refused?: RegExp;
  /** Messages (or error messages) expected, by stage. */
  readonly says?: Record<string, RegExp>;
}

const CASES: Case[] = [
  {
    name: "ordinary: a stage whose dependencies completed starts its first attempt",
    stages: [run("a"), run("b", { dependsOn: ["a"], workerCount: 2 })],
    states: { a: st("STAGE_COMPLETED"), b: st("STAGE_PENDING") },
    expect: { a: "STAGE_COMPLETED", b: "STAGE_RUNNING" },
    changed: ["b"],
    actions: [{ type: "start", stageId: "b", attempt: 1 }],
  },
  {
    name: "ordinary: waits while a dependency runs",
    stages: [run("a"), run("b", { dependsOn: ["a"] })],
    states: { a: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    workers: { a: [worker("a", 1, "running")] },
    expect: { a: "STAGE_RUNNING", b: "STAGE_PENDING" },
    changed: [],
    actions: [],
  },
  {
    name: "ordinary: every worker succeeded, so it completes and its dependent starts at once",
    stages: [run("a", { workerCount: 2 }), run("b", { dependsOn: ["a"] })],
    states: { a: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    workers: { a: [worker("a", 1, "succeeded"), worker("a", 2, "succeeded")] },
    expect: { a: "STAGE_COMPLETED", b: "STAGE_RUNNING" },
    changed: ["a", "b"],
    actions: [{ type: "start", stageId: "b", attempt: 1 }],
  },
  {
    name: "ordinary: a missing worker (crash mid-start) is started again, nothing reported",
    stages: [run("a", { workerCount: 2 })],
    states: { a: st("STAGE_RUNNING") },
    workers: { a: [worker("a", 1, "running")] },
    expect: { a: "STAGE_RUNNING" },
    changed: [],
    actions: [{ type: "start", stageId: "a", attempt: 1 }],
  },
  {
    name: "skips: a failure skips its dependents and theirs",
    stages: [run("a"), run("b", { dependsOn: ["a"] }), run("c", { dependsOn: ["b"] })],
    states: { a: st("STAGE_RUNNING"), b: st("STAGE_PENDING"), c: st("STAGE_PENDING") },
    workers: { a: [worker("a", 1, "failed", "Error")] },
    expect: { a: "STAGE_FAILED", b: "STAGE_SKIPPED", c: "STAGE_SKIPPED" },
    changed: ["a", "b", "c"],
    actions: [],
    says: { a: /worker w-a-1 failed: Error/, c: /dependency "b" did not complete/ },
  },
  {
    name: "retries: a failed attempt with attempts left retries after its delay, stopping the rest",
    stages: [run("a", { workerCount: 2, retryPolicy: { maxAttempts: 3, retryDelaySeconds: 2 } })],
    states: { a: st("STAGE_RUNNING") },
    workers: { a: [worker("a", 1, "failed", "Error"), worker("a", 2, "running")] },
    expect: { a: "STAGE_RETRYING" },
    changed: ["a"],
    actions: [{ type: "stop", workerIds: ["w-a-2"] }],
    wakeAt: NOW + 2000,
    says: { a: /attempt 1 of 3 failed; retrying in 2s/ },
  },
  {
    name: "retries: before its time a retry waits",
    stages: [run("a", { retryPolicy: { maxAttempts: 3, retryDelaySeconds: 2 } })],
    states: { a: st("STAGE_RETRYING", { retryAt: NOW + 500 }) },
    expect: { a: "STAGE_RETRYING" },
    changed: [],
    actions: [],
    wakeAt: NOW + 500,
  },
  {
    name: "retries: at its time the next attempt starts",
    stages: [run("a", { retryPolicy: { maxAttempts: 3 } })],
    states: { a: st("STAGE_RETRYING", { retryAt: NOW }) },
    expect: { a: "STAGE_RUNNING" },
    changed: ["a"],
    actions: [{ type: "start", stageId: "a", attempt: 2 }],
    says: { a: /attempt 2 of 3 running/ },
  },
  {
    name: "retries: the last attempt failing fails the stage",
    stages: [run("a", { retryPolicy: { maxAttempts: 2 } })],
    states: { a: st("STAGE_RUNNING", { attempt: 2 }) },
    workers: { a: [worker("a", 1, "failed", "Error")] },
    expect: { a: "STAGE_FAILED" },
    changed: ["a"],
    actions: [],
    says: { a: /failed after 2 attempts/ },
  },
  {
    name: "timeouts: a timed-out worker is retried when the policy names timeout",
    stages: [run("a", { retryPolicy: { maxAttempts: 2, retryableFailures: ["timeout"] } })],
    states: { a: st("STAGE_RUNNING") },
    workers: { a: [worker("a", 1, "failed", "DeadlineExceeded")] },
    expect: { a: "STAGE_RETRYING" },
    changed: ["a"],
    actions: [],
    wakeAt: NOW,
  },
  {
    name: "timeouts: not retried when the policy names only exit codes",
    stages: [run("a", { retryPolicy: { maxAttempts: 2, retryableFailures: ["exit_code"] } })],
    states: { a: st("STAGE_RUNNING") },
    workers: { a: [worker("a", 1, "failed", "DeadlineExceeded")] },
    expect: { a: "STAGE_FAILED" },
    changed: ["a"],
    actions: [],
  },
  {
    name: "cancel: running stops its workers, retrying is cancelled, pending skipped",
    stages: [
      run("a"),
      run("b", { retryPolicy: { maxAttempts: 2 } }),
      run("c", {
        dependsOn: ["a"],
      }),
    ],
    states: {
      a: st("STAGE_RUNNING"),
      b: st("STAGE_RETRYING", { retryAt: NOW + 1000 }),
      c: st("STAGE_PENDING"),
    },
    workers: { a: [worker("a", 1, "running")] },
    event: { type: "cancel" },
    expect: { a: "STAGE_CANCELLED", b: "STAGE_CANCELLED", c: "STAGE_SKIPPED" },
    changed: ["a", "b", "c"],
    actions: [{ type: "stop", workerIds: ["w-a-1"] }],
  },
  {
    name: "start failure: the stage fails and its dependents are skipped",
    stages: [run("a"), run("b", { dependsOn: ["a"] })],
    states: { a: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    event: { type: "start_failed", stageId: "a", error: "quota exceeded" },
    expect: { a: "STAGE_FAILED", b: "STAGE_SKIPPED" },
    changed: ["a", "b"],
    actions: [],
    says: { a: /start failure: quota exceeded/ },
  },
  {
    name: "APPROVAL: once its dependencies completed it waits, running nothing",
    stages: [run("a"), gate("g", { dependsOn: ["a"], timeoutSeconds: 60 })],
    states: { a: st("STAGE_COMPLETED"), g: st("STAGE_PENDING") },
    expect: { a: "STAGE_COMPLETED", g: "STAGE_RUNNING" },
    changed: ["g"],
    actions: [],
    wakeAt: NOW + 60_000,
    says: { g: /waiting for approval \(up to 60s\)/ },
  },
  {
    name: "APPROVAL: still waiting, nothing changes",
    stages: [gate("g")],
    states: { g: st("STAGE_RUNNING") },
    expect: { g: "STAGE_RUNNING" },
    changed: [],
    actions: [],
  },
  {
    name: "APPROVAL: approved, it completes and its dependents start",
    stages: [gate("g"), run("b", { dependsOn: ["g"] })],
    states: { g: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    event: { type: "approval", stageId: "g", approved: true, approver: "ann", comment: "ok" },
    expect: { g: "STAGE_COMPLETED", b: "STAGE_RUNNING" },
    changed: ["g", "b"],
    actions: [{ type: "start", stageId: "b", attempt: 1 }],
    says: { g: /approved by ann: ok/ },
  },
  {
    name: "APPROVAL: rejected, it fails naming who and why and its dependents are skipped",
    stages: [gate("g"), run("b", { dependsOn: ["g"] })],
    states: { g: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    event: { type: "approval", stageId: "g", approved: false, approver: "bob", comment: "no" },
    expect: { g: "STAGE_FAILED", b: "STAGE_SKIPPED" },
    changed: ["g", "b"],
    actions: [],
    says: { g: /rejected by bob: no/ },
  },
  {
    name: "APPROVAL: past its timeout it fails",
    stages: [gate("g", { timeoutSeconds: 5 })],
    states: { g: st("STAGE_RUNNING") },
    expect: { g: "STAGE_FAILED" },
    changed: ["g"],
    actions: [],
    says: { g: /approval timed out after 5s/ },
  },
  {
    name: "APPROVAL: a cancel ends the wait",
    stages: [gate("g"), run("b", { dependsOn: ["g"] })],
    states: { g: st("STAGE_RUNNING"), b: st("STAGE_PENDING") },
    event: { type: "cancel" },
    expect: { g: "STAGE_CANCELLED", b: "STAGE_SKIPPED" },
    changed: ["g", "b"],
    actions: [],
  },
  {
    name: "APPROVAL: deciding a stage that is not waiting is refused, nothing changes",
    stages: [run("a"), gate("g", { dependsOn: ["a"] })],
    states: { a: st("STAGE_RUNNING"), g: st("STAGE_PENDING") },
    workers: { a: [worker("a", 1, "running")] },
    event: { type: "approval", stageId: "g", approved: true, approver: "ann", comment: "" },
    expect: { a: "STAGE_RUNNING", g: "STAGE_PENDING" },
    changed: [],
    actions: [],
    refused: /stage "g" is not waiting for approval \(it is STAGE_PENDING\)/,
  },
  {
    name: "APPROVAL: deciding an ordinary stage is refused",
    stages: [run("a")],
    states: { a: st("STAGE_RUNNING") },
    workers: { a: [worker("a", 1, "running")] },
    event: { type: "approval", stageId: "a", approved: true, approver: "ann", comment: "" },
    expect: { a: "STAGE_RUNNING" },
    changed: [],
    actions: [],
    refused: /not an APPROVAL stage/,
  },
  {
    name: "CLEANUP/NOTIFY: run after a failure and a skip; the failure stays",
    stages: [
      run("a"),
      run("b", { dependsOn: ["a"] }),
      run("clean", { type: "cleanup", dependsOn: ["b"] }),
      run("tell", { type: "notify", dependsOn: ["a"] }),
    ],
    states: {
      a: st("STAGE_RUNNING"),
      b: st("STAGE_PENDING"),
      clean: st("STAGE_PENDING"),
      tell: st("STAGE_PENDING"),
    },
    workers: { a: [worker("a", 1, "failed", "Error")] },
    expect: {
      a: "STAGE_FAILED",
      b: "STAGE_SKIPPED",
      clean: "STAGE_RUNNING",
      tell: "STAGE_RUNNING",
    },
    changed: ["a", "b", "clean", "tell"],
    actions: [
      { type: "start", stageId: "clean", attempt: 1 },
      { type: "start", stageId: "tell", attempt: 1 },
    ],
  },
  {
    name: "CLEANUP/NOTIFY: wait until every dependency ended",
    stages: [run("a"), run("b"), run("clean", { type: "cleanup", dependsOn: ["a", "b"] })],
    states: { a: st("STAGE_FAILED"), b: st("STAGE_RUNNING"), clean: st("STAGE_PENDING") },
    workers: { b: [worker("b", 1, "running")] },
    expect: { a: "STAGE_FAILED", b: "STAGE_RUNNING", clean: "STAGE_PENDING" },
    changed: [],
    actions: [],
  },
  {
    name: "CLEANUP/NOTIFY: not run after a cancel",
    stages: [run("a"), run("clean", { type: "cleanup", dependsOn: ["a"] })],
    states: { a: st("STAGE_FAILED"), clean: st("STAGE_PENDING") },
    cancelled: true,
    expect: { a: "STAGE_FAILED", clean: "STAGE_SKIPPED" },
    changed: ["clean"],
    actions: [],
  },
];

Deno.test("pipeline decisions", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const definition = compilePipeline({ pipelineId: "p", stages: c.stages }, {
        maxWorkersPerStage: 10,
        requireCommand: true,
      });
      const frozen = structuredClone(c.states);
      const decision = decide({
        definition,
        stages: c.states,
        cancelled: c.cancelled ?? false,
        workers: (id) => c.workers?.[id] ?? [],
        now: NOW,
        event: c.event ?? { type: "evaluate" },
      });
      assert.deepEqual(c.states, frozen, "the input states are not modified");
      const statuses = Object.fromEntries(
        Object.entries(decision.stages).map(([id, s]) => [id, s.status]),
      );
      assert.deepEqual(statuses, c.expect);
      assert.deepEqual(decision.changed, c.changed);
      if (c.actions) assert.deepEqual(decision.actions, c.actions);
      assert.equal(decision.wakeAt, c.wakeAt);
      if (c.refused) assert.match(decision.refused ?? "", c.refused);
      else assert.equal(decision.refused, undefined);
      for (const [id, pattern] of Object.entries(c.says ?? {})) {
        const s = decision.stages[id];
        assert.match(`${s.message} | ${s.errorMessage}`, pattern);
      }
    });
  }
});
