// Push mode against a handler written as otto-handler writes it: a grpc-js server on Node.js
// serving OttoHandlerLogService. The handler acknowledges, asks for a RETRY, throttles, answers
// ERROR to a status notification, and is stopped and restarted mid-stream; Ottoscaler is itself
// restarted mid-stream. Every line must arrive, in order, duplicates only as the same
// (worker_id, sequence).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadContract, startOttoscaler, tempDir, unary, waitFor } from "./support.mjs";

const v1 = loadContract();

/** What the handler received, kept across its restarts. */
function newRecord() {
  return {
    entries: new Map(), // workerId -> Map(sequence -> message)
    firstSeen: new Map(), // workerId -> sequences in order of first arrival
    statuses: new Map(), // workerId -> statuses in order of first arrival
    retriesAsked: new Set(),
    throttled: 0,
    errorsAnswered: 0,
    duplicates: 0,
  };
}

/**
 * Starts a handler on `port` (0: any). Scripted: for each worker, the first time sequence 30
 * arrives it answers RETRY from 20 (dropping what it got from 20 on); sequence 45 is answered
 * DROP; at sequence 60 it answers with a 300 ms throttle; the first RUNNING notification of each
 * worker is answered ERROR.
 */
function startHandler(record, port = 0, credentials = grpc.ServerCredentials.createInsecure()) {
  const server = new grpc.Server();
  const awaiting = new Map(); // workerId -> the sequence a RETRY asked for
  server.addService(v1.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call) {
      call.on("data", (entry) => {
        const worker = entry.workerId;
        const sequence = Number(entry.sequence);
        if (!record.entries.has(worker)) {
          record.entries.set(worker, new Map());
          record.firstSeen.set(worker, []);
        }
        const held = record.entries.get(worker);
        if (sequence === 30 && !record.retriesAsked.has(worker)) {
          record.retriesAsked.add(worker);
          for (let s = 20; s <= 30; s++) held.delete(s);
          record.firstSeen.set(worker, record.firstSeen.get(worker).filter((s) => s < 20));
          awaiting.set(worker, 20);
          call.write({ status: "RETRY", sequence: "20", message: "resend from 20" });
          return;
        }
        // After asking for a resend, what was already in flight is discarded until it starts.
        if (awaiting.has(worker)) {
          if (sequence !== awaiting.get(worker)) return;
          awaiting.delete(worker);
        }
        if (held.has(sequence)) record.duplicates++;
        else {
          held.set(sequence, entry.message);
          record.firstSeen.get(worker).push(sequence);
        }
        const throttleMs = sequence === 60 ? 300 : 0;
        if (throttleMs) record.throttled++;
        // Sequence 45 is answered DROP: Ottoscaler must take it as done, not resend it or stall.
        const status = sequence === 45 ? "DROP" : "ACK";
        call.write({ status, sequence: String(sequence), throttleMs });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(call, callback) {
      const { workerId, status } = call.request;
      const key = `${workerId}/${status}`;
      if (status === "RUNNING" && !record.retriesAsked.has(key)) {
        record.retriesAsked.add(key);
        record.errorsAnswered++;
        return callback(null, { status: "ERROR", message: "try again" });
      }
      if (!record.statuses.has(workerId)) record.statuses.set(workerId, []);
      const seen = record.statuses.get(workerId);
      if (!seen.includes(status)) seen.push(status);
      callback(null, { status: "RECEIVED", message: "" });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, credentials, (err, bound) => {
      if (err) return reject(err);
      resolve({ port: bound, stop: () => server.forceShutdown() });
    });
  });
}

const LINES = 200;
const slowPrinter = (tag) =>
  `i=1; while [ $i -le ${LINES} ]; do echo "${tag} $i"; i=$((i+1)); sleep 0.01; done`;

/** Checks that every worker's lines 1..LINES arrived complete and in order. */
function assertComplete(record, workers, tag) {
  for (const worker of workers) {
    const held = record.entries.get(worker);
    assert.ok(held, `nothing arrived from ${worker}`);
    assert.equal(held.size, LINES, `${worker}: ${held.size} of ${LINES} lines`);
    for (let s = 1; s <= LINES; s++) assert.equal(held.get(s), `${tag} ${s}`);
    const order = record.firstSeen.get(worker);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `${worker}: lines arrived in order`);
    assert.deepEqual(record.statuses.get(worker), ["CREATED", "RUNNING", "COMPLETED"]);
  }
}

const delivered = (record, workers) => () =>
  workers.every((w) =>
    record.entries.get(w)?.size === LINES && record.statuses.get(w)?.includes("COMPLETED")
  );

