/**
 * The gRPC client of otto-handler's `OttoHandlerLogService` (Ottoscaler dials
 * `OTTO_HANDLER_HOST`), as the {@linkcode HandlerTransport} push delivery uses.
 *
 * Over TLS it can present a client certificate (`OTTO_HANDLER_CERT_FILE`/`KEY_FILE`) and send
 * `authorization: Bearer <token>` from a file (`OTTO_HANDLER_TOKEN_FILE`) on every call; the file
 * is re-read when it is older than {@linkcode TOKEN_FILE_TTL_MS}, so a rotated projected
 * service-account token is picked up.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { WorkerEvent } from "../events/transitions.ts";
import type { AckStatus } from "../push/notifier.ts";
import type { ForwardCall, WireForwardResponse, WireLogEntry } from "../push/forwarder.ts";
import type { HandlerTransport } from "../push/push.ts";
import type { LogLine, WorkerStatus } from "../worker/types.ts";
import type { WorkerStatusAck__Output } from "../../proto/generated/ottoscaler/v1/WorkerStatusAck.ts";
import { eventToWire } from "./convert.ts";
import { encodeLogEntry, preEncoded } from "./log_entry_codec.ts";
import { H2StreamClient } from "./h2_client.ts";
import { loadGrpcObjects, loadPackageDefinition } from "./proto.ts";

/** Options for {@linkcode connectHandler}. */
export interface HandlerClientOptions {
  /** host:port of otto-handler. */
  readonly address: string;
  /** Use TLS. */
  readonly tls: boolean;
  /** PEM of the CA that signed the handler's certificate; default: the system's roots. */
  readonly caPem?: Uint8Array;
  /** A client certificate and its key (PEM) to present (TLS only). */
  readonly clientCertificate?: { readonly certPem: Uint8Array; readonly keyPem: Uint8Array };
  /** A file holding the bearer token to send (TLS only). */
  readonly tokenFile?: string;
  /** The namespace reported in log metadata. */
  readonly namespace: string;
  /** Deadline of one NotifyWorkerStatus call. */
  readonly notifyTimeoutMs?: number;
  /**
   * The client of ForwardWorkerLogs: grpc-js (default), or `http2`, mod/grpc/h2_stream.ts
   * (docs/performance.md, Push).
   */
  readonly logClient?: "grpc-js" | "http2";
}

/** How long a token read from a file is used before the file is read again. */
export const TOKEN_FILE_TTL_MS = 10_000;

/** The channel's credentials: plaintext, or TLS with an optional client certificate and token. */
function channelCredentials(options: HandlerClientOptions): grpc.ChannelCredentials {
  if (!options.tls) {
    if (options.clientCertificate || options.tokenFile) {
      throw new Error("a client certificate or token for otto-handler needs TLS");
    }
    return grpc.credentials.createInsecure();
  }
  const cert = options.clientCertificate;
  const ssl = grpc.credentials.createSsl(
    options.caPem ? Buffer.from(options.caPem) : null,
    cert ? Buffer.from(cert.keyPem) : null,
    cert ? Buffer.from(cert.certPem) : null,
  );
  if (!options.tokenFile) return ssl;
  const token = tokenReader(options.tokenFile);
  const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    token().then((t) => {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${t}`);
      callback(null, metadata);
    }, (err: Error) => callback(new Error(`OTTO_HANDLER_TOKEN_FILE: ${err.message}`)));
  });
  return grpc.credentials.combineChannelCredentials(ssl, bearer);
}

/** A reader of the token file that re-reads it after {@linkcode TOKEN_FILE_TTL_MS}. */
function tokenReader(file: string): () => Promise<string> {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    if (!cached || Date.now() - cached.at > TOKEN_FILE_TTL_MS) {
      cached = { token: (await Deno.readTextFile(file)).trim(), at: Date.now() };
    }
    return cached.token;
  };
}

/**
 * The client of `ForwardWorkerLogs`: mod/grpc/h2_stream.ts (messages queued behind a write go
 * out together; grpc-js sends a client stream's messages one socket write each), with the same
 * credentials as the grpc-js channel.
 */
function logStreamClient(options: HandlerClientOptions): H2StreamClient {
  const token = options.tokenFile ? tokenReader(options.tokenFile) : undefined;
  return new H2StreamClient({
    address: options.address,
    tls: options.tls,
    caPem: options.caPem,
    clientCertificate: options.clientCertificate,
    metadata: token &&
      (() =>
        token().then(
          (t) => ({ authorization: `Bearer ${t}` }),
          (err: Error) => {
            throw new Error(`OTTO_HANDLER_TOKEN_FILE: ${err.message}`);
          },
        )),
    keepaliveMs: 30_000,
    keepaliveTimeoutMs: 10_000,
  });
}

/** Connects to otto-handler; the connection is made lazily and re-made as needed by grpc-js. */
export function connectHandler(options: HandlerClientOptions): HandlerTransport {
  const proto = loadGrpcObjects(loadPackageDefinition());
  const credentials = channelCredentials(options);
  const service = proto.ottoscaler.v1.OttoHandlerLogService.service;
  const forward = service.ForwardWorkerLogs;
  const logStreams = options.logClient === "http2" ? logStreamClient(options) : undefined;
  // On grpc-js, ForwardWorkerLogs sends entries encoded by log_entry_codec.ts as they are.
  const Client = grpc.makeClientConstructor(
    preEncoded(service, ["ForwardWorkerLogs"], "requests"),
    "OttoHandlerLogService",
  ) as unknown as typeof proto.ottoscaler.v1.OttoHandlerLogService;
  const client = new Client(options.address, credentials, {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.initial_reconnect_backoff_ms": 250,
    "grpc.max_reconnect_backoff_ms": 10_000,
  });
  return {
    // Entries come encoded by log_entry_codec.ts and are sent as they are.
    openLogStream: (): ForwardCall =>
      logStreams
        ? logStreams.open<WireLogEntry, WireForwardResponse>(
          forward.path,
          (entry) => entry as unknown as Uint8Array,
          (bytes) => forward.responseDeserialize(bytes) as WireForwardResponse,
        )
        : client.ForwardWorkerLogs() as unknown as ForwardCall,
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
    close: () => {
      logStreams?.close();
      client.close();
    },
    connected: () =>
      logStreams?.connected() ||
      client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY,
  };
}
