import assert from "node:assert/strict";
import {
  collectLogs,
  runConformance,
  waitForEnd,
  waitForStatus,
} from "../../tests/support/conformance.ts";
import { watchEvents } from "../events/watch.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { LocalRuntime } from "../worker/local/runtime.ts";
import { signalGroup } from "../worker/local/process.ts";
import { QuotaRefusedError, type Runtime, type WorkerSpec } from "../worker/types.ts";
import { type AdmissionOptions, AdmittingRuntime } from "./runtime.ts";
import { FileAdmissionStore } from "./store.ts";
import { NotLeaderError } from "../kube/leader.ts";

function spec(taskId: string, index: number, command: string, tenant = "t"): WorkerSpec {
  return {
    id: `otto-agent-${taskId}-${index}`,
    taskId,
    index,
    image: "busybox:latest",
    command,
    env: {},
    labels: {},
    timeoutSeconds: 0,
    admission: { tenant, priority: 0 },
  };
}

async function open(stateDir: string, options: Partial<AdmissionOptions> = {}) {
  return await AdmittingRuntime.open({
    inner: await LocalRuntime.open({ stateDir, logger: silentLogger, stopGraceMs: 1000 }),
    store: new FileAdmissionStore(`${stateDir}/admission.json`),
    logger: silentLogger,
    caps: { maxRunning: 0, maxPerTenant: 0 },
    queueTimeoutMs: 3_600_000,
    ...options,
  });
}

