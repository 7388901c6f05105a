import assert from "node:assert/strict";
import { silentLogger } from "../telemetry/logger.ts";
import type {
  LogLine,
  Runtime,
  StatusListener,
  WorkerSpec,
  WorkerStatus,
} from "../worker/types.ts";
import { ValidationError } from "../worker/errors.ts";
import { Scaler } from "./scaler.ts";

/** A hand-written in-memory runtime: records calls, fails starts of chosen indices. */
class FakeRuntime implements Runtime {
  readonly name = "fake";
  readonly requiresCommand = false;
  readonly workers = new Map<string, WorkerStatus>();
  readonly started: string[] = [];
  readonly stopped: string[] = [];
  failIndices = new Set<number>();
  inFlight = 0;
  maxInFlight = 0;

  async start(spec: WorkerSpec): Promise<WorkerStatus> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    if (this.failIndices.has(spec.index)) throw new Error(`quota exceeded`);
    const status: WorkerStatus = {
      id: spec.id,
      taskId: spec.taskId,
      index: spec.index,
      phase: "running",
      createdAt: new Date().toISOString(),
      labels: spec.labels,
    };
    this.workers.set(spec.id, status);
    this.started.push(spec.id);
    return status;
  }
  stop(id: string): Promise<void> {
    const w = this.workers.get(id);
    if (w) this.workers.set(id, { ...w, phase: "failed", reason: "Stopped" });
    this.stopped.push(id);
    return Promise.resolve();
  }
  list(filter: { taskId?: string } = {}): WorkerStatus[] {
    return [...this.workers.values()]
      .filter((w) => !filter.taskId || w.taskId === filter.taskId)
      .sort((a, b) => a.index - b.index);
  }
  watch(_listener: StatusListener): () => void {
    return () => {};
  }
  logs(_id: string): AsyncIterable<LogLine> {
    return (async function* () {})();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function scaler(runtime: Runtime, maxParallelStarts = 4) {
  return new Scaler({
    runtime,
    logger: silentLogger,
    defaultImage: "busybox:latest",
    maxWorkersPerTask: 50,
    maxParallelStarts,
  });
}

Deno.test("scaler", async (t) => {
  await t.step("ScaleUp creates only the missing workers, with their environment", async () => {
    const runtime = new FakeRuntime();
    const s = scaler(runtime);
    const first = await s.scaleUp({ taskId: "t", workerCount: 2, repository: "r", commitSha: "c" });
    assert.equal(first.status, "SUCCESS");
    assert.deepEqual(first.workerNames, ["otto-agent-t-1", "otto-agent-t-2"]);
    const more = await s.scaleUp({ taskId: "t", workerCount: 4 });
    assert.equal(more.status, "SUCCESS");
    assert.equal(more.processedCount, 2);
    assert.deepEqual(runtime.started.slice(2).sort(), ["otto-agent-t-3", "otto-agent-t-4"]);
    const again = await s.scaleUp({ taskId: "t", workerCount: 4 });
    assert.equal(again.status, "ALREADY_PROCESSED");
    assert.equal(runtime.started.length, 4);
  });

  await t.step("concurrent ScaleUps of one task create each worker once", async () => {
    const runtime = new FakeRuntime();
    const s = scaler(runtime);
    const results = await Promise.all(
      [1, 2, 3].map(() => s.scaleUp({ taskId: "race", workerCount: 3 })),
    );
    assert.equal(runtime.started.length, 3);
    assert.deepEqual(results.map((r) => r.status).sort(), [
      "ALREADY_PROCESSED",
      "ALREADY_PROCESSED",
      "SUCCESS",
    ]);
  });

  await t.step(
    "some starts failing is PARTIAL_SUCCESS with the reasons; all is FAILED",
    async () => {
      const runtime = new FakeRuntime();
      runtime.failIndices = new Set([2]);
      const s = scaler(runtime);
      const partial = await s.scaleUp({ taskId: "p", workerCount: 3 });
      assert.equal(partial.status, "PARTIAL_SUCCESS");
      assert.equal(partial.processedCount, 2);
      assert.match(partial.message, /otto-agent-p-2: quota exceeded/);
      assert.deepEqual(partial.workerNames, ["otto-agent-p-1", "otto-agent-p-3"]);
      runtime.failIndices = new Set([1]);
      const failed = await s.scaleUp({ taskId: "f", workerCount: 1 });
      assert.equal(failed.status, "FAILED");
      assert.equal(failed.processedCount, 0);
    },
  );

  await t.step("starts run in parallel, up to the bound", async () => {
    const runtime = new FakeRuntime();
    await scaler(runtime, 3).scaleUp({ taskId: "par", workerCount: 10 });
    assert.equal(runtime.maxInFlight, 3);
  });

  await t.step("a runtime that bounds its own starts gets them all at once", async () => {
    const runtime = new (class extends FakeRuntime {
      readonly boundsStarts = true;
    })();
    await scaler(runtime, 3).scaleUp({ taskId: "own", workerCount: 10 });
    assert.equal(runtime.maxInFlight, 10);
  });

  await t.step("ScaleDown stops unfinished workers beyond the count, highest first", async () => {
    const runtime = new FakeRuntime();
    const s = scaler(runtime);
    await s.scaleUp({ taskId: "d", workerCount: 4 });
    await runtime.stop("otto-agent-d-4");
    runtime.stopped.length = 0;
    const down = await s.scaleDown({ taskId: "d", workerCount: 1 });
    assert.deepEqual(down.workerNames, ["otto-agent-d-3", "otto-agent-d-2"]);
    assert.equal(down.processedCount, 2);
    assert.deepEqual(runtime.stopped, ["otto-agent-d-3", "otto-agent-d-2"]);
  });

  await t.step("refused requests touch nothing", () => {
    const runtime = new FakeRuntime();
    const s = scaler(runtime);
    assert.throws(() => s.scaleUp({ taskId: "", workerCount: 1 }), ValidationError);
    assert.throws(() => s.scaleUp({ taskId: "x", workerCount: 51 }), ValidationError);
    assert.throws(
      () => s.scaleUp({ taskId: "x", workerCount: 1, buildConfig: { "A B": "1" } }),
      ValidationError,
    );
    assert.throws(() => s.scaleDown({ taskId: "x", workerCount: -1 }), ValidationError);
    assert.equal(runtime.started.length + runtime.stopped.length, 0);
  });
});
