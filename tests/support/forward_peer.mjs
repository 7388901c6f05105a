// A scripted otto-handler for tests/e2e/h2_stream_test.ts: a grpc-js server on Node.js (as
// otto-handler is) serving ForwardWorkerLogs on loopback. The call's `x-scenario` header says
// what it does:
//
// - ack: answers every entry with ACK <its sequence>; an entry out of order (not the previous
//   sequence plus one) fails the call with INVALID_ARGUMENT; ends with OK when the client does.
// - pause: as ack, but reads nothing for 300 ms first (the client's writes back up).
// - auth: as ack if `authorization` is "Bearer s3cret", else UNAUTHENTICATED at once.
// - fail: after 3 entries, fails with RESOURCE_EXHAUSTED and a message with non-ASCII text.
// - reject: fails with PERMISSION_DENIED before reading anything (a trailers-only answer).
// - hang: never answers; prints "CANCELLED <scenario>" when the client cancels.
//
// Usage: node forward_peer.mjs [PORT]; prints "PORT <n>" once listening. On stdin: "shutdown"
// drops every connection (grpc-js forceShutdown) and stops listening, "listen <port>" listens
// again (prints "LISTENING <n>"), "quit" (or the end of stdin) stops it.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../interop/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const definition = protoLoader.loadSync("ottoscaler/v1/log_forwarding.proto", {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  includeDirs: [new URL("../../proto", import.meta.url).pathname],
});
const v1 = grpc.loadPackageDefinition(definition).ottoscaler.v1;

function acking(call) {
  let last = 0;
  call.on("data", (entry) => {
    if (entry.sequence !== last + 1) {
      call.emit("error", {
        code: grpc.status.INVALID_ARGUMENT,
        details: `out of order: ${entry.sequence} after ${last}`,
      });
      return;
    }
    last = entry.sequence;
    call.write({ status: "ACK", sequence: last });
  });
  call.on("end", () => call.end());
}

const service = {
  ForwardWorkerLogs(call) {
    const scenario = String(call.metadata.get("x-scenario")[0] ?? "ack");
    // grpc-js emits 'cancelled' at every stream close; a call it ended itself was not cancelled.
    let ended = false;
    const { end, emit } = call;
    call.end = (...args) => {
      ended = true;
      return end.apply(call, args);
    };
    call.emit = (event, ...args) => {
      if (event === "error") ended = true;
      return emit.call(call, event, ...args);
    };
    call.on("cancelled", () => ended || console.log(`CANCELLED ${scenario}`));
    call.on("error", () => {});
    if (scenario === "ack") acking(call);
    else if (scenario === "pause") {
      call.pause();
      setTimeout(() => {
        acking(call);
        call.resume();
      }, 300);
    } else if (scenario === "auth") {
      if (call.metadata.get("authorization")[0] !== "Bearer s3cret") {
        call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "bad token" });
      } else acking(call);
    } else if (scenario === "fail") {
      let n = 0;
      call.on("data", () => {
        if (++n === 3) {
          call.emit("error", {
            code: grpc.status.RESOURCE_EXHAUSTED,
            details: "handler full: 100% ✓ (é)",
          });
        }
      });
    } else if (scenario === "reject") {
      call.emit("error", { code: grpc.status.PERMISSION_DENIED, details: "not you" });
    }
    // hang: nothing.
  },
  NotifyWorkerStatus(_call, callback) {
    callback(null, { status: "RECEIVED" });
  },
};
let server;
function listen(port, prefix) {
  server = new grpc.Server();
  server.addService(v1.OttoHandlerLogService.service, service);
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) throw err;
    console.log(`${prefix} ${bound}`);
  });
}
listen(Number(process.argv[2] ?? 0), "PORT");

const stop = () => {
  server.forceShutdown();
  process.exit(0);
};
createInterface({ input: process.stdin })
  .on("line", (line) => {
    const [command, arg] = line.trim().split(" ");
    if (command === "quit") stop();
    // Drops every connection at once (as a crashed handler's host would), then listens again.
    else if (command === "shutdown") server.forceShutdown();
    else if (command === "listen") listen(Number(arg), "LISTENING");
  })
  .on("close", stop);
