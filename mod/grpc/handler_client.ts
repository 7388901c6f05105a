/**
 * The gRPC client of otto-handler's `OttoHandlerLogService` (Ottoscaler dials
 * `OTTO_HANDLER_HOST`), as the {@linkcode HandlerTransport} push delivery uses.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { WorkerEvent } from "../events/transitions.ts";
import type { AckStatus } from "../push/notifier.ts";
import type { ForwardCall } from "../push/forwarder.ts";
import type { HandlerTransport } from "../push/push.ts";
import type { LogLine, WorkerStatus } from "../worker/types.ts";
import type { WorkerStatusAck__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusAck.ts";
import { eventToWire } from "./convert.ts";
import { encodeLogEntry, preEncoded } from "./log_entry_codec.ts";
import { loadGrpcObjects, loadPackageDefinition } from "./proto.ts";

/** Options for {@linkcode connectHandler}. */
export interface HandlerClientOptions {
  /** host:port of otto-handler. */
  readonly address: string;
  /** Use TLS. */
  readonly tls: boolean;
  /** PEM of the CA that signed the handler's certificate; default: the system's roots. */
  readonly caPem?: Uint8Array;
  /** The namespace reported in log metadata. */
  readonly namespace: string;
  /** Deadline of one NotifyWorkerStatus call. */
  readonly notifyTimeoutMs?: number;
}

/** Connects to otto-handler; the connection is made lazily and re-made as needed by grpc-js. */
export function connectHandler(options: HandlerClientOptions): HandlerTransport {
  const proto = loadGrpcObjects(loadPackageDefinition());
  const credentials = options.tls
    ? grpc.credentials.createSsl(options.caPem ? Buffer.from(options.caPem) : null)
    : grpc.credentials.createInsecure();
  // ForwardWorkerLogs sends entries encoded by log_entry_codec.ts as they are.
  const Client = grpc.makeClientConstructor(
    preEncoded(
      proto.ottoscaler.v1.OttoHandlerLogService.service,
      ["ForwardWorkerLogs"],
      "requests",
    ),
    "OttoHandlerLogService",
  ) as unknown as typeof proto.ottoscaler.v1.OttoHandlerLogService;
  const client = new Client(options.address, credentials, {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.initial_reconnect_backoff_ms": 250,
    "grpc.max_reconnect_backoff_ms": 10_000,
  });
  return {
    openLogStream: () => client.ForwardWorkerLogs() as unknown as ForwardCall,
    logEntry: (line: LogLine, worker: WorkerStatus) =>
      encodeLogEntry({ line, worker }, options.namespace) as unknown as Record<string, unknown>,
    notify: (event: WorkerEvent) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (options.notifyTimeoutMs ?? 10_000));
        client.NotifyWorkerStatus(
          eventToWire(event),
          { deadline },
          (err: grpc.ServiceError | null, res?: WorkerStatusAck__Output) => {
            if (err || !res) reject(err ?? new Error("empty answer"));
            else resolve({ status: res.status as AckStatus, message: res.message });
          },
        );
      }),
    close: () => client.close(),
  };
}
