/**
 * The soak's otto-handler: a grpc-js `OttoHandlerLogService` on loopback in the soak's own
 * process. It acknowledges every line, and counts distinct (worker, sequence) pairs, lines received
 * again (a redelivery of the same pair, which the contract allows) and status notifications.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../../mod/grpc/proto.ts";

/** What the handler received so far. */
export interface HandlerCounts {
  /** Distinct (worker, sequence) pairs. */
  readonly lines: number;
  /** Lines received again with a (worker, sequence) already seen. */
  readonly redelivered: number;
  /** NotifyWorkerStatus calls. */
  readonly statuses: number;
}

/** A running soak handler. */
export interface SoakHandler {
  /** `127.0.0.1:<port>`, for OTTO_HANDLER_HOST. */
  readonly address: string;
  /** The counts so far. */
  counts(): HandlerCounts;
  /** Stops the server. */
  close(): Promise<void>;
}

interface Entry {
  worker_id: string;
  sequence: string | number;
}

/** Starts the handler on a free loopback port. */
export async function startSoakHandler(): Promise<SoakHandler> {
  const proto = loadGrpcObjects(loadPackageDefinition());
  const seen = new Map<string, Set<number>>();
  let lines = 0;
  let redelivered = 0;
  let statuses = 0;
  const server = new grpc.Server();
  server.addService(proto.ottoscaler.v1.OttoHandlerLogService.service, {
    ForwardWorkerLogs(call: grpc.ServerDuplexStream<Entry, unknown>) {
      call.on("data", (entry: Entry) => {
        const sequence = Number(entry.sequence);
        let worker = seen.get(entry.worker_id);
        if (!worker) seen.set(entry.worker_id, worker = new Set());
        if (worker.has(sequence)) redelivered++;
        else {
          worker.add(sequence);
          lines++;
        }
        call.write({ status: "ACK", sequence: entry.sequence });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
    NotifyWorkerStatus(_call: unknown, callback: (err: null, res: unknown) => void) {
      statuses++;
      callback(null, { status: "RECEIVED", message: "" });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  return {
    address: `127.0.0.1:${port}`,
    counts: () => ({ lines, redelivered, statuses }),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
