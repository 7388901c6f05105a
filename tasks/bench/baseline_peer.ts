/**
 * The baseline of the log benchmark: a bare grpc-js stream on the same runtime, sending the same
 * WorkerLogEntry messages with nothing in between (no worker, no files, no acknowledgements).
 *
 * - `push ADDRESS N`: dials ADDRESS and sends N entries on one ForwardWorkerLogs stream.
 * - `pull N`: serves WatchWorkerLogs on a free port (printed as `PORT <n>`) and sends N entries
 *   to the first caller.
 * - `notify ADDRESS N`: for N workers at once, sends CREATED, RUNNING and COMPLETED as
 *   Ottoscaler's notifier does (one NotifyWorkerStatus each, a worker's next only once the
 *   previous one was answered), each stamped with the moment it is sent: the floor of the state
 *   change benchmark, a bare grpc-js client with no worker, no disk and no other work. A
 *   warm-up round first, then `WARM` is printed and the measured round waits for a line on stdin.
 * - `paced ADDRESS RATE SECONDS`: as push, but RATE entries a second for SECONDS, made and sent
 *   in 5 ms steps as the paced benchmark's worker prints them (the floor of print to receipt).
 *
 * Each message is `<print time in ms since the epoch> <n>`, as the benchmark's worker prints.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";

const proto = loadGrpcObjects(loadPackageDefinition());

function entry(n: number) {
  return {
    worker_id: "otto-agent-baseline-1",
    task_id: "baseline",
    timestamp: new Date().toISOString(),
    level: "info",
    source: "stdout",
    message: `${(performance.timeOrigin + performance.now()).toFixed(3)} ${n}`,
    sequence: n,
    metadata: {},
    pod_metadata: { pod_name: "otto-agent-baseline-1", namespace: "default", labels: {} },
  };
}

/** Writes n entries with flow control. */
async function sendAll(
  write: (m: ReturnType<typeof entry>) => boolean,
  once: (event: "drain", fn: () => void) => void,
  n: number,
) {
  for (let i = 1; i <= n; i++) {
    if (!write(entry(i))) await new Promise<void>((resolve) => once("drain", resolve));
  }
}

/** Opens ForwardWorkerLogs to `address`, lets `send` write on it, then ends the call and waits. */
async function forward(
  address: string,
  send: (call: grpc.ClientDuplexStream<ReturnType<typeof entry>, unknown>) => Promise<void>,
) {
  const client = new proto.ottoscaler.v1.OttoHandlerLogService(
    address,
    grpc.credentials.createInsecure(),
  );
  const call = client.ForwardWorkerLogs();
  call.on("data", () => {});
  const ended = new Promise((resolve) => call.on("status", resolve));
  await send(call);
  call.end();
  await ended;
  client.close();
}

const [mode, ...rest] = Deno.args;
if (mode === "push") {
  const [address, n] = rest;
  await forward(
    address,
    (call) => sendAll((m) => call.write(m), (e, fn) => call.once(e, fn), Number(n)),
  );
} else if (mode === "paced") {
  const [address, rate, seconds] = rest.map((v, i) => (i === 0 ? v : Number(v))) as [
    string,
    number,
    number,
  ];
  await forward(address, async (call) => {
    const total = rate * seconds;
    const t0 = performance.now();
    let i = 0;
    while (i < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      while (i < due) {
        if (!call.write(entry(++i))) await new Promise<void>((r) => call.once("drain", r));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  });
} else if (mode === "pull") {
  const n = Number(rest[0]);
  const server = new grpc.Server();
  const done = Promise.withResolvers<void>();
  server.addService(proto.ottoscaler.v1.OttoscalerService.service, {
    WatchWorkerLogs: async (call: grpc.ServerWritableStream<unknown, ReturnType<typeof entry>>) => {
      await sendAll((m) => call.write(m), (e, fn) => call.once(e, fn), n);
      call.end();
      done.resolve();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  console.log(`PORT ${port}`);
  await done.promise;
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
} else if (mode === "notify") {
  const [address, n] = rest;
  const client = new proto.ottoscaler.v1.OttoHandlerLogService(
    address,
    grpc.credentials.createInsecure(),
  );
  const notify = (request: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) =>
      client.NotifyWorkerStatus(request, (err: Error | null) => err ? reject(err) : resolve())
    );
  const round = (task: string) =>
    Promise.all(Array.from({ length: Number(n) }, async (_, i) => {
      const worker = { worker_id: `otto-agent-${task}-${i + 1}`, task_id: task };
      for (const status of ["CREATED", "RUNNING", "COMPLETED"]) {
        await notify({ ...worker, status, timestamp: new Date().toISOString(), metadata: {} });
      }
    }));
  // A round to connect and warm up, as the benchmark gives Ottoscaler; then, once told (the
  // benchmark resets the handler's figures in between), the measured one.
  await round("baseline-warm-up");
  console.log("WARM");
  await new Response(Deno.stdin.readable).body?.getReader().read();
  await round("baseline");
  client.close();
} else {
  console.error(
    "usage: baseline_peer.ts push ADDRESS N | pull N | notify ADDRESS N | paced ADDRESS RATE SECONDS",
  );
  Deno.exit(2);
}
