import assert from "node:assert/strict";
import { silentLogger } from "../../telemetry/logger.ts";
import type { WorkerSpec } from "../types.ts";
import { processStartTime } from "./process.ts";
import {
  commandEnded,
  exitCodeWritten,
  trackedWorker,
  wakeOnWorkerFile,
  watchWorkerDirs,
} from "./worker_dir.ts";

const spec: WorkerSpec = {
  id: "otto-agent-wd-1",
  taskId: "wd",
  index: 1,
  image: "",
  command: "true",
  env: {},
  labels: {},
  timeoutSeconds: 0,
};

Deno.test("only the worker's own files wake its capture loop; a written exit is noted", () => {
  const worker = trackedWorker(spec, "/nowhere", { phase: "running", createdAt: "" });
  const quiet = ["state.json", "state.json.tmp", "log.jsonl", "spec.json", "pid", "work/a.o", ""];
  for (const file of quiet) wakeOnWorkerFile(worker, file);
  assert.equal(worker.wake.generation, 0, "Ottoscaler's own writes and the working directory");
  wakeOnWorkerFile(worker, "stdout.raw");
  wakeOnWorkerFile(worker, "stderr.raw");
  assert.equal(worker.wake.generation, 2);
  assert.equal(worker.exitFileChanged, false);
  wakeOnWorkerFile(worker, "exit");
  assert.equal(worker.wake.generation, 3);
  assert.equal(worker.exitFileChanged, true);
  wakeOnWorkerFile(undefined, "exit"); // a worker not (or no longer) tracked: nothing to do
});

Deno.test("a command has ended once its exit code is written, before its wrapper is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-wd-" });
  // A live process standing in for the wrapper, which has not exited yet.
  const wrapper = new Deno.Command("sleep", { args: ["600"] }).spawn();
  try {
    const worker = trackedWorker(spec, dir, {
      phase: "running",
      createdAt: "",
      pid: wrapper.pid,
      pidStartTime: processStartTime(wrapper.pid),
    });
    assert.equal(await commandEnded(worker), false, "alive, and no exit file");
    worker.exitFileChanged = true;
    assert.equal(await commandEnded(worker), false, "the watcher's event came before the file");
    await Deno.writeTextFile(`${dir}/exit`, "");
    assert.equal(await commandEnded(worker), false, "created, not yet written");
    assert.equal(await exitCodeWritten(dir), false);
    await Deno.writeTextFile(`${dir}/exit`, "12");
    assert.equal(await exitCodeWritten(dir), false, "a line is whole only with its newline");
    await Deno.writeTextFile(`${dir}/exit`, "12\n");
    assert.equal(await exitCodeWritten(dir), true);
    assert.equal(await commandEnded(worker), true, "written: ended, the wrapper still there");
    worker.exitFileChanged = false;
    assert.equal(
      await commandEnded(worker),
      false,
      "a file the watcher did not report is not read",
    );
    worker.childExited = true;
    assert.equal(await commandEnded(worker), true, "our child's end");
  } finally {
    wrapper.kill("SIGKILL");
    await wrapper.status;
    await Deno.remove(dir, { recursive: true });
  }
  const gone = trackedWorker(spec, dir, {
    phase: "running",
    createdAt: "",
    pid: wrapper.pid,
    pidStartTime: "1",
  });
  assert.equal(await commandEnded(gone), true, "a process that is not (or no longer) the one");
});

Deno.test("the directory watcher reports the worker and the file within its directory", async () => {
  const workersDir = await Deno.makeTempDir({ prefix: "ottoscaler-wd-" });
  await Deno.mkdir(`${workersDir}/otto-agent-w-1/work/src`, { recursive: true });
  const seen: string[] = [];
  const got = Promise.withResolvers<void>();
  const watcher = watchWorkerDirs(workersDir, (id, file) => {
    seen.push(`${id} ${file}`);
    if (file === "exit") got.resolve();
  }, silentLogger);
  assert.ok(watcher, "file watching works on Linux");
  try {
    await Deno.writeTextFile(`${workersDir}/otto-agent-w-1/work/src/a.c`, "int x;\n");
    await Deno.writeTextFile(`${workersDir}/otto-agent-w-1/exit`, "0\n");
    await got.promise;
    assert.ok(seen.includes("otto-agent-w-1 work/src/a.c"), seen.join(", "));
    assert.ok(seen.every((s) => s.startsWith("otto-agent-w-1 ")), seen.join(", "));
  } finally {
    watcher.close();
    await Deno.remove(workersDir, { recursive: true });
  }
});
