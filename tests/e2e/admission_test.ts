/**
 * Builds wait for room, end to end on the local runtime: `main.ts serve` with
 * MAX_RUNNING_WORKERS, two tenants, a SIGKILL of Ottoscaler while workers wait, and ScaleDown of
 * waiting workers. The workers themselves record how many of them run at once (a marker file per
 * running worker in a shared directory), so the cap is checked by what really ran.
 */

import assert from "node:assert/strict";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import type { WorkerStatusNotification__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusNotification.ts";
import type { PipelineProgress__Output } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import { cancelPipeline, finalStatuses, workersOf } from "../support/calls.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { startServerProcess } from "../support/server_process.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function scale(
  client: OttoscalerServiceClient,
  method: "ScaleUp" | "ScaleDown",
  req: ScaleRequest,
) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client[method].bind(client), req);
}

/**
 * A worker that marks itself running, records how many run, works a while (2 s times its index,
 * so the workers of a task end one at a time and free one place at a time), and leaves.
 */
function meteredCommand(dir: string): string {
  return [
    `echo "$OTTO_TASK_ID $OTTO_WORKER_ID" >> ${dir}/starts`,
    `touch ${dir}/running/$OTTO_WORKER_ID`,
    `ls ${dir}/running | wc -l >> ${dir}/counts`,
    `sleep $((OTTO_WORKER_INDEX * 2))`,
    `ls ${dir}/running | wc -l >> ${dir}/counts`,
    `rm ${dir}/running/$OTTO_WORKER_ID`,
  ].join("; ");
}