Deno.test("the admission layer over the local runtime passes the conformance suite", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  try {
    await runConformance(t, {
      open: () => open(stateDir, { caps: { maxRunning: 20, maxPerTenant: 0 } }),
      spec: (taskId, index, b, options) => ({
        ...spec(taskId, index, ""),
        timeoutSeconds: options?.timeoutSeconds ?? 0,
        command: [
          b.ignoreTerm ? "trap '' TERM" : "",
          ...(b.stdout ?? []).map((l) => `echo '${l}'`),
          ...(b.stderr ?? []).map((l) => `echo '${l}' >&2`),
          b.sleepSeconds ? `sleep ${b.sleepSeconds}` : "",
          ...(b.stdoutAfterSleep ?? []).map((l) => `echo '${l}'`),
          `exit ${b.exitCode ?? 0}`,
        ].filter(Boolean).join("\n"),
      }),
      killUnseen: async (_runtime, id) => {
        const pid = Number(await Deno.readTextFile(`${stateDir}/workers/${id}/pid`));
        signalGroup(pid, "SIGKILL");
        for (let i = 0; i < 200 && signalGroup(pid, 0 as unknown as Deno.Signal); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
      },
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("admission: gangs, waiting logs, stops, timeouts, never-fits", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  const runtime = await open(stateDir, { caps: { maxRunning: 3, maxPerTenant: 0 } });
  try {
    await t.step("a gang waits whole until there is room for all of it", async () => {
      const holder = spec("hold", 1, "sleep 1");
      const blocker = spec("hold", 2, "sleep 30");
      await runtime.start(holder);
      await runtime.start(blocker);
      const gang = [spec("gang", 1, "echo one"), spec("gang", 2, "echo two")];
      const statuses = await runtime.startTogether(gang);
      // 2 run, 1 free: the gang of 2 waits, both of it.
      assert.deepEqual(statuses.map((s) => s.phase), ["pending", "pending"]);
      assert.match(statuses[0].message ?? "", /^Queued: position 1, held by MAX_RUNNING_WORKERS/);
      const follow = collectLogs(runtime, gang[1].id, { follow: true });
      assert.deepEqual(await collectLogs(runtime, gang[0].id), [], "no lines while waiting");
      await waitForEnd(runtime, holder.id);
      const ends = await Promise.all(gang.map((s) => waitForEnd(runtime, s.id)));
      assert.deepEqual(ends.map((s) => s.phase), ["succeeded", "succeeded"]);
      assert.deepEqual((await follow).map((l) => l.message), ["two"]);
    });

    await t.step("stopping a waiting worker ends it Stopped without starting it", async () => {
      const filler = [spec("fill", 1, "sleep 30"), spec("fill", 2, "sleep 30")];
      for (const s of filler) await runtime.start(s);
      const waiting = spec("stopme", 1, "echo never");
      const abort = new AbortController();
      const events = watchEvents(runtime, { taskId: "stopme" }, abort.signal);
      assert.equal((await runtime.start(waiting)).phase, "pending");
      const seen = waitForEnd(runtime, waiting.id);
      await runtime.stop(waiting.id);
      const end = await seen;
      assert.equal(end.reason, "Stopped");
      assert.match(end.message ?? "", /while waiting/);
      // The events (and so push notifications, made from the same transitions) say so.
      const got: string[] = [];
      for await (const e of events) {
        got.push(`${e.type} ${e.reason}`);
        if (e.type === "TERMINATED") break;
      }
      abort.abort();
      assert.equal(got.length, 2);
      assert.match(
        got[0],
        /^CREATED Queued: position 1, held by MAX_RUNNING_WORKERS \(3, 3 running\)$/,
      );
      assert.equal(got[1], "TERMINATED Stopped: stopped while waiting in line");
      assert.deepEqual(await collectLogs(runtime, waiting.id, { follow: true }), []);
      await Deno.stat(`${stateDir}/workers/${waiting.id}`).then(
        () => assert.fail("a stopped waiting worker must never have been started"),
        (err) => assert.ok(err instanceof Deno.errors.NotFound),
      );
      for (const s of filler) await runtime.stop(s.id);
    });

    await t.step("a gang larger than the cap is refused at once", async () => {
      const big = [1, 2, 3, 4].map((i) => spec("big", i, "true"));
      const statuses = await runtime.startTogether(big);
      assert.ok(statuses.every((s) => s.phase === "failed" && s.reason === "QuotaExceeded"));
      assert.match(
        statuses[0].message ?? "",
        /can never fit: 4 workers .* MAX_RUNNING_WORKERS \(3\)/,
      );
    });
    await runtime.stop("otto-agent-hold-2");
  } finally {
    await runtime.close();
  }

  await t.step("the line survives a restart; a worker waiting too long fails", async () => {
    const caps = { maxRunning: 2, maxPerTenant: 0 };
    const first = await open(stateDir, { caps });
    await first.start(spec("long", 1, "sleep 30"));
    await first.start(spec("long", 2, "sleep 30"));
    const queued = await first.start(spec("late", 1, "echo late"));
    assert.equal(queued.phase, "pending");
    // A gang (a pipeline stage) waits under the same limit.
    const gang = await first.startTogether([
      spec("lategang", 1, "true"),
      spec("lategang", 2, "true"),
    ]);
    assert.deepEqual(gang.map((s) => s.phase), ["pending", "pending"]);
    await first.close();
    const again = await open(stateDir, { caps, queueTimeoutMs: 200 });
    try {
      const late = again.list({ taskId: "late" })[0];
      assert.equal(late?.phase, "pending", "still in line after the restart");
      for (const id of [late.id, "otto-agent-lategang-1", "otto-agent-lategang-2"]) {
        const end = await waitForStatus(again, id, (s) => s.phase === "failed");
        assert.equal(end.reason, "QuotaExceeded");
        assert.match(end.message ?? "", /QUEUE_TIMEOUT_SECONDS/);
      }
      await again.stop("otto-agent-long-1");
      await again.stop("otto-agent-long-2");
    } finally {
      await again.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  });
});

Deno.test("with leader election: a standby neither loads nor acts on the line until it leads", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  const caps = { maxRunning: 1, maxPerTenant: 0 };
  const first = await open(stateDir, { caps });
  await first.start(spec("short", 1, "sleep 1"));
  assert.equal((await first.start(spec("late", 1, "echo late"))).phase, "pending");
  await first.close();
  const saved = await Deno.readTextFile(`${stateDir}/admission.json`);
  let leading = false;
  const standby = await open(stateDir, {
    caps,
    leadership: { isLeader: () => leading, leader: () => leading ? "me" : "the other one" },
  });
  try {
    assert.deepEqual(standby.list({ taskId: "late" }), [], "a standby has not loaded the line");
    await assert.rejects(standby.start(spec("new", 1, "true")), NotLeaderError);
    await assert.rejects(standby.stop("otto-agent-late-1"), NotLeaderError);
    // The running worker ends: room for the waiting one, which a standby must not take.
    await waitForEnd(standby, "otto-agent-short-1");
    await new Promise((r) => setTimeout(r, 300)); // time for a (wrong) admission to show
    assert.equal(await Deno.readTextFile(`${stateDir}/admission.json`), saved, "line unchanged");
    await Deno.stat(`${stateDir}/workers/otto-agent-late-1`).then(
      () => assert.fail("a standby started a waiting worker"),
      (err) => assert.ok(err instanceof Deno.errors.NotFound),
    );
    // It leads: the line is loaded and the waiting worker admitted.
    leading = true;
    await standby.lead();
    const end = await waitForEnd(standby, "otto-agent-late-1");
    assert.equal(end.phase, "succeeded");
    assert.deepEqual((await collectLogs(standby, "otto-agent-late-1")).map((l) => l.message), [
      "late",
    ]);
  } finally {
    await standby.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a start refused for quota goes back in line and starts later; a tenant cap holds only its tenant", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  const inner = await LocalRuntime.open({ stateDir, logger: silentLogger, stopGraceMs: 1000 });
  // The first start of each worker is refused for quota, as the API server refuses a create.
  const refusedOnce = new Set<string>();
  const starts: string[] = [];
  const refusing: Runtime = {
    name: inner.name,
    requiresCommand: inner.requiresCommand,
    start: (spec) => {
      starts.push(spec.id);
      if (refusedOnce.has(spec.id)) return inner.start(spec);
      refusedOnce.add(spec.id);
      return Promise.reject(new QuotaRefusedError(spec.id, "exceeded quota: room"));
    },
    list: (filter) => inner.list(filter),
    watch: (listener) => inner.watch(listener),
    logs: (id, options) => inner.logs(id, options),
    stop: (id) => inner.stop(id),
    close: () => inner.close(),
  };
  const runtime = await open(stateDir, {
    inner: refusing,
    caps: { maxRunning: 0, maxPerTenant: 1 },
    retryMs: 50,
  });
  try {
    await t.step("refused for quota: pending in line, then started", async () => {
      const phases: string[] = [];
      const unwatch = runtime.watch((s) => s.id === "otto-agent-refused-1" && phases.push(s.phase));
      const first = await runtime.start(spec("refused", 1, "echo started"));
      assert.equal(first.phase, "pending", "accepted, waiting (or being started again)");
      const end = await waitForEnd(runtime, first.id);
      unwatch();
      assert.deepEqual(starts, [first.id, first.id], "refused once, then started");
      assert.ok(!phases.includes("failed"), `never failed on the way: ${phases}`);
      assert.equal(end.phase, "succeeded", JSON.stringify(end));
      assert.deepEqual((await collectLogs(runtime, first.id)).map((l) => l.message), ["started"]);
    });

    await t.step("MAX_RUNNING_WORKERS_PER_TENANT: a second of tenant a waits, b runs", async () => {
      const a1 = spec("pta", 1, "sleep 30", "a");
      refusedOnce.add(a1.id);
      await runtime.start(a1);
      await waitForStatus(runtime, a1.id, (s) => s.phase === "running");
      const a2 = spec("pta", 2, "true", "a");
      const b1 = spec("ptb", 1, "true", "b");
      refusedOnce.add(a2.id).add(b1.id);
      const waiting = await runtime.start(a2);
      assert.equal(waiting.phase, "pending");
      assert.equal(
        waiting.message,
        "Queued: position 1, held by MAX_RUNNING_WORKERS_PER_TENANT (1, tenant a runs 1)",
      );
      assert.doesNotMatch((await runtime.start(b1)).message ?? "", /Queued/, "b is not held");
      assert.equal((await waitForEnd(runtime, b1.id)).phase, "succeeded");
      assert.equal(runtime.list({ taskId: "pta" })[1].phase, "pending", "a2 still waits");
      await runtime.stop(a1.id);
      assert.equal((await waitForEnd(runtime, a2.id)).phase, "succeeded");
    });
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("admission: says whether the runtime under it bounds its own starts", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  try {
    const local = await open(stateDir);
    assert.equal(local.boundsStarts, undefined, "the local runtime: the scaler bounds starts");
    await local.close();
    // The Kubernetes runtime's creates adapt to the API server: the scaler must hand it every
    // start of a ScaleUp at once, through the admission layer too.
    const inner = await LocalRuntime.open({ stateDir, logger: silentLogger, stopGraceMs: 1000 });
    const bounding = await open(stateDir, { inner: Object.assign(inner, { boundsStarts: true }) });
    assert.equal(bounding.boundsStarts, true);
    await bounding.close();
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
