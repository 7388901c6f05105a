/**
 * End to end over a real gRPC socket: `main.ts serve` in its own process with the local runtime,
 * driven by a grpc-js client, as otto-handler drives it.
 */

import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WatchWorkerLogsRequest } from "../../proto/generated/ottoscaler/v1/WatchWorkerLogsRequest.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { readAll, readUntil } from "../support/grpc.ts";
import { startServerProcess } from "../support/server_process.ts";

function scaleUp(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), req);
}
function scaleDown(client: OttoscalerServiceClient, req: ScaleRequest) {
  return unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleDown.bind(client), req);
}
function status(client: OttoscalerServiceClient, req: WorkerStatusRequest) {
  return unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
    client.GetWorkerStatus.bind(client),
    req,
  );
}

function watchLogs(client: OttoscalerServiceClient, req: WatchWorkerLogsRequest) {
  return readAll<WorkerLogEntry__Output>(client.WatchWorkerLogs(req));
}

function rejectsWith(promise: Promise<unknown>, code: grpc.status, pattern: RegExp) {
  return assert.rejects(promise, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `code ${grpc.status[err.code]}: ${err.details}`);
    assert.match(err.details, pattern);
    return true;
  });
}

const PRINT_THREE = 'for i in 1 2 3; do echo "w$OTTO_WORKER_INDEX line $i"; done; echo oops >&2';

