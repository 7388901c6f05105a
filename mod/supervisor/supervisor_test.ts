import assert from "node:assert/strict";
import { silentLogger } from "../telemetry/logger.ts";
import { supervise } from "./supervisor.ts";

/** Runs `script` under the supervisor; resolves with its exit code and how many times it ran. */
async function run(script: string, maxRestarts = 2) {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-supervisor-" });
  try {
    const starts: number[] = [];
    const code = await supervise({
      command: ["sh", "-c", `echo run >> ${dir}/runs; ${script}`],
      logger: silentLogger,
      maxRestarts,
      onStart: (pid) => starts.push(pid),
    });
    const runs = (await Deno.readTextFile(`${dir}/runs`)).trim().split("\n").length;
    assert.equal(runs, starts.length);
    return { code, runs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("supervisor: an abnormal exit starts the child again; a crash loop gives up", async () => {
  // Dies by SIGABRT the first two times, then exits cleanly.
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-supervisor-" });
  try {
    const flaky = `n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/n; ` +
      `[ $n -ge 2 ] && exit 0; kill -ABRT $$`;
    assert.deepEqual(await run(flaky, 5), { code: 0, runs: 3 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Always dying: started 1 + maxRestarts times, then the supervisor exits with its code.
  assert.deepEqual(await run("exit 3", 2), { code: 3, runs: 3 });
});

Deno.test("supervisor: a clean exit and a configuration error are final", async () => {
  assert.deepEqual(await run("exit 0"), { code: 0, runs: 1 });
  assert.deepEqual(await run("exit 2"), { code: 2, runs: 1 });
});

Deno.test("supervisor: a child that aborts while stopping is a clean stop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-supervisor-" });
  try {
    // On SIGTERM the child aborts, as serve can inside nghttp2 while it sends its GOAWAYs.
    const script = `trap 'kill -ABRT $$' TERM; touch ${dir}/ready; while :; do sleep 0.1; done`;
    const done = supervise({ command: ["sh", "-c", script], logger: silentLogger });
    for (let i = 0; i < 200; i++) {
      if (await Deno.stat(`${dir}/ready`).then(() => true, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    Deno.kill(Deno.pid, "SIGTERM"); // the supervisor passes it on
    assert.equal(await done, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
