import assert from "node:assert/strict";
import { silentLogger } from "../telemetry/logger.ts";
import { LocalRuntime } from "../worker/local/runtime.ts";
import { compilePipeline, type StageRequest } from "./compile.ts";
import {
  attemptTaskId,
  PipelineExecutor,
  StageNotWaitingError,
  type StageProgress,
} from "./executor.ts";
import { FilePipelineStore } from "./state.ts";

const stage = (stageId: string, script: string, extra: Partial<StageRequest> = {}) => ({
  stageId,
  workerCount: 1,
  command: ["sh", "-c", script],
  ...extra,
});

/** A runtime and an executor over one temporary state directory, reopenable. */
async function harness() {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-pipeline-" });
  const open = async () => {
    const runtime = await LocalRuntime.open({
      stateDir: `${dir}/state`,
      logger: silentLogger,
      stopGraceMs: 1000,
    });
    const executor = new PipelineExecutor({
      runtime,
      store: new FilePipelineStore(`${dir}/state/pipelines`),
      logger: silentLogger,
    });
    await executor.open();
    return { runtime, executor };
  };
  let parts = await open();
  return {
    dir,
    get runtime() {
      return parts.runtime;
    },
    get executor() {
      return parts.executor;
    },
    async run(stages: StageRequest[], id = `p${crypto.randomUUID().slice(0, 6)}`) {
      const compiled = compilePipeline({ pipelineId: id, stages }, {
        maxWorkersPerStage: 10,
        requireCommand: true,
      });
      const seen: StageProgress[] = [];
      const { run } = await parts.executor.submit(compiled);
      run.subscribe((p) => seen.push(p));
      return { run, seen, id };
    },
    async restart() {
      await parts.executor.close();
      await parts.runtime.close();
      parts = await open();
    },
    async close() {
      for (const w of parts.runtime.list()) await parts.runtime.stop(w.id);
      await parts.executor.close();
      await parts.runtime.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function waitFor(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 20));
}

const statusOf = (run: { state: { stages: Record<string, { status: string }> } }) =>
  Object.fromEntries(Object.entries(run.state.stages).map(([id, s]) => [id, s.status]));

Deno.test("pipeline executor on the local runtime", async (t) => {
  const h = await harness();
  try {
    await t.step(
      "a diamond runs each stage after its dependencies, branches in parallel",
      async () => {
        const { run } = await h.run([
          stage("build", "echo built"),
          stage("unit", "sleep 1", { dependsOn: ["build"], workerCount: 2 }),
          stage("lint", "sleep 1", { dependsOn: ["build"] }),
          stage("deploy", "echo deployed", { dependsOn: ["unit", "lint"] }),
        ]);
        await run.done;
        assert.deepEqual(statusOf(run), {
          build: "STAGE_COMPLETED",
          unit: "STAGE_COMPLETED",
          lint: "STAGE_COMPLETED",
          deploy: "STAGE_COMPLETED",
        });
        const s = run.state.stages;
        const t = (iso?: string) => Date.parse(iso!);
        assert.ok(t(s.unit.startedAt) >= t(s.build.completedAt));
        assert.ok(t(s.deploy.startedAt) >= Math.max(t(s.unit.completedAt), t(s.lint.completedAt)));
        assert.ok(t(s.lint.startedAt) < t(s.unit.completedAt), "unit and lint overlapped");
        assert.equal(h.runtime.list({ taskId: attemptTaskId(run.id, "unit", 1) }).length, 2);
      },
    );

    await t.step("a failure skips its dependents while independent branches go on", async () => {
      const { run, seen } = await h.run([
        stage("a", "true"),
        stage("b", "exit 3", { dependsOn: ["a"] }),
        stage("c", "true", { dependsOn: ["b"] }),
        stage("d", "sleep 0.5", { dependsOn: ["a"] }),
      ]);
      await run.done;
      assert.deepEqual(statusOf(run), {
        a: "STAGE_COMPLETED",
        b: "STAGE_FAILED",
        c: "STAGE_SKIPPED",
        d: "STAGE_COMPLETED",
      });
      assert.match(run.state.stages.b.errorMessage, /exited with code 3/);
      assert.match(run.state.stages.c.errorMessage, /dependency "b" failed/);
      const last = seen.filter((p) => p.stageId === "b").at(-1)!;
      assert.equal(last.metrics.failedWorkers, 1);
      assert.equal(last.metrics.totalWorkers, 1);
      assert.equal(seen.at(-1)!.progressPercentage, 100);
    });

    await t.step("a retry that then succeeds; the attempt shows in names and labels", async () => {
      const counter = `${h.dir}/attempts`;
      const { run, seen } = await h.run([
        stage(
          "flaky",
          `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 2 ]`,
          {
            retryPolicy: {
              maxAttempts: 3,
              retryDelaySeconds: 0,
              retryableFailures: ["exit_code:1"],
            },
          },
        ),
      ]);
      await run.done;
      assert.equal(run.state.stages.flaky.status, "STAGE_COMPLETED");
      assert.equal(run.state.stages.flaky.attempt, 2);
      // (Subscribed after submit, which already reported the first attempt starting.)
      assert.deepEqual(seen.map((p) => p.status), [
        "STAGE_RETRYING",
        "STAGE_RUNNING",
        "STAGE_COMPLETED",
      ]);
      assert.match(seen[0].errorMessage, /exited with code 1/);
      const [second] = h.runtime.list({ taskId: attemptTaskId(run.id, "flaky", 2) });
      assert.match(second.id, /-flaky-a2-1$/);
      assert.equal(second.labels["ottoscaler.io/attempt"], "2");
    });

    await t.step("a failure the policy does not name is not retried", async () => {
      const { run } = await h.run([
        stage("strict", "exit 1", {
          retryPolicy: { maxAttempts: 3, retryableFailures: ["exit_code:75"] },
        }),
      ]);
      await run.done;
      assert.equal(run.state.stages.strict.status, "STAGE_FAILED");
      assert.equal(run.state.stages.strict.attempt, 1);
    });

    await t.step("a stage past its timeout fails saying it timed out", async () => {
      const { run } = await h.run([stage("slow", "sleep 30", { timeoutSeconds: 1 })]);
      await run.done;
      assert.equal(run.state.stages.slow.status, "STAGE_FAILED");
      assert.match(run.state.stages.slow.errorMessage, /DeadlineExceeded: timed out after 1s/);
    });

    await t.step("cancel stops running stages and skips the rest", async () => {
      const { run, id } = await h.run([
        stage("long", "sleep 60", { workerCount: 2 }),
        stage("after", "true", { dependsOn: ["long"] }),
      ]);
      const running = () => h.runtime.list({ taskId: attemptTaskId(id, "long", 1) });
      while (running().some((w) => w.phase !== "running")) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await h.executor.cancel(id), true);
      await run.done;
      assert.deepEqual(statusOf(run), { long: "STAGE_CANCELLED", after: "STAGE_SKIPPED" });
      assert.ok(running().every((w) => w.reason === "Stopped"));
      assert.equal(await h.executor.cancel(id), false, "a finished pipeline cannot be cancelled");
    });

    await t.step(
      "submitting a known pipeline re-attaches instead of running it twice",
      async () => {
        const { run, id } = await h.run([stage("once", "echo once")]);
        await run.done;
        const again = await h.executor.submit(
          compilePipeline({ pipelineId: id, stages: [stage("once", "echo twice")] }, {
            maxWorkersPerStage: 10,
            requireCommand: true,
          }),
        );
        assert.equal(again.created, false);
        assert.equal(again.run, run);
        assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "once", 1) }).length, 1);
      },
    );

    await t.step("a restart mid-pipeline continues it: nothing re-run, no duplicates", async () => {
      const { run, id } = await h.run([
        stage("first", "echo first"),
        stage("second", "sleep 2", { dependsOn: ["first"] }),
        stage("third", "echo third", { dependsOn: ["second"] }),
      ]);
      while (run.state.stages.second.status !== "STAGE_RUNNING") {
        await new Promise((r) => setTimeout(r, 20));
      }
      await h.restart();
      const resumed = h.executor.get(id)!;
      assert.ok(resumed && resumed !== run, "the pipeline was loaded from its stored state");
      await resumed.done;
      assert.deepEqual(statusOf(resumed), {
        first: "STAGE_COMPLETED",
        second: "STAGE_COMPLETED",
        third: "STAGE_COMPLETED",
      });
      assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "first", 1) }).length, 1);
      assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "second", 1) }).length, 1);
      assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "second", 2) }).length, 0);
    });

    await t.step("an APPROVAL stage waits, and approving it runs its dependents", async () => {
      const { run, id, seen } = await h.run([
        stage("build", "echo built", { type: "build" }),
        { stageId: "gate", type: "approval", workerCount: 0, dependsOn: ["build"] },
        stage("deploy", "echo deployed", { type: "deploy", dependsOn: ["gate"] }),
      ]);
      await waitFor(() => run.state.stages.gate.status === "STAGE_RUNNING");
      assert.match(run.state.stages.gate.message, /waiting for approval/);
      assert.equal(run.state.stages.deploy.status, "STAGE_PENDING");
      assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "gate", 1) }).length, 0);
      await assert.rejects(
        h.executor.approve(id, "deploy", { approved: true, approver: "ann", comment: "" }),
        StageNotWaitingError,
      );
      const status = await h.executor.approve(id, "gate", {
        approved: true,
        approver: "ann",
        comment: "ship it",
      });
      assert.equal(status, "STAGE_COMPLETED");
      await run.done;
      assert.deepEqual(statusOf(run), {
        build: "STAGE_COMPLETED",
        gate: "STAGE_COMPLETED",
        deploy: "STAGE_COMPLETED",
      });
      assert.equal(run.state.stages.gate.message, "approved by ann: ship it");
      assert.ok(seen.some((p) => p.stageId === "gate" && p.stageType === "approval"));
      await assert.rejects(
        h.executor.approve(id, "gate", { approved: false, approver: "bob", comment: "" }),
        /not waiting for approval \(it is STAGE_COMPLETED\)/,
      );
    });

    await t.step(
      "a rejection fails the stage naming who and why; CLEANUP still runs, dependents do not",
      async () => {
        const { run, id } = await h.run([
          { stageId: "gate", type: "approval", workerCount: 0 },
          stage("deploy", "echo deployed", { dependsOn: ["gate"] }),
          stage("tidy", "echo tidy", { type: "cleanup", dependsOn: ["deploy"] }),
        ]);
        await waitFor(() => run.state.stages.gate.status === "STAGE_RUNNING");
        await h.executor.approve(id, "gate", { approved: false, approver: "bob", comment: "no" });
        await run.done;
        assert.deepEqual(statusOf(run), {
          gate: "STAGE_FAILED",
          deploy: "STAGE_SKIPPED",
          tidy: "STAGE_COMPLETED",
        });
        assert.equal(run.state.stages.gate.errorMessage, "rejected by bob: no");
      },
    );

    await t.step("the approval wait survives a restart; its timeout ends it", async () => {
      const { run, id } = await h.run([
        { stageId: "gate", type: "approval", workerCount: 0 },
        { stageId: "late", type: "approval", workerCount: 0, timeoutSeconds: 1 },
      ]);
      await waitFor(() => run.state.stages.gate.status === "STAGE_RUNNING");
      await h.restart();
      const resumed = h.executor.get(id)!;
      assert.notEqual(resumed, run);
      assert.equal(resumed.state.stages.gate.status, "STAGE_RUNNING");
      await waitFor(() => resumed.state.stages.late.status === "STAGE_FAILED");
      assert.match(resumed.state.stages.late.errorMessage, /approval timed out after 1s/);
      await h.executor.approve(id, "gate", { approved: true, approver: "ann", comment: "" });
      await resumed.done;
      assert.equal(resumed.state.stages.gate.status, "STAGE_COMPLETED");
    });

    await t.step("CLEANUP and NOTIFY run after a failure, not after a cancel", async () => {
      const failed = await h.run([
        stage("build", "exit 3"),
        stage("tidy", "echo tidy", { type: "cleanup", dependsOn: ["build"] }),
        stage("tell", "echo told", { type: "NOTIFY", dependsOn: ["tidy"] }),
      ]);
      await failed.run.done;
      assert.deepEqual(statusOf(failed.run), {
        build: "STAGE_FAILED",
        tidy: "STAGE_COMPLETED",
        tell: "STAGE_COMPLETED",
      });
      const [tidy] = h.runtime.list({ taskId: attemptTaskId(failed.id, "tidy", 1) });
      assert.equal(tidy.labels["ottoscaler.io/stage-type"], "cleanup");

      const { run, id } = await h.run([
        { stageId: "gate", type: "approval", workerCount: 0 },
        stage("tidy", "echo tidy", { type: "cleanup", dependsOn: ["gate"] }),
      ]);
      await waitFor(() => run.state.stages.gate.status === "STAGE_RUNNING");
      await h.executor.cancel(id);
      await run.done;
      assert.deepEqual(statusOf(run), { gate: "STAGE_CANCELLED", tidy: "STAGE_SKIPPED" });
      assert.equal(h.runtime.list({ taskId: attemptTaskId(id, "tidy", 1) }).length, 0);
    });
  } finally {
    await h.close();
  }
});
