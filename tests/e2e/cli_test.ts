/**
 * The CLI as the README's tour uses it: `main.ts <command>` processes against a running server.
 */

import assert from "node:assert/strict";
import { startServerProcess } from "../support/server_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(address: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args, "--server", address],
    stdin: "null",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("the CLI drives a running Ottoscaler", async (t) => {
  const server = await startServerProcess();
  const run = (...args: string[]) => cli(server.address, ...args);
  try {
    await t.step("scale-up, logs --follow, status, events", async () => {
      const up = await run(
        "scale-up",
        "--task",
        "tour",
        "--workers",
        "2",
        "--env",
        "GREETING=hello",
        "--command",
        'echo "$GREETING from $OTTO_WORKER_INDEX"; echo warn >&2',
      );
      assert.equal(up.code, 0, up.stderr);
      assert.match(
        up.stdout,
        /^SUCCESS: created 2 worker\(s\) for task tour\n {2}otto-agent-tour-1\n/,
      );

      const logs = await run("logs", "--task", "tour", "--follow");
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /otto-agent-tour-1 +\d+ \| hello from 1/);
      assert.match(logs.stdout, /otto-agent-tour-2 +\d+ ! \| warn/);

      const status = await run("status", "--task", "tour");
      assert.match(status.stdout, /2 worker\(s\): 0 pending, 0 running, 2 succeeded, 0 failed/);

      const json = JSON.parse((await run("status", "--task", "tour", "--output", "json")).stdout);
      assert.equal(json.succeeded_count, 2);

      const events = await run("events", "--task", "tour");
      assert.equal(events.code, 0, events.stderr);
      const lines = events.stdout.trim().split("\n");
      assert.equal(lines.length, 6);
      assert.match(
        events.stdout,
        /otto-agent-tour-2 {2}COMPLETED {2}Completed: exited with code 0/,
      );
    });

    await t.step(
      "a failing worker shows its exit code; scale-down stops the top index",
      async () => {
        await run("scale-up", "--task", "broken", "--workers", "1", "--command", "exit 2");
        await run("logs", "--task", "broken", "--follow");
        const failed = await run("status", "--task", "broken", "--phase", "failed");
        assert.match(failed.stdout, /Error: exited with code 2/);

        await run("scale-up", "--task", "soak", "--workers", "2", "--command", "sleep 60");
        const down = await run("scale-down", "--task", "soak", "--workers", "1");
        assert.match(down.stdout, /^SUCCESS: stopped 1 worker\(s\).*\n {2}otto-agent-soak-2\n/);
        await run("scale-down", "--task", "soak");
      },
    );

    await t.step("pipeline run, watch and cancel with the example file", async () => {
      const example = new URL("../../examples/pipeline.yaml", import.meta.url).pathname;
      const ran = await run("pipeline", "run", example, "--id", "cli-example");
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /flaky +RETRYING/);
      assert.match(ran.stdout, /deploy +COMPLETED +100% {2}\[deploy\] /);
      assert.match(ran.stdout, /pipeline completed\n$/);

      const watched = await run("pipeline", "watch", "cli-example");
      assert.equal(watched.code, 0);
      assert.equal(watched.stdout.match(/COMPLETED/g)?.length, 4);

      const cancel = await run("pipeline", "cancel", "cli-example");
      assert.match(cancel.stdout, /had already finished/);
      const unknown = await run("pipeline", "watch", "nope");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /NOT_FOUND: Pipeline "nope" not found/);
      const badFile = await run("pipeline", "run", "/no/such.yaml");
      assert.equal(badFile.code, 2);
      assert.match(badFile.stderr, /cannot read "\/no\/such.yaml"/);
    });

    await t.step("pipeline approve and reject an APPROVAL stage", async () => {
      const file = await Deno.makeTempFile({ suffix: ".yaml" });
      await Deno.writeTextFile(
        file,
        [
          "stages:",
          "  - {stage_id: build, type: build, worker_count: 1, command: [echo, built]}",
          "  - {stage_id: gate, type: approval, worker_count: 0, depends_on: [build]}",
          "  - {stage_id: ship, type: DEPLOY, worker_count: 1, command: [true], depends_on: [gate]}",
          "  - {stage_id: tidy, type: cleanup, worker_count: 1, command: [true], depends_on: [ship]}",
        ].join("\n"),
      );
      for (const [id, action] of [["cli-approved", "approve"], ["cli-rejected", "reject"]]) {
        const running = run("pipeline", "run", file, "--id", id);
        let decided;
        do {
          decided = await run(
            "pipeline",
            action,
            id,
            "gate",
            "--approver",
            "ann",
            "--comment",
            "ok",
          );
        } while (decided.code !== 0 && /not waiting for approval|not found/.test(decided.stderr));
        assert.equal(decided.code, 0, decided.stderr);
        const ran = await running;
        assert.match(ran.stdout, /gate +RUNNING .*\[approval\] waiting for approval/);
        if (action === "approve") {
          assert.equal(ran.code, 0, ran.stdout);
          assert.match(ran.stdout, /gate +COMPLETED .*approved by ann: ok/);
        } else {
          assert.equal(ran.code, 1);
          assert.match(ran.stdout, /gate +FAILED .*rejected by ann: ok/);
          assert.match(ran.stdout, /ship +SKIPPED/);
          assert.match(ran.stdout, /tidy +COMPLETED/);
        }
      }
      const again = await run("pipeline", "approve", "cli-approved", "gate");
      assert.equal(again.code, 1);
      assert.match(again.stderr, /FAILED_PRECONDITION: stage "gate" is not waiting/);
      await Deno.remove(file);
    });

    await t.step("mistakes are reported plainly", async () => {
      const noTask = await run("scale-up", "--workers", "1");
      assert.equal(noTask.code, 2);
      assert.match(noTask.stderr, /error: --task is required/);
      const refused = await run("scale-up", "--task", "x", "--workers", "0", "--command", "true");
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /INVALID_ARGUMENT: worker_count: must be an integer from 1/);
      const help = await run("scale-up", "--help");
      assert.match(help.stdout, /^Usage: ottoscaler scale-up/);
    });
  } finally {
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
  }
});
