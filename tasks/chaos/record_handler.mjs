// The chaos suite's otto-handler: a grpc-js server on Node.js (as otto-handler is) serving
// OttoHandlerLogService, which records everything it receives in a file that outlives it, and
// acknowledges a line or a status only once its record is written. So a SIGKILL loses nothing it
// acknowledged, and what it had not acknowledged Ottoscaler must send again.
//
//   node record_handler.mjs PORT RECORD_FILE
//
// Record lines: `L <worker_id> <sequence> <message>` per log entry, `S <worker_id> <status>` per
// status notification. Prints `PORT <n>` once listening and `FIRST` at the first entry received.

import { createRequire } from "node:module";
import { closeSync, openSync, writeSync } from "node:fs";

const require = createRequire(new URL("../../tests/interop/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [port, recordFile] = process.argv.slice(2);
const definition = protoLoader.loadSync("ottoscaler/v1/log_forwarding.proto", {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  includeDirs: [new URL("../../proto", import.meta.url).pathname],
});
const v1 = grpc.loadPackageDefinition(definition).ottoscaler.v1;
const fd = openSync(recordFile, "a");
let first = true;

/** Appends `text` to the record; throws if it cannot (then nothing is acknowledged). */
function record(text) {
  const bytes = Buffer.from(text);
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
}

const server = new grpc.Server();
server.addService(v1.OttoHandlerLogService.service, {
  ForwardWorkerLogs(call) {
    let pending = "";
    let highest = 0;
    // Acknowledge every 20 ms, after writing what came since (one write per batch).
    const timer = setInterval(() => {
      if (pending === "") return;
      record(pending);
      pending = "";
      call.write({ status: "ACK", sequence: String(highest) });
    }, 20);
    call.on("data", (entry) => {
      if (first) {
        first = false;
        console.log("FIRST");
      }
      const sequence = Number(entry.sequence);
      pending += `L ${entry.workerId} ${sequence} ${entry.message}\n`;
      if (sequence > highest) highest = sequence;
    });
    const stop = () => clearInterval(timer);
    call.on("end", () => {
      stop();
      if (pending !== "") {
        record(pending);
        pending = "";
        call.write({ status: "ACK", sequence: String(highest) });
      }
      call.end();
    });
    call.on("error", stop);
    call.on("cancelled", stop);
  },
  NotifyWorkerStatus(call, callback) {
    record(`S ${call.request.workerId} ${call.request.status}\n`);
    callback(null, { status: "RECEIVED" });
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(String(err));
    process.exit(1);
  }
  console.log(`PORT ${bound}`);
});
process.on("SIGTERM", () => {
  server.forceShutdown();
  closeSync(fd);
  process.exit(0);
});
