/**
 * The conformance suite every {@linkcode Runtime} must pass. A runtime's test file supplies a
 * {@linkcode ConformanceHarness} and calls {@linkcode runConformance}.
 *
 * Workers are described by what they do (print these lines, exit with this code, run this long),
 * and the harness turns that into a spec its runtime can run: a shell script for the local
 * runtime, a pod whose simulated container behaves so for the Kubernetes runtime.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  isTerminal,
  type LogLine,
  type Runtime,
  type WorkerSpec,
  type WorkerStatus,
} from "../../mod/worker/types.ts";
import { WorkerConflictError, WorkerNotFoundError } from "../../mod/worker/types.ts";

/** What a test worker does. */
export interface Behaviour {
  /** Lines printed to stdout, in order. */
  readonly stdout?: readonly string[];
  /** Lines printed to stderr after the stdout lines. */
  readonly stderr?: readonly string[];
  /** Seconds to wait after printing, before exiting. */
  readonly sleepSeconds?: number;
  /** Lines printed to stdout after the sleep. */
  readonly stdoutAfterSleep?: readonly string[];
  /** The exit code; default 0. */
  readonly exitCode?: number;
  /** Keep running through SIGTERM (only SIGKILL ends it). */
  readonly ignoreTerm?: boolean;
}

/** Adapts the suite to one runtime. */
export interface ConformanceHarness {
  /**
   * Opens the runtime on the harness's backing state (a state directory, a namespace). Called
   * again after `close` to check recovery: the new instance must see the same workers.
   */
  open(): Promise<Runtime>;
  /** A spec for worker `index` of task `taskId` that behaves as described. */
  spec(
    taskId: string,
    index: number,
    behaviour: Behaviour,
    options?: { timeoutSeconds?: number },
  ): WorkerSpec;
  /** Kills a worker outright behind the runtime's back, leaving no exit code (if supported). */
  killUnseen?(runtime: Runtime, id: string): Promise<void>;
  /**
   * The runtime's log merges stdout and stderr into one stream in printed order (Kubernetes'
   * `pods/log`), so every line's source is `stdout`.
   */
  readonly mergedStreams?: boolean;
}

/** Upper bound for waits, so a broken runtime fails the test instead of hanging it. */
const WAIT_LIMIT_MS = 60_000;

/** Waits until worker `id` satisfies `predicate`, using the runtime's watch (no polling). */
export function waitForStatus(
  runtime: Runtime,
  id: string,
  predicate: (status: WorkerStatus) => boolean,
): Promise<WorkerStatus> {
  return new Promise((resolve, reject) => {
    const check = () => runtime.list().find((s) => s.id === id);
    const timer = setTimeout(() => {
      unwatch();
      reject(
        new Error(`worker ${id} did not reach the expected state: ${JSON.stringify(check())}`),
      );
    }, WAIT_LIMIT_MS);
    const unwatch = runtime.watch((status) => {
      if (status.id === id && predicate(status)) {
        clearTimeout(timer);
        unwatch();
        resolve(status);
      }
    });
    const now = check();
    if (now && predicate(now)) {
      clearTimeout(timer);
      unwatch();
      resolve(now);
    }
  });
}

/** Waits until worker `id` is terminal. */
export function waitForEnd(runtime: Runtime, id: string): Promise<WorkerStatus> {
  return waitForStatus(runtime, id, (s) => isTerminal(s.phase));
}

/** Collects a worker's lines (following until it ends when `follow`). */
export async function collectLogs(
  runtime: Runtime,
  id: string,
  options: { after?: number; follow?: boolean } = {},
): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of runtime.logs(id, options)) lines.push(line);
  return lines;
}

function assertNumbered(lines: readonly LogLine[], from = 1): void {
  lines.forEach((line, i) => assert.equal(line.sequence, from + i, "sequences have no gaps"));
}