describe("push delivery to a grpc-js handler on Node.js", () => {
  it("delivers every line and status through RETRY, throttling, ERROR and a handler restart", {
    timeout: 120_000,
  }, async () => {
    const record = newRecord();
    let handler = await startHandler(record);
    const port = handler.port;
    const ottoscaler = await startOttoscaler({ env: { OTTO_HANDLER_HOST: `127.0.0.1:${port}` } });
    const client = new v1.OttoscalerService(ottoscaler.address, grpc.credentials.createInsecure());
    try {
      const workers = ["otto-agent-push-1-1", "otto-agent-push-1-2"];
      const res = await unary(client, "ScaleUp", {
        taskId: "push-1",
        workerCount: 2,
        buildConfig: { command: slowPrinter("line") },
      });
      assert.equal(res.status, "SUCCESS");

      // Stop the handler mid-stream, keep it down for a while, bring it back on the same port.
      await waitFor(
        () => workers.every((w) => (record.entries.get(w)?.size ?? 0) >= 70),
        () => "first 70 lines",
      );
      handler.stop();
      await new Promise((r) => setTimeout(r, 1500));
      handler = await startHandler(record, port);

      await waitFor(
        delivered(record, workers),
        () => JSON.stringify([...record.entries].map(([w, m]) => [w, m.size])),
      );
      assertComplete(record, workers, "line");
      assert.ok(record.throttled >= 2, "each worker was throttled");
      assert.ok(record.errorsAnswered >= 2, "ERROR answers were retried");
    } finally {
      client.close();
      assert.equal(await ottoscaler.stop(), 0);
      handler.stop();
    }
  });

  it("a restart of Ottoscaler mid-stream resumes delivery after the last acknowledged line", {
    timeout: 120_000,
  }, async () => {
    const record = newRecord();
    const handler = await startHandler(record);
    const stateDir = tempDir("ottoscaler-push-restart-");
    const env = { OTTO_HANDLER_HOST: `127.0.0.1:${handler.port}` };
    let ottoscaler = await startOttoscaler({ env, stateDir });
    let client = new v1.OttoscalerService(ottoscaler.address, grpc.credentials.createInsecure());
    try {
      const workers = ["otto-agent-push-2-1"];
      await unary(client, "ScaleUp", {
        taskId: "push-2",
        workerCount: 1,
        buildConfig: { command: slowPrinter("row") },
      });
      await waitFor(
        () => (record.entries.get(workers[0])?.size ?? 0) >= 80,
        () => "first 80 lines",
      );
      client.close();
      assert.equal(await ottoscaler.stop(), 0);

      ottoscaler = await startOttoscaler({ env, stateDir });
      client = new v1.OttoscalerService(ottoscaler.address, grpc.credentials.createInsecure());
      await waitFor(
        delivered(record, workers),
        () => `${record.entries.get(workers[0])?.size} lines`,
      );
      assertComplete(record, workers, "row");
      assert.ok(
        record.duplicates < LINES / 2,
        `few duplicates after the restart (${record.duplicates})`,
      );
    } finally {
      client.close();
      await ottoscaler.stop();
      handler.stop();
    }
  });

  it("dials the handler over TLS when configured", { timeout: 60_000 }, async () => {
    const dir = tempDir("ottoscaler-tls-");
    const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=test-ca",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      "server.pem",
      "-extfile",
      "san.ext",
    );
    const read = (name) => readFileSync(join(dir, name));
    const record = newRecord();
    let handler;
    try {
      handler = await startHandler(
        record,
        0,
        grpc.ServerCredentials.createSsl(null, [
          { cert_chain: read("server.pem"), private_key: read("server.key") },
        ]),
      );
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const ottoscaler = await startOttoscaler({
      env: {
        OTTO_HANDLER_HOST: `localhost:${handler.port}`,
        OTTO_HANDLER_TLS: "true",
        OTTO_HANDLER_CA_FILE: join(dir, "ca.pem"),
      },
    });
    const client = new v1.OttoscalerService(ottoscaler.address, grpc.credentials.createInsecure());
    try {
      await unary(client, "ScaleUp", {
        taskId: "tls",
        workerCount: 1,
        buildConfig: { command: "seq 1 50" },
      });
      const worker = "otto-agent-tls-1";
      await waitFor(
        () => record.entries.get(worker)?.size === 50,
        () => `${record.entries.get(worker)?.size} lines`,
      );
      assert.equal(record.entries.get(worker).get(50), "50");
    } finally {
      client.close();
      await ottoscaler.stop();
      handler.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