Deno.test("serve end to end over gRPC with the local runtime", async (t) => {
  const server = await startServerProcess();
  let client = connect(server.address);
  try {
    await t.step(
      "ScaleUp starts 3 workers whose lines arrive in order, numbered 1..n",
      async () => {
        const eventsSeen = readUntil(
          client.WatchWorkerEvents({ task_id: "e2e-logs" }),
          (events) => events.filter((e) => e.status === "COMPLETED").length === 3,
        );
        const res = await scaleUp(client, {
          task_id: "e2e-logs",
          worker_count: 3,
          build_config: { command: PRINT_THREE, GREETING: "hi" },
          repository: "https://example.com/repo.git",
          commit_sha: "abc123",
        });
        assert.equal(res.status, "SUCCESS");
        assert.equal(res.processed_count, 3);
        assert.deepEqual(res.worker_pod_names, [
          "otto-agent-e2e-logs-1",
          "otto-agent-e2e-logs-2",
          "otto-agent-e2e-logs-3",
        ]);
        assert.ok(
          !Number.isNaN(Date.parse(res.started_at)) && !Number.isNaN(Date.parse(res.completed_at)),
        );

        const entries = await watchLogs(client, { task_id: "e2e-logs", follow: true });
        for (const index of [1, 2, 3]) {
          const mine = entries.filter((e) => e.worker_id === `otto-agent-e2e-logs-${index}`);
          // Order holds within each source; how stdout and stderr interleave is as captured.
          assert.deepEqual(mine.filter((e) => e.source === "stdout").map((e) => e.message), [
            `w${index} line 1`,
            `w${index} line 2`,
            `w${index} line 3`,
          ]);
          assert.deepEqual(mine.filter((e) => e.source === "stderr").map((e) => e.message), [
            "oops",
          ]);
          assert.deepEqual(mine.map((e) => Number(e.sequence)), [1, 2, 3, 4]);
          assert.equal(mine[0].task_id, "e2e-logs");
          assert.equal(mine[0].pod_metadata?.pod_name, `otto-agent-e2e-logs-${index}`);
          assert.equal(mine[0].pod_metadata?.labels["managed-by"], "ottoscaler");
        }

        const events = await eventsSeen;
        for (const index of [1, 2, 3]) {
          const mine = events.filter((e) => e.worker_id === `otto-agent-e2e-logs-${index}`);
          assert.deepEqual(mine.map((e) => e.status), ["CREATED", "RUNNING", "COMPLETED"]);
        }

        const report = await status(client, { task_id: "e2e-logs" });
        assert.equal(report.total_count, 3);
        // The restarted worker may have finished by now (a loaded machine is slow to restart);
        // the others are reported as they ended.
        const others = report.workers.filter((w) => w.task_id !== "e2e-restart");
        assert.equal(others.filter((w) => w.status === "succeeded").length, 3);
        assert.equal(
          report.succeeded_count,
          3 +
            report.workers.filter((w) => w.task_id === "e2e-restart" && w.status === "succeeded")
              .length,
        );
        assert.ok(report.workers.every((w) => w.status === "succeeded" && w.error_message === ""));
      },
    );

    await t.step("resume_after sends only what the client does not hold", async () => {
      const entries = await watchLogs(client, {
        task_id: "e2e-logs",
        worker_id: "otto-agent-e2e-logs-2",
        resume_after: { "otto-agent-e2e-logs-2": 2 },
      });
      const all = await watchLogs(client, {
        task_id: "e2e-logs",
        worker_id: "otto-agent-e2e-logs-2",
      });
      assert.equal(all.length, 4);
      assert.deepEqual(
        entries.map((e) => [Number(e.sequence), e.message]),
        all.slice(2).map((e) => [Number(e.sequence), e.message]),
      );
    });

    await t.step("a repeated ScaleUp creates nothing and answers ALREADY_PROCESSED", async () => {
      const res = await scaleUp(client, {
        task_id: "e2e-logs",
        worker_count: 3,
        build_config: { command: PRINT_THREE },
      });
      assert.equal(res.status, "ALREADY_PROCESSED");
      assert.equal(res.processed_count, 0);
      assert.equal(res.worker_pod_names.length, 3);
      assert.equal((await status(client, { task_id: "e2e-logs" })).total_count, 3);
    });

    await t.step("a failed worker reports its exit code", async () => {
      await scaleUp(client, {
        task_id: "e2e-fail",
        worker_count: 1,
        build_config: { command: "exit 7" },
      });
      await watchLogs(client, { task_id: "e2e-fail", follow: true });
      const report = await status(client, { task_id: "e2e-fail", status_filter: "failed" });
      assert.equal(report.failed_count, 1);
      assert.match(report.workers[0].error_message, /code 7/);
    });

    await t.step("ScaleDown stops the highest indices first; they end TERMINATED", async () => {
      const subscribed = readUntil(
        client.WatchWorkerEvents({ task_id: "e2e-down" }),
        (events) => events.filter((e) => e.status === "TERMINATED").length === 2,
      );
      const up = await scaleUp(client, {
        task_id: "e2e-down",
        worker_count: 3,
        build_config: { command: "echo started; sleep 60" },
      });
      assert.equal(up.status, "SUCCESS");
      const down = await scaleDown(client, { task_id: "e2e-down", worker_count: 1 });
      assert.equal(down.status, "SUCCESS");
      assert.equal(down.processed_count, 2);
      assert.deepEqual(down.worker_pod_names, ["otto-agent-e2e-down-3", "otto-agent-e2e-down-2"]);
      const events = await subscribed;
      const terminated = events.filter((e) => e.status === "TERMINATED").map((e) => e.worker_id);
      assert.deepEqual(terminated.sort(), ["otto-agent-e2e-down-2", "otto-agent-e2e-down-3"]);
      const running = await status(client, { task_id: "e2e-down", status_filter: "running" });
      assert.deepEqual(running.workers.map((w) => w.pod_name), ["otto-agent-e2e-down-1"]);
      const rest = await scaleDown(client, { task_id: "e2e-down", worker_count: 0 });
      assert.equal(rest.processed_count, 1);
      const unknown = await scaleDown(client, { task_id: "no-such-task", worker_count: 0 });
      assert.equal(unknown.status, "SUCCESS");
      assert.equal(unknown.processed_count, 0);
    });

    await t.step("refused requests name the field and the rule, and create nothing", async () => {
      const bad: [ScaleRequest, RegExp][] = [
        [
          { task_id: "", worker_count: 1, build_config: { command: "true" } },
          /^task_id: must not be empty/,
        ],
        [
          { task_id: "e2e-bad", worker_count: 0, build_config: { command: "true" } },
          /^worker_count: must be an integer from 1 to 100, got 0/,
        ],
        [
          { task_id: "e2e-bad", worker_count: 101, build_config: { command: "true" } },
          /^worker_count: .* got 101/,
        ],
        [
          { task_id: "e2e-bad", worker_count: 1, build_config: { command: "true", "1BAD": "x" } },
          /^build_config\.1BAD: is not a valid environment variable name/,
        ],
        [{
          task_id: "e2e-bad",
          worker_count: 1,
          build_config: { command: "true", OTTO_TASK_ID: "x" },
        }, /^build_config\.OTTO_TASK_ID: is reserved/],
        [{
          task_id: "e2e-bad",
          worker_count: 1,
          build_config: { command: "true", timeout_seconds: "soon" },
        }, /^build_config\.timeout_seconds: must be a whole number/],
        [
          { task_id: "e2e-bad", worker_count: 1, build_config: {} },
          /^build_config\.command: is required by the local runtime/,
        ],
      ];
      for (const [request, message] of bad) {
        await rejectsWith(scaleUp(client, request), grpc.status.INVALID_ARGUMENT, message);
      }
      await rejectsWith(
        scaleDown(client, { task_id: "e2e-bad", worker_count: -1 }),
        grpc.status.INVALID_ARGUMENT,
        /^worker_count: .* got -1/,
      );
      await rejectsWith(
        status(client, { status_filter: "done" }),
        grpc.status.INVALID_ARGUMENT,
        /^status_filter: must be one of pending, running, succeeded, failed/,
      );
      await rejectsWith(
        watchLogs(client, { task_id: "" }),
        grpc.status.INVALID_ARGUMENT,
        /^task_id: must not be empty/,
      );
      assert.equal((await status(client, { task_id: "e2e-bad" })).total_count, 0);
      assert.equal((await status(client, { task_id: "" })).total_count, 3 + 1 + 3);
    });

    await t.step("ExecutePipeline refuses a bad pipeline by stage and rule", async () => {
      const stage = (stage_id: string, depends_on: string[]) => ({
        stage_id,
        worker_count: 1,
        depends_on,
        command: ["sh", "-c", "true"],
      });
      await rejectsWith(
        readAll(client.ExecutePipeline({
          pipeline_id: "p",
          stages: [stage("build", ["deploy"]), stage("deploy", ["build"])],
        })),
        grpc.status.INVALID_ARGUMENT,
        /^stages\[build\]\.depends_on: forms a cycle: build → deploy → build/,
      );
      assert.equal((await status(client, { task_id: "p-build-a1" })).total_count, 0);
    });

    await t.step("after a restart, workers are reported truthfully and logs are kept", async () => {
      await scaleUp(client, {
        task_id: "e2e-restart",
        worker_count: 1,
        build_config: { command: "echo before; sleep 2; echo after" },
      });
      client.close();
      assert.equal(await server.stop(), 0, "SIGTERM shuts down cleanly");
      assert.match(
        server.logs(),
        /"msg":"shutting down","service":"ottoscaler","signal":"SIGTERM"/,
      );

      const again = await startServerProcess({ stateDir: server.stateDir });
      try {
        client = connect(again.address);
        const report = await status(client, {});
        assert.equal(report.total_count, 3 + 1 + 3 + 1, "every worker is still known");
        // The restarted worker may have finished by now (a loaded machine is slow to restart);
        // the others are reported as they ended.
        const others = report.workers.filter((w) => w.task_id !== "e2e-restart");
        assert.equal(others.filter((w) => w.status === "succeeded").length, 3);
        assert.equal(
          report.succeeded_count,
          3 +
            report.workers.filter((w) => w.task_id === "e2e-restart" && w.status === "succeeded")
              .length,
        );
        const lines = await watchLogs(client, { task_id: "e2e-restart", follow: true });
        assert.deepEqual(lines.map((e) => [Number(e.sequence), e.message]), [[1, "before"], [
          2,
          "after",
        ]]);
        const restarted = await status(client, { task_id: "e2e-restart" });
        assert.equal(restarted.workers[0].status, "succeeded");
        const logs = await watchLogs(client, {
          task_id: "e2e-logs",
          worker_id: "otto-agent-e2e-logs-1",
        });
        assert.equal(logs.length, 4, "lines of finished workers survive the restart");
      } finally {
        client.close();
        await again.stop();
      }
    });
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
  }
});