/** Runs the suite as steps of `t`. Every step uses its own task id. */
export async function runConformance(t: Deno.TestContext, harness: ConformanceHarness) {
  let runtime = await harness.open();
  const suffix = crypto.randomUUID().slice(0, 6);
  const task = (name: string) => `${name}-${suffix}`;
  try {
    await t.step("a worker runs, succeeds, and its lines are numbered from 1", async () => {
      const spec = harness.spec(task("ok"), 1, { stdout: ["alpha", "beta"], stderr: ["gamma"] });
      const started = await runtime.start(spec);
      assert.equal(started.id, spec.id);
      assert.equal(started.taskId, spec.taskId);
      const end = await waitForEnd(runtime, spec.id);
      assert.equal(end.phase, "succeeded");
      assert.equal(end.exitCode, 0);
      assert.ok(end.startedAt && end.finishedAt, "start and end times are recorded");
      const lines = await collectLogs(runtime, spec.id);
      const of = (source: string) => lines.filter((l) => l.source === source).map((l) => l.message);
      if (harness.mergedStreams) {
        assert.deepEqual(of("stdout"), ["alpha", "beta", "gamma"]);
      } else {
        // Order is exact within each source; how stdout and stderr interleave is as captured.
        assert.deepEqual(of("stdout"), ["alpha", "beta"]);
        assert.deepEqual(of("stderr"), ["gamma"]);
      }
      assertNumbered(lines);
      assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.timestamp))));
    });

    await t.step("start is idempotent, also when called concurrently", async () => {
      const spec = harness.spec(task("idem"), 1, { stdout: ["once"] });
      const [a, b] = await Promise.all([runtime.start(spec), runtime.start(spec)]);
      assert.equal(a.id, b.id);
      await waitForEnd(runtime, spec.id);
      const again = await runtime.start(spec);
      assert.equal(again.phase, "succeeded", "a repeated start returns the existing worker");
      assert.equal(runtime.list({ taskId: spec.taskId }).length, 1);
      assert.deepEqual((await collectLogs(runtime, spec.id)).map((l) => l.message), ["once"]);
    });

    await t.step("an id held by another task is a conflict", async () => {
      const spec = harness.spec(task("held"), 1, { stdout: [] });
      await runtime.start(spec);
      await assert.rejects(
        runtime.start({ ...spec, taskId: task("other") }),
        WorkerConflictError,
      );
      await waitForEnd(runtime, spec.id);
    });

    await t.step("a failing worker is failed with its exit code", async () => {
      const spec = harness.spec(task("fail"), 1, { stdout: ["about to fail"], exitCode: 3 });
      await runtime.start(spec);
      const end = await waitForEnd(runtime, spec.id);
      assert.equal(end.phase, "failed");
      assert.equal(end.exitCode, 3);
      assert.equal(end.reason, "Error");
      assert.match(end.message ?? "", /code 3/);
      assert.deepEqual((await collectLogs(runtime, spec.id)).map((l) => l.message), [
        "about to fail",
      ]);
    });

    await t.step("watch sees pending or running, then the end, in order", async () => {
      const seen: string[] = [];
      const spec = harness.spec(task("watch"), 1, { stdout: ["x"], sleepSeconds: 0.5 });
      const unwatch = runtime.watch((s) => {
        if (s.id === spec.id) seen.push(s.phase);
      });
      try {
        await runtime.start(spec);
        await waitForEnd(runtime, spec.id);
      } finally {
        unwatch();
      }
      assert.equal(seen.at(-1), "succeeded");
      const order = ["pending", "running", "succeeded"];
      const ranks = seen.map((p) => order.indexOf(p));
      assert.deepEqual(ranks, [...ranks].sort(), `phases in order: ${seen.join(" → ")}`);
      assert.ok(seen.includes("running"), "running was reported");
    });

    await t.step("following a worker's log ends after its last line", async () => {
      const spec = harness.spec(task("follow"), 1, {
        stdout: ["first"],
        sleepSeconds: 1,
        stdoutAfterSleep: ["second", "third"],
      });
      await runtime.start(spec);
      await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
      const lines = await collectLogs(runtime, spec.id, { follow: true });
      assert.deepEqual(lines.map((l) => l.message), ["first", "second", "third"]);
      assertNumbered(lines);
      const resumed = await collectLogs(runtime, spec.id, { after: 1, follow: true });
      assert.deepEqual(resumed.map((l) => [l.sequence, l.message]), [[2, "second"], [3, "third"]]);
    });

    await t.step("logs of an unknown worker are refused", () => {
      assert.throws(() => runtime.logs(`unknown-${suffix}`), WorkerNotFoundError);
    });

    await t.step("stop ends a running worker as Stopped; stop is safe to repeat", async () => {
      const spec = harness.spec(task("stop"), 1, { stdout: ["working"], sleepSeconds: 60 });
      await runtime.start(spec);
      await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
      await runtime.stop(spec.id);
      const end = runtime.list({ taskId: spec.taskId })[0];
      assert.equal(end.phase, "failed");
      assert.equal(end.reason, "Stopped");
      await runtime.stop(spec.id);
      await runtime.stop(`never-started-${suffix}`);
      assert.equal(runtime.list({ taskId: spec.taskId })[0].reason, "Stopped");
    });

    await t.step("a worker that ignores SIGTERM is killed after the grace period", async () => {
      const spec = harness.spec(task("stubborn"), 1, {
        stdout: ["ignoring TERM"],
        sleepSeconds: 30,
        stdoutAfterSleep: ["survived the stop"],
        ignoreTerm: true,
      });
      await runtime.start(spec);
      // Its first line shows it has set itself up to ignore SIGTERM.
      await firstLine(runtime, spec.id);
      await runtime.stop(spec.id);
      const end = runtime.list({ taskId: spec.taskId })[0];
      assert.equal(end.phase, "failed");
      assert.equal(end.reason, "Stopped");
      const lines = (await collectLogs(runtime, spec.id)).map((l) => l.message);
      assert.deepEqual(lines, ["ignoring TERM"], "it was killed, not left to finish");
    });

    await t.step("a worker past its timeout fails as DeadlineExceeded", async () => {
      const spec = harness.spec(task("slow"), 1, { stdout: ["slow"], sleepSeconds: 60 }, {
        timeoutSeconds: 1,
      });
      await runtime.start(spec);
      const end = await waitForEnd(runtime, spec.id);
      assert.equal(end.phase, "failed");
      assert.equal(end.reason, "DeadlineExceeded");
      assert.match(end.message ?? "", /timed out/);
    });

    await t.step("list filters by task and orders by index", async () => {
      const id = task("list");
      for (const index of [3, 1, 2]) await runtime.start(harness.spec(id, index, { stdout: [] }));
      const listed = runtime.list({ taskId: id });
      assert.deepEqual(listed.map((s) => s.index), [1, 2, 3]);
      assert.ok(listed.every((s) => s.taskId === id));
      await Promise.all(listed.map((s) => waitForEnd(runtime, s.id)));
    });

    await t.step(
      "after a restart: finished reported, running re-adopted, output continues",
      async () => {
        const done = harness.spec(task("restart"), 1, { stdout: ["done"], exitCode: 2 });
        const live = harness.spec(task("restart"), 2, {
          stdout: ["before"],
          sleepSeconds: 2,
          stdoutAfterSleep: ["after"],
        });
        await runtime.start(done);
        await waitForEnd(runtime, done.id);
        await runtime.start(live);
        await waitForStatus(runtime, live.id, (s) => s.phase === "running");
        const before = await firstLine(runtime, live.id);
        assert.equal(before.message, "before");
        await runtime.close();

        runtime = await harness.open();
        const finished = runtime.list({ taskId: done.taskId }).find((s) => s.id === done.id);
        assert.equal(finished?.phase, "failed");
        assert.equal(finished?.exitCode, 2);
        assert.deepEqual((await collectLogs(runtime, done.id)).map((l) => l.message), ["done"]);
        const adopted = runtime.list().find((s) => s.id === live.id);
        assert.ok(adopted, "the running worker is known after the restart");
        const end = await waitForEnd(runtime, live.id);
        assert.equal(end.phase, "succeeded");
        const lines = await collectLogs(runtime, live.id);
        assert.deepEqual(lines.map((l) => l.message), ["before", "after"]);
        assertNumbered(lines);
        assert.equal(await runtime.start(live).then((s) => s.phase), "succeeded", "no duplicate");
      },
    );

    if (harness.killUnseen) {
      await t.step("a worker that died unseen is failed as Lost", async () => {
        const spec = harness.spec(task("lost"), 1, { stdout: ["bye"], sleepSeconds: 60 });
        await runtime.start(spec);
        await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
        await firstLine(runtime, spec.id);
        await runtime.close();
        await harness.killUnseen!(runtime, spec.id);
        runtime = await harness.open();
        const end = await waitForEnd(runtime, spec.id);
        assert.equal(end.phase, "failed");
        assert.equal(end.reason, "Lost");
        assert.match(end.message ?? "", /unseen/);
        assert.deepEqual((await collectLogs(runtime, spec.id)).map((l) => l.message), ["bye"]);
      });
    }
  } finally {
    for (const status of runtime.list()) {
      if (status.taskId.endsWith(suffix)) await runtime.stop(status.id);
    }
    await runtime.close();
  }
}

/** Waits for a worker's first line (following its log). */
async function firstLine(runtime: Runtime, id: string): Promise<LogLine> {
  const controller = new AbortController();
  try {
    for await (const line of runtime.logs(id, { follow: true, signal: controller.signal })) {
      return line;
    }
  } finally {
    controller.abort();
  }
  throw new Error(`worker ${id} ended without printing`);
}
