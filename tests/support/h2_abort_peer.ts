/**
 * The two ends of denoland/deno#36788 as a program, for tests/e2e/http2_abort_test.ts: a Deno
 * grpc-js server that receives ForwardWorkerLogs entries on one stream and acknowledges each, and
 * a client that sends N entries on one stream, ends it and closes its channel (a GOAWAY).
 *
 * - `server`: serves on a free loopback port, printed as `PORT <n>`.
 * - `client ADDRESS N`: sends N entries to ADDRESS, then ends and closes.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";

const proto = loadGrpcObjects(loadPackageDefinition());

function entry(n: number) {
  return {
    worker_id: "otto-agent-h2-1",
    task_id: "h2",
    timestamp: new Date().toISOString(),
    level: "info",
    source: "stdout",
    message: `line ${n}`,
    sequence: n,
    metadata: {},
    pod_metadata: { pod_name: "otto-agent-h2-1", namespace: "default", labels: {} },
  };
}

const [mode, ...rest] = Deno.args;
if (mode === "server") {
  const server = new grpc.Server();
  server.addService(proto.ottoscaler.v1.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call: grpc.ServerDuplexStream<{ sequence: string }, unknown>) {
      call.on(
        "data",
        (e: { sequence: string }) => call.write({ status: "ACK", sequence: e.sequence }),
      );
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(_call: unknown, callback: (err: null, res: unknown) => void) {
      callback(null, { status: "RECEIVED", message: "" });
    },
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(`PORT ${port}`);
  });
} else if (mode === "client") {
  const [address, n] = rest;
  const client = new proto.ottoscaler.v1.OttoHandlerLogService(
    address,
    grpc.credentials.createInsecure(),
  );
  const call = client.ForwardWorkerLogs();
  call.on("data", () => {});
  call.on("error", () => {});
  const ended = new Promise((resolve) => call.on("status", resolve));
  for (let i = 1; i <= Number(n); i++) {
    if (!call.write(entry(i))) await new Promise<void>((r) => call.once("drain", () => r()));
  }
  call.end();
  await ended;
  client.close();
} else {
  console.error("usage: h2_abort_peer.ts server | client ADDRESS N");
  Deno.exit(2);
}
