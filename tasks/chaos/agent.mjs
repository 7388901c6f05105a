// The chaos suite's worker agent: a grpc-js client on Node.js that registers on Ottoscaler's
// LogStreamingService, then streams structured lines on one StreamLogs call, numbering them
// itself (agent_sequence). It resumes after the number RegisterWorker reports as stored, so it can
// be killed at any moment and started again.
//
//   node agent.mjs ADDRESS WORKER_ID TASK_ID LINES
//
// Lines read `a<index> line <n>` for n from 1 to LINES. At most 500 entries go unanswered. Prints
// `RESUME <n>` once registered and `ACKED <n>` every 250 lines acknowledged. Exits
// 0 once every line was acknowledged; 3 on a RETRY (nothing stored: start it again), 4 on a DROP
// or a refused registration, 5 when the call fails.

import { createRequire } from "node:module";

const require = createRequire(new URL("../../tests/interop/package.json", import.meta.url));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [address, workerId, taskId, total] = process.argv.slice(2);
const lines = Number(total);
const index = workerId.split("-").at(-1);
const definition = protoLoader.loadSync("ottoscaler/v1/log_streaming.proto", {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  includeDirs: [new URL("../../proto", import.meta.url).pathname],
});
const v1 = grpc.loadPackageDefinition(definition).ottoscaler.v1;
const client = new v1.LogStreamingService(address, grpc.credentials.createInsecure());

const registration = await new Promise((resolve, reject) =>
  client.RegisterWorker(
    { worker_id: workerId, task_id: taskId },
    (err, res) => err ? reject(err) : resolve(res),
  )
).catch((err) => {
  console.error(`register: ${err.message}`);
  process.exit(5);
});
if (registration.status !== "SUCCESS" && registration.status !== "ALREADY_REGISTERED") {
  console.error(`register: ${registration.status} ${registration.message}`);
  process.exit(4);
}
let next = Number(registration.last_agent_sequence) + 1;
let answered = next - 1;
console.log(`RESUME ${next}`);
if (next > lines) process.exit(0);

const call = client.StreamLogs();
let ended = false;
const end = () => {
  if (!ended) call.end();
  ended = true;
};
const pump = () => {
  while (next <= lines && next - answered <= 500) {
    const ok = call.write({
      worker_id: workerId,
      task_id: taskId,
      level: "info",
      source: "agent",
      message: `a${index} line ${next}`,
      agent_sequence: String(next),
    });
    next++;
    if (!ok) return call.once("drain", pump);
  }
  if (next > lines && answered === lines) end();
};
call.on("data", (res) => {
  if (res.status === "RETRY") {
    console.error(`RETRY ${res.message}`);
    process.exit(3);
  }
  if (res.status === "DROP") {
    console.error(`DROP ${res.message}`);
    process.exit(4);
  }
  answered++;
  if (answered % 250 === 0) console.log(`ACKED ${answered}`);
  if (answered === lines) end();
  else pump();
});
call.on("error", (err) => {
  console.error(`stream: ${err.message}`);
  process.exit(5);
});
call.on("end", () => {
  process.exit(answered === lines ? 0 : 5);
});
pump();
