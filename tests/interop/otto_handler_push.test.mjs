// Push mode against a handler built on otto-handler's own view of the contract
// (otto_handler_view/otto_handler.proto): its WorkerLogEntry has no field 9, so it cannot echo a
// line's sequence and answers each entry with an ACK whose sequence is 0. It is stopped and
// restarted mid-stream. Every line must arrive, delivery must complete (nothing resent once the
// last line is acknowledged), and no acknowledged status may be sent again.
//
// Needs Deno: DENO_BIN (set by `deno task test`), else `deno` on the PATH.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadOttoHandlerView, startOttoscaler, tempDir, unary, waitFor } from "./support.mjs";

const view = loadOttoHandlerView();
// WorkerStatusNotification.StatusType numbers, as otto-handler's generated enum holds them.
const CREATED = 0;
const RUNNING = 1;
const COMPLETED = 2;

/** Starts the handler on `port` (0: any); what it receives goes into `record`. */
function startHandler(record, port = 0) {
  const server = new grpc.Server();
  server.addService(view.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call) {
      call.on("data", (entry) => {
        assert.equal(entry.sequence, undefined, "the handler's proto has no field 9");
        record.entries++;
        if (!record.lines.has(entry.workerId)) record.lines.set(entry.workerId, new Set());
        record.lines.get(entry.workerId).add(entry.message);
        // What a ts-proto handler sends: the defaults, so status ACK and sequence 0.
        call.write({ status: 0, sequence: 0, message: "", throttleMs: 0 });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(call, callback) {
      const { workerId, status } = call.request;
      if (!record.statuses.has(workerId)) record.statuses.set(workerId, []);
      record.statuses.get(workerId).push(status);
      callback(null, { status: 0, message: "" });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) return reject(err);
      resolve({ port: p, stop: () => server.forceShutdown() });
    });
  });
}

const LINES = 300;

/** Whether the delivery store marks every worker complete. */
function deliveryComplete(stateDir, workers) {
  try {
    const saved = JSON.parse(readFileSync(join(stateDir, "delivery.json"), "utf8"));
    return workers.every((w) => saved[w]?.complete === true && saved[w].logsAcked === LINES);
  } catch {
    return false;
  }
}

describe("push delivery to a handler on otto-handler's proto (ACK with sequence 0)", () => {
  it("delivers every line once acknowledged, completes, and never resends a status", {
    timeout: 180_000,
  }, async () => {
    const record = { entries: 0, lines: new Map(), statuses: new Map() };
    let handler = await startHandler(record);
    const port = handler.port;
    const stateDir = tempDir("ottoscaler-seq0-");
    // A window far below the line count: without sequence-0 acknowledgements delivery would stall
    // at the window and resend it after every acknowledgement timeout.
    const ottoscaler = await startOttoscaler({
      stateDir,
      env: {
        OTTO_HANDLER_HOST: `127.0.0.1:${port}`,
        PUSH_WINDOW: "25",
        PUSH_ACK_TIMEOUT_SECONDS: "2",
      },
    });
    const client = new view.OttoscalerService(
      ottoscaler.address,
      grpc.credentials.createInsecure(),
    );
    const workers = ["otto-agent-seq0-1", "otto-agent-seq0-2"];
    try {
      const res = await unary(client, "ScaleUp", {
        taskId: "seq0",
        workerCount: 2,
        buildConfig: {
          command: `i=1; while [ $i -le ${LINES} ]; do echo "n $i"; i=$((i+1)); sleep 0.005; done`,
        },
      });
      assert.equal(res.status, 0, res.message);

      await waitFor(
        () => workers.every((w) => (record.lines.get(w)?.size ?? 0) >= 100),
        () => "first 100 lines",
      );
      handler.stop();
      await new Promise((r) => setTimeout(r, 1000));
      handler = await startHandler(record, port);

      await waitFor(
        () => deliveryComplete(stateDir, workers),
        () => JSON.stringify([...record.lines].map(([w, s]) => [w, s.size])),
        120_000,
      );
      for (const worker of workers) {
        const lines = record.lines.get(worker);
        assert.equal(lines.size, LINES, `${worker}: ${lines.size} of ${LINES} lines`);
        for (let n = 1; n <= LINES; n++) assert.ok(lines.has(`n ${n}`), `${worker}: line ${n}`);
        assert.deepEqual(
          record.statuses.get(worker),
          [CREATED, RUNNING, COMPLETED],
          `${worker}: each status once`,
        );
      }
      // Delivery is complete: nothing more is sent, even after more than an ack timeout.
      const settled = record.entries;
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(record.entries, settled, "nothing resent after the last acknowledgement");
    } finally {
      client.close();
      assert.equal(await ottoscaler.stop(), 0);
      handler.stop();
    }
  });
});
