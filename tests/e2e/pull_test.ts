/**
 * Pull mode at scale over real gRPC: many subscribers at once, and a slow one that slows neither
 * the worker nor the other subscribers, and still gets every line.
 */

import assert from "node:assert/strict";
import type * as grpc from "@grpc/grpc-js";
import { connect, unaryCall } from "../../mod/cli/client.ts";
import type { ScaleRequest } from "../../proto/generated/ottoscaler/v1/ScaleRequest.ts";
import type { ScaleResponse__Output } from "../../proto/generated/ottoscaler/v1/ScaleResponse.ts";
import type { WorkerLogEntry__Output } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import type { WorkerStatusNotification__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusNotification.ts";
import type { WorkerStatusRequest } from "../../proto/generated/ottoscaler/v1/WorkerStatusRequest.ts";
import type { WorkerStatusResponse__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusResponse.ts";
import { readAll } from "../support/grpc.ts";
import { startServerProcess } from "../support/server_process.ts";

const LINES = 20_000;
const SUBSCRIBERS = 16;

Deno.test("pull mode: many subscribers, and a slow one that holds nobody back", async () => {
  const server = await startServerProcess();
  const client = connect(server.address);
  try {
    // The slow subscriber starts first and stops reading almost at once.
    const slow = client.WatchWorkerLogs({ task_id: "fan", follow: true });
    const slowItems: WorkerLogEntry__Output[] = [];
    const slowDone = new Promise<void>((resolve, reject) => {
      slow.on("data", (entry: WorkerLogEntry__Output) => {
        slowItems.push(entry);
        if (slowItems.length === 10) slow.pause();
      });
      slow.on("end", () => resolve());
      slow.on("error", reject);
    });
    const fast = Array.from(
      { length: SUBSCRIBERS },
      () =>
        readAll<WorkerLogEntry__Output>(client.WatchWorkerLogs({ task_id: "fan", follow: true })),
    );
    const events = Array.from({ length: SUBSCRIBERS }, () => {
      const stream = client.WatchWorkerEvents({ task_id: "fan" });
      const got: WorkerStatusNotification__Output[] = [];
      return new Promise<string[]>((resolve, reject) => {
        stream.on("data", (event: WorkerStatusNotification__Output) => {
          got.push(event);
          if (event.status === "COMPLETED") {
            stream.cancel();
            resolve(got.map((e) => e.status));
          }
        });
        stream.on("error", (err: grpc.ServiceError) => err.code === 1 ? undefined : reject(err));
      });
    });

    const up = await unaryCall<ScaleRequest, ScaleResponse__Output>(client.ScaleUp.bind(client), {
      task_id: "fan",
      worker_count: 1,
      build_config: { command: `seq 1 ${LINES}` },
    });
    assert.equal(up.status, "SUCCESS");

    for (const lines of await Promise.all(fast)) {
      assert.equal(lines.length, LINES);
      assert.ok(lines.every((l, i) => Number(l.sequence) === i + 1 && l.message === String(i + 1)));
    }
    for (const statuses of await Promise.all(events)) {
      assert.deepEqual(statuses, ["CREATED", "RUNNING", "COMPLETED"]);
    }
    // Every fast subscriber finished and the worker ended while the slow one was still paused.
    const status = await unaryCall<WorkerStatusRequest, WorkerStatusResponse__Output>(
      client.GetWorkerStatus.bind(client),
      { task_id: "fan" },
    );
    assert.equal(status.workers[0].status, "succeeded");
    assert.ok(slowItems.length < LINES, `the slow subscriber is behind (${slowItems.length})`);

    slow.resume();
    await slowDone;
    assert.equal(slowItems.length, LINES, "the slow subscriber catches up from the worker's log");
    assert.ok(slowItems.every((l, i) => Number(l.sequence) === i + 1));
  } finally {
    client.close();
    await server.stop();
    await Deno.remove(server.stateDir, { recursive: true }).catch(() => {});
  }
});