/** Waits (asking every 200 ms) until every worker of `tasks` has ended; their final phases. */
async function untilAllEnded(client: OttoscalerServiceClient, tasks: string[]) {
  for (;;) {
    const all = (await Promise.all(tasks.map((t) => workersOf(client, t)))).flatMap((r) =>
      r.workers
    );
    if (all.every((w) => w.status === "succeeded" || w.status === "failed")) return all;
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test("admission on the local runtime: cap 3, two tenants, a SIGKILL, ScaleDown of waiting", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ottoscaler-admission-" });
  await Deno.mkdir(`${dir}/running`);
  const env = { MAX_RUNNING_WORKERS: "3" };
  let server = await startServerProcess({ env });
  let client = connect(server.address);
  try {
    await t.step("8 workers of two tenants: at most 3 at once, fair turns, all once", async () => {
      const command = meteredCommand(dir);
      const a = await scale(client, "ScaleUp", {
        task_id: "adm-a",
        worker_count: 4,
        build_config: { command },
        metadata: { tenant: "alpha" },
      });
      const b = await scale(client, "ScaleUp", {
        task_id: "adm-b",
        worker_count: 4,
        build_config: { command },
        triggered_by: "beta",
      });
      assert.equal(a.status, "SUCCESS", a.message);
      assert.equal(b.status, "SUCCESS", b.message);
      // Accepted, named and reported: the waiting ones are pending and say where they stand.
      const waiting = [
        ...(await workersOf(client, "adm-a")).workers,
        ...(await workersOf(client, "adm-b")).workers,
      ].filter((w) => w.error_message.startsWith("Queued"));
      assert.equal(waiting.length, 5, `5 wait at first: ${JSON.stringify(waiting)}`);
      for (const w of waiting) {
        assert.equal(w.status, "pending");
        assert.match(w.error_message, /^Queued: position \d+, held by MAX_RUNNING_WORKERS \(3/);
      }
      const place = (name: string) =>
        Number(
          waiting.find((w) => w.pod_name === name)!.error_message.match(/position (\d+)/)![1],
        );
      // Alpha has had its turn (3 started): beta is next, then alpha's last, then beta's others.
      assert.deepEqual(
        [
          "otto-agent-adm-b-1",
          "otto-agent-adm-a-4",
          "otto-agent-adm-b-2",
          "otto-agent-adm-b-3",
          "otto-agent-adm-b-4",
        ].map(place),
        [1, 2, 3, 4, 5],
      );

      // Ottoscaler dies outright while workers wait; the line is on disk.
      client.close();
      await server.kill();
      server = await startServerProcess({ stateDir: server.stateDir, env });
      client = connect(server.address);

      const all = await untilAllEnded(client, ["adm-a", "adm-b"]);
      assert.equal(all.length, 8);
      assert.ok(all.every((w) => w.status === "succeeded"), JSON.stringify(all));
      const starts = (await Deno.readTextFile(`${dir}/starts`)).trim().split("\n");
      assert.equal(starts.length, 8, `each worker started once: ${starts}`);
      assert.equal(new Set(starts).size, 8);
      const counts = (await Deno.readTextFile(`${dir}/counts`)).trim().split("\n").map(Number);
      assert.ok(Math.max(...counts) <= 3, `never more than 3 at once: ${counts}`);
      // Tenant beta got a turn before tenant alpha had all of its workers started.
      const lastAlpha = starts.findLastIndex((s) => s.startsWith("adm-a "));
      const firstBeta = starts.findIndex((s) => s.startsWith("adm-b "));
      assert.ok(firstBeta < lastAlpha, `beta served before alpha drained: ${starts}`);
    });

    await t.step("ScaleDown removes waiting workers without starting them", async () => {
      const events = readUntil<WorkerStatusNotification__Output>(
        client.WatchWorkerEvents({ task_id: "adm-c" }),
        (seen) => seen.filter((e) => e.status === "TERMINATED").length === 5,
      );
      const command = `echo "$OTTO_WORKER_ID" >> ${dir}/c-starts; sleep 30`;
      const up = await scale(client, "ScaleUp", {
        task_id: "adm-c",
        worker_count: 5,
        build_config: { command },
      });
      assert.equal(up.status, "SUCCESS", up.message);
      const down = await scale(client, "ScaleDown", { task_id: "adm-c", worker_count: 3 });
      assert.deepEqual(down.worker_pod_names, [
        "otto-agent-adm-c-5",
        "otto-agent-adm-c-4",
      ]);
      const after = (await workersOf(client, "adm-c")).workers;
      for (const index of [4, 5]) {
        const w = after.find((x) => x.pod_name === `otto-agent-adm-c-${index}`)!;
        assert.equal(w.status, "failed");
        assert.match(w.error_message, /^Stopped/);
      }
      await scale(client, "ScaleDown", { task_id: "adm-c", worker_count: 0 });
      const seen = await events;
      const ended = seen.filter((e) => e.status === "TERMINATED").map((e) => e.worker_id).sort();
      assert.equal(ended.length, 5);
      const started = (await Deno.readTextFile(`${dir}/c-starts`)).trim().split("\n").sort();
      assert.deepEqual(started, ["otto-agent-adm-c-1", "otto-agent-adm-c-2", "otto-agent-adm-c-3"]);
      assert.ok(
        (await untilAllEnded(client, ["adm-c"])).every((w) => w.status === "failed"),
        "every worker of the task stopped",
      );
      // Stopped while waiting survives a restart (SIGKILL: no shutdown at all).
      client.close();
      await server.kill();
      server = await startServerProcess({ stateDir: server.stateDir, env });
      client = connect(server.address);
      const again = (await workersOf(client, "adm-c")).workers;
      assert.equal(again.length, 5);
      assert.match(again.find((w) => w.pod_name.endsWith("-5"))!.error_message, /^Stopped/);
    });

    await t.step(
      "two pipelines whose stages need all their workers at once both finish",
      async () => {
        // Each stage's 3 workers wait for each other (a barrier). One place of 3 is held by a
        // blocker while both pipelines arrive; when it ends, admitting workers one at a time in
        // turns (a1, a2 at once; then b1) would leave both stages waiting for a third forever.
        // Admitted as gangs, one stage runs whole, then the other.
        await Deno.mkdir(`${dir}/barrier`);
        const blocker = await scale(client, "ScaleUp", {
          task_id: "adm-blocker",
          worker_count: 1,
          build_config: { command: `while [ ! -f ${dir}/release ]; do sleep 0.1; done` },
        });
        assert.equal(blocker.status, "SUCCESS", blocker.message);
        const barrier = [
          `touch ${dir}/barrier/$OTTO_PIPELINE_ID-$OTTO_WORKER_INDEX`,
          `touch ${dir}/running/$OTTO_WORKER_ID`,
          `ls ${dir}/running | wc -l >> ${dir}/gang-counts`,
          `while [ "$(ls ${dir}/barrier | grep -c "^$OTTO_PIPELINE_ID-")" -lt 3 ]; do sleep 0.1; done`,
          `rm ${dir}/running/$OTTO_WORKER_ID`,
        ].join("; ");
        const pipeline = (id: string, tenant: string) =>
          readAll<PipelineProgress__Output>(client.ExecutePipeline({
            pipeline_id: id,
            metadata: { tenant },
            stages: [{
              stage_id: "together",
              worker_count: 3,
              command: ["sh", "-c", barrier],
              timeout_seconds: 120,
            }],
          }));
        const runs = Promise.all([pipeline("gang-a", "alpha"), pipeline("gang-b", "beta")]);
        for (;;) {
          const all = (await unaryCall<object, WorkerStatusResponse__Output>(
            client.GetWorkerStatus.bind(client),
            {},
          )).workers.filter((w) => w.pod_name.startsWith("otto-agent-gang-"));
          if (all.length === 6) {
            assert.ok(all.every((w) => w.status === "pending" && /^Queued/.test(w.error_message)));
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        await Deno.writeTextFile(`${dir}/release`, "");
        const [a, b] = await runs;
        assert.deepEqual(finalStatuses(a), { together: "STAGE_COMPLETED" });
        assert.deepEqual(finalStatuses(b), { together: "STAGE_COMPLETED" });
        const counts = (await Deno.readTextFile(`${dir}/gang-counts`)).trim().split("\n").map(
          Number,
        );
        assert.ok(Math.max(...counts) <= 3, `never more than 3 at once: ${counts}`);
      },
    );

    await t.step(
      "waiting stages: the CLI shows the line, CancelPipeline removes one unstarted, a stage's timeout runs from admission",
      async () => {
        const hold = `while [ ! -f ${dir}/release-hold ]; do sleep 0.1; done`;
        const held = await scale(client, "ScaleUp", {
          task_id: "adm-hold",
          worker_count: 4,
          build_config: { command: hold },
        });
        assert.equal(held.status, "SUCCESS", held.message);
        const cli = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-all",
            MAIN,
            "status",
            "--task",
            "adm-hold",
            "--server",
            server.address,
          ],
          stdin: "null",
        }).output();
        const text = new TextDecoder().decode(cli.stdout);
        assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
        assert.match(
          text,
          /otto-agent-adm-hold-4 +adm-hold +pending .*Queued: position 1, held by MAX_RUNNING_WORKERS \(3, 3 running\)/,
        );
        const pipeline = (id: string, workers: number, command: string, timeout: number) =>
          readAll<PipelineProgress__Output>(client.ExecutePipeline({
            pipeline_id: id,
            stages: [{
              stage_id: "s",
              worker_count: workers,
              command: ["sh", "-c", command],
              timeout_seconds: timeout,
            }],
          }));
        const late = pipeline("adm-late", 1, "echo ran", 2);
        const doomed = pipeline("adm-doomed", 2, `echo "$OTTO_WORKER_ID" >> ${dir}/doomed`, 0);
        const ofPipelines = async () =>
          (await unaryCall<object, WorkerStatusResponse__Output>(
            client.GetWorkerStatus.bind(client),
            {},
          )).workers.filter((w) => /^otto-agent-adm-(late|doomed)-/.test(w.pod_name));
        for (;;) {
          const waiting = await ofPipelines();
          if (waiting.length === 3) {
            assert.ok(
              waiting.every((w) => w.status === "pending" && /^Queued/.test(w.error_message)),
            );
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal((await cancelPipeline(client, "adm-doomed")).cancelled, true);
        assert.deepEqual(finalStatuses(await doomed), { s: "STAGE_CANCELLED" });
        const stopped = (await ofPipelines()).filter((w) => w.pod_name.includes("-doomed-"));
        assert.deepEqual(stopped.map((w) => w.status), ["failed", "failed"]);
        for (const w of stopped) assert.match(w.error_message, /^Stopped/);
        // The late stage waits longer than its own timeout (2 s), then runs: no timeout, as its
        // timeout starts when it is admitted.
        await new Promise((r) => setTimeout(r, 3000));
        await Deno.writeTextFile(`${dir}/release-hold`, "");
        assert.deepEqual(finalStatuses(await late), { s: "STAGE_COMPLETED" });
        await Deno.stat(`${dir}/doomed`).then(
          () => assert.fail("a cancelled waiting stage must never have started"),
          (err) => assert.ok(err instanceof Deno.errors.NotFound),
        );
        await untilAllEnded(client, ["adm-hold"]);
      },
    );
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
