// Retention on the local runtime in push mode, against a grpc-js handler on Node.js: a worker that
// has ended is kept until otto-handler acknowledged its last line (its output on disk is the
// buffer), then removed STATE_RETENTION_SECONDS later with its entry in delivery.json; a finished
// pipeline's file goes the same way.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadContract, readAll, startOttoscaler, unary, waitFor } from "./support.mjs";

const v1 = loadContract();

/**
 * A handler that acknowledges every line and status at once, except the lines of the workers in
 * `held`, which it receives but does not acknowledge until `release(worker)`.
 */
function startHandler(held) {
  const server = new grpc.Server();
  const received = new Map(); // workerId -> highest sequence received
  const waiting = new Map(); // workerId -> calls to acknowledge once released
  server.addService(v1.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call) {
      call.on("data", (entry) => {
        const worker = entry.workerId;
        const sequence = Number(entry.sequence);
        received.set(worker, Math.max(received.get(worker) ?? 0, sequence));
        if (held.has(worker)) {
          if (!waiting.has(worker)) waiting.set(worker, new Set());
          waiting.get(worker).add(call);
          return;
        }
        call.write({ status: "ACK", sequence: String(sequence) });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(_call, callback) {
      callback(null, { status: "RECEIVED", message: "" });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, port) => {
        if (err) return reject(err);
        resolve({
          port,
          received,
          release(worker) {
            held.delete(worker);
            for (const call of waiting.get(worker) ?? []) {
              if (!call.cancelled && !call.destroyed) {
                call.write({
                  status: "ACK",
                  sequence: String(received.get(worker)),
                });
              }
            }
          },
          stop: () => server.forceShutdown(),
        });
      },
    );
  });
}

/** Waits until the async `condition()` holds; fails with `what` after 60 s (a hang guard). */
async function until(condition, what) {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readDelivery = (stateDir) => {
  const path = join(stateDir, "delivery.json");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
};

describe("retention on the local runtime (push mode)", () => {
  it(
    "removes a worker, its delivery progress and a finished pipeline only after delivery",
    {
      timeout: 120_000,
    },
    async () => {
      const held = "otto-agent-ret-held-1";
      const quick = "otto-agent-ret-quick-1";
      const handler = await startHandler(new Set([held]));
      const ottoscaler = await startOttoscaler({
        env: {
          OTTO_HANDLER_HOST: `127.0.0.1:${handler.port}`,
          STATE_RETENTION_SECONDS: "1",
        },
      });
      const client = new v1.OttoscalerService(
        ottoscaler.address,
        grpc.credentials.createInsecure(),
      );
      const workersDir = join(ottoscaler.stateDir, "workers");
      const ids = async () =>
        (await unary(client, "GetWorkerStatus", {})).workers.map((w) => w.podName).sort();
      try {
        await unary(client, "ScaleUp", {
          taskId: "ret-held",
          workerCount: 1,
          buildConfig: { command: "for i in 1 2 3; do echo held $i; done" },
        });
        await waitFor(
          () => handler.received.get(held) === 3,
          () => "held worker's 3 lines",
        );
        await until(async () => {
          const { workers } = await unary(client, "GetWorkerStatus", {
            taskId: "ret-held",
          });
          return workers[0]?.status === "succeeded";
        }, "held worker ended");

        // Started after the held worker ended, so once it is removed the held one is past its
        // retention as well: it is still there only because its lines were not acknowledged.
        const progress = await readAll(client.ExecutePipeline({
          pipelineId: "ret-pipe",
          stages: [{
            stageId: "only",
            workerCount: 1,
            command: ["sh", "-c", "echo piped"],
          }],
        }));
        assert.equal(progress.at(-1).status, "STAGE_COMPLETED");
        await unary(client, "ScaleUp", {
          taskId: "ret-quick",
          workerCount: 1,
          buildConfig: { command: "echo quick" },
        });
        const pipelineFile = join(
          ottoscaler.stateDir,
          "pipelines",
          "ret-pipe.json",
        );
        await until(
          async () =>
            !(await ids()).includes(quick) &&
            !existsSync(join(workersDir, quick)),
          "the delivered worker removed",
        );
        await waitFor(
          () => !existsSync(pipelineFile),
          () => "the pipeline's file removed",
        );
        await waitFor(
          () => !(quick in readDelivery(ottoscaler.stateDir)),
          () => "the delivered worker's progress forgotten",
        );
        assert.deepEqual(await ids(), [held]);
        assert.deepEqual(readdirSync(workersDir), [held]);
        assert.ok(existsSync(join(workersDir, held, "log.jsonl")));
        assert.equal(
          readDelivery(ottoscaler.stateDir)[held]?.complete,
          undefined,
        );

        // Acknowledged: now it goes, with its delivery progress.
        handler.release(held);
        await until(
          async () => (await ids()).length === 0,
          "the held worker removed",
        );
        await waitFor(
          () =>
            readdirSync(workersDir).length === 0 &&
            !(held in readDelivery(ottoscaler.stateDir)),
          () =>
            `left: ${readdirSync(workersDir)}; ${
              JSON.stringify(readDelivery(ottoscaler.stateDir))
            }`,
        );
      } catch (err) {
        err.message += `\nOttoscaler's log:\n${ottoscaler.logs().slice(-4000)}`;
        throw err;
      } finally {
        client.close();
        handler.stop();
        await ottoscaler.stop();
      }
    },
  );
});
