import assert from "node:assert/strict";
import { type Behaviour, runConformance } from "../../../tests/support/conformance.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import type { WorkerSpec } from "../types.ts";
import { LocalRuntime } from "./runtime.ts";
import { signalGroup } from "./process.ts";
import { waitForEnd, waitForStatus } from "../../../tests/support/conformance.ts";

/** Quotes a string for sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The shell script that behaves as described. */
function script(b: Behaviour): string {
  const parts: string[] = [];
  if (b.ignoreTerm) parts.push("trap '' TERM");
  for (const line of b.stdout ?? []) parts.push(`printf '%s\\n' ${shQuote(line)}`);
  for (const line of b.stderr ?? []) parts.push(`printf '%s\\n' ${shQuote(line)} >&2`);
  if (b.sleepSeconds) parts.push(`sleep ${b.sleepSeconds}`);
  for (const line of b.stdoutAfterSleep ?? []) parts.push(`printf '%s\\n' ${shQuote(line)}`);
  parts.push(`exit ${b.exitCode ?? 0}`);
  return parts.join("\n");
}

function localSpec(
  taskId: string,
  index: number,
  b: Behaviour,
  options: { timeoutSeconds?: number } = {},
): WorkerSpec {
  return {
    id: `otto-agent-${taskId}-${index}`,
    taskId,
    index,
    image: "busybox:latest",
    command: script(b),
    env: { OTTO_TASK_ID: taskId },
    labels: {},
    timeoutSeconds: options.timeoutSeconds ?? 0,
  };
}

