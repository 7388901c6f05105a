// The benchmark's otto-handler: a grpc-js server on Node.js (as otto-handler is) serving
// OttoHandlerLogService on loopback. It acknowledges every 10 ms, deduplicates by sequence, and
// measures print-to-receipt latency and the latency of status notifications.
//
// Driven over stdin/stdout by logs_bench.ts: prints "PORT <n>"; on "expect <n>" it waits for n
// lines and prints "RESULT <json>"; on "statuses" it prints "STATUS <json>" for the status
// notifications since "reset-statuses", on "receipts" "RECEIPTS <json>": each of them with its
// worker, kind and time of receipt (epoch ms, sub-millisecond).

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../tests/interop/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const definition = protoLoader.loadSync("ottoscaler/v1/log_forwarding.proto", {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  includeDirs: [new URL("../../proto", import.meta.url).pathname],
});
const v1 = grpc.loadPackageDefinition(definition).ottoscaler.v1;
const now = () => performance.timeOrigin + performance.now();

let expected = 0;
let seen = new Uint8Array(1);
let latencies = new Float64Array(1);
// Receipt minus the entry's own timestamp (when Ottoscaler captured the line), where it has one.
let sinceCapture = new Float64Array(1);
let count = 0, bytes = 0, first = 0, last = 0;
const statusLatencies = [];

function percentile(sorted, p) {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
    : NaN;
}

function take(message, sequence, timestamp) {
  if (sequence < 1 || sequence > expected || seen[sequence]) return;
  seen[sequence] = 1;
  const t = now();
  if (count === 0) first = t;
  last = t;
  sinceCapture[count] = timestamp ? t - Date.parse(timestamp) : NaN;
  latencies[count++] = t - Number(message.slice(0, message.indexOf(" ")));
  bytes += message.length;
  if (count === expected) {
    const sorted = latencies.slice(0, count).sort();
    const captured = sinceCapture.slice(0, count).filter(Number.isFinite).sort();
    const result = {
      lines: count,
      bytes,
      seconds: (last - first) / 1000,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      capturedP50: percentile(captured, 50),
      capturedP99: percentile(captured, 99),
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  }
}

const server = new grpc.Server();
server.addService(v1.OttoHandlerLogService.service, {
  ForwardWorkerLogs(call) {
    let highest = 0;
    let acked = 0;
    const timer = setInterval(() => {
      if (highest > acked) {
        acked = highest;
        call.write({ status: "ACK", sequence: String(acked) });
      }
    }, 10);
    call.on("data", (entry) => {
      const sequence = Number(entry.sequence);
      if (sequence > highest) highest = sequence;
      take(entry.message, sequence, entry.timestamp);
    });
    call.on("end", () => {
      clearInterval(timer);
      call.end();
    });
    call.on("error", () => clearInterval(timer));
  },
  NotifyWorkerStatus(call, callback) {
    statusLatencies.push({
      status: call.request.status,
      ms: Date.now() - Date.parse(call.request.timestamp),
      id: call.request.workerId,
      at: performance.timeOrigin + performance.now(),
    });
    callback(null, { status: "RECEIVED" });
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`PORT ${port}`);
});

createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, arg] = line.trim().split(" ");
  if (command === "expect") {
    expected = Number(arg);
    seen = new Uint8Array(expected + 1);
    latencies = new Float64Array(expected);
    sinceCapture = new Float64Array(expected);
    count =
      bytes =
      first =
      last =
        0;
  } else if (command === "statuses") {
    const figures = (list) => {
      const sorted = list.map((l) => l.ms).sort((a, b) => a - b);
      return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    };
    const kinds = [...new Set(statusLatencies.map((l) => l.status))];
    const byKind = Object.fromEntries(
      kinds.map((k) => [k, figures(statusLatencies.filter((l) => l.status === k))]),
    );
    console.log(`STATUS ${JSON.stringify({ ...figures(statusLatencies), byKind })}`);
  } else if (command === "receipts") {
    const receipts = statusLatencies.map(({ id, status, at }) => ({ id, status, at }));
    console.log(`RECEIPTS ${JSON.stringify(receipts)}`);
  } else if (command === "reset-statuses") {
    statusLatencies.length = 0;
  } else if (command === "quit") {
    server.forceShutdown();
    process.exit(0);
  }
});