Deno.test("local runtime passes the conformance suite", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  try {
    await runConformance(t, {
      open: () => LocalRuntime.open({ stateDir, logger: silentLogger, stopGraceMs: 1000 }),
      spec: localSpec,
      killUnseen: async (_runtime, id) => {
        const pid = Number(await Deno.readTextFile(`${stateDir}/workers/${id}/pid`));
        signalGroup(pid, "SIGKILL");
        // Wait until the group is gone so the reopened runtime sees it dead.
        for (let i = 0; i < 200 && signalGroup(pid, 0 as unknown as Deno.Signal); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
      },
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime: workers get their environment, a clean one, and their own directory", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
  try {
    Deno.env.set("OTTOSCALER_TEST_SECRET", "must-not-leak");
    const spec: WorkerSpec = {
      ...localSpec("env", 1, {}),
      command: 'echo "$GREETING|$OTTO_TASK_ID|${OTTOSCALER_TEST_SECRET:-unset}|$(pwd)"',
      env: { GREETING: "hello world", OTTO_TASK_ID: "env" },
    };
    await runtime.start(spec);
    await waitForEnd(runtime, spec.id);
    const lines = [];
    for await (const line of runtime.logs(spec.id)) lines.push(line.message);
    assert.deepEqual(lines, [`hello world|env|unset|${stateDir}/workers/${spec.id}/work`]);
  } finally {
    Deno.env.delete("OTTOSCALER_TEST_SECRET");
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime: a second Ottoscaler cannot open a state directory in use", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
  try {
    // The lock names our own pid, which a second open in this process accepts; fake another owner.
    await Deno.writeTextFile(`${stateDir}/owner.json`, JSON.stringify({ pid: 1 }));
    await assert.rejects(
      LocalRuntime.open({ stateDir, logger: silentLogger }),
      /in use by another Ottoscaler \(pid 1\)/,
    );
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime: hard output loses nothing", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger, maxLineBytes: 1024 });
  const run = async (name: string, command: string) => {
    const spec = { ...localSpec(name, 1, {}), command };
    await runtime.start(spec);
    const end = await waitForEnd(runtime, spec.id);
    const lines = [];
    for await (const line of runtime.logs(spec.id)) lines.push(line);
    return { end, lines };
  };
  try {
    await t.step("a worker that prints nothing and exits at once", async () => {
      const { end, lines } = await run("silent", "exit 0");
      assert.equal(end.phase, "succeeded");
      assert.deepEqual(lines, []);
    });

    await t.step("a line longer than the limit is split, not dropped", async () => {
      const { lines } = await run("long", "head -c 2500 /dev/zero | tr '\\0' x; echo; echo after");
      assert.deepEqual(lines.map((l) => l.message.length), [1024, 1024, 452, 5]);
      assert.equal(lines.map((l) => l.message).slice(0, 3).join(""), "x".repeat(2500));
      assert.deepEqual(lines.map((l) => l.sequence), [1, 2, 3, 4]);
    });

    await t.step("bytes that are not UTF-8 are made valid", async () => {
      const { lines } = await run("binary", "printf 'ok \\377\\376 end\\n'");
      assert.equal(lines[0].message, "ok \ufffd\ufffd end");
    });

    await t.step("a last line without a newline is kept", async () => {
      const { lines } = await run("tail", "printf 'one\\ntwo'");
      assert.deepEqual(lines.map((l) => l.message), ["one", "two"]);
    });

    await t.step("a million lines arrive complete and in order", async () => {
      const { lines } = await run("many", "seq 1 1000000");
      assert.equal(lines.length, 1_000_000);
      assert.ok(lines.every((l, i) => l.message === String(i + 1) && l.sequence === i + 1));
    });
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime: a relative state directory works (workers run elsewhere)", async () => {
  const parent = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const cwd = Deno.cwd();
  Deno.chdir(parent);
  const runtime = await LocalRuntime.open({ stateDir: "relative/state", logger: silentLogger });
  try {
    const spec = { ...localSpec("rel", 1, { stdout: ["fine"] }) };
    await runtime.start(spec);
    const end = await waitForEnd(runtime, spec.id);
    assert.equal(end.phase, "succeeded", JSON.stringify(end));
    const lines = [];
    for await (const line of runtime.logs(spec.id)) lines.push(line.message);
    assert.deepEqual(lines, ["fine"]);
  } finally {
    await runtime.close();
    Deno.chdir(cwd);
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("local runtime: a worker that ends while Ottoscaler is down is reported with its exit code", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const fifo = `${stateDir}/go`;
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  let runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
  try {
    // Blocks until the test writes to the FIFO, so it ends exactly while the runtime is closed.
    const spec = { ...localSpec("down", 1, {}), command: `read x < ${fifo}; echo "$x"; exit 3` };
    await runtime.start(spec);
    await waitForStatus(runtime, spec.id, (s) => s.phase === "running");
    await runtime.close();

    await Deno.writeTextFile(fifo, "ended unseen\n");
    const exitFile = `${stateDir}/workers/${spec.id}/exit`;
    // The wrapper records the code by itself; wait for it (and for the wrapper to be gone).
    while (!(await Deno.readTextFile(exitFile).catch(() => "")).endsWith("\n")) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const pid = Number(await Deno.readTextFile(`${stateDir}/workers/${spec.id}/pid`));
    while (signalGroup(pid, 0 as unknown as Deno.Signal)) {
      await new Promise((r) => setTimeout(r, 10));
    }

    runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
    const end = await waitForEnd(runtime, spec.id);
    assert.equal(end.phase, "failed");
    assert.equal(end.exitCode, 3);
    assert.equal(end.reason, "Error");
    const lines = [];
    for await (const line of runtime.logs(spec.id)) lines.push(line.message);
    assert.deepEqual(lines, ["ended unseen"]);
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("local runtime: many workers started at once all start (a few at a time), each once", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "ottoscaler-local-" });
  const runtime = await LocalRuntime.open({ stateDir, logger: silentLogger });
  try {
    const specs = Array.from(
      { length: 12 },
      (_, i) => localSpec("many", i + 1, { stdout: ["hi"] }),
    );
    // Each asked twice at once: the second call waits for the same start, queued or not.
    const started = await Promise.all([...specs, ...specs].map((s) => runtime.start(s)));
    assert.deepEqual(started.map((s) => s.id), [...specs, ...specs].map((s) => s.id));
    const ends = await Promise.all(specs.map((s) => waitForEnd(runtime, s.id)));
    assert.ok(ends.every((e) => e.phase === "succeeded"), JSON.stringify(ends));
    assert.equal(runtime.list({ taskId: "many" }).length, 12);
    for (const spec of specs) {
      const pid = await Deno.readTextFile(`${stateDir}/workers/${spec.id}/pid`);
      assert.match(pid, /^\d+\n$/, "one wrapper, one pid");
    }
  } finally {
    await runtime.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
