/**
 * The gRPC server: OttoscalerService, the standard health service (grpc.health.v1, for
 * grpc-health-probe and Kubernetes probes) and server reflection (for grpcurl).
 *
 * Shutdown is two-phase: health turns NOT_SERVING, open streams end with UNAVAILABLE, the server
 * stops accepting calls and waits for in-flight ones, and after a grace period it is forced down
 * (grpc-js's tryShutdown can hang while streams are open on Deno's node:http2, see
 * denoland/deno#33709).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HealthImplementation, protoPath as healthProtoPath } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import type { PipelineExecutor } from "../pipeline/executor.ts";
import type { Scaler } from "../scaler/scaler.ts";
import type { Logger } from "../telemetry/logger.ts";
import { acceptsAgentLines, type Runtime } from "../worker/types.ts";
import { logStreamingHandlers } from "./log_streaming_service.ts";
import { ottoscalerHandlers } from "./ottoscaler_service.ts";
import { preEncoded } from "./log_entry_codec.ts";
import {
  LOADER_OPTIONS,
  loadGrpcObjects,
  loadPackageDefinition,
  loadReflectionDefinition,
} from "./proto.ts";
import { StreamRegistry } from "./stream.ts";

/** Options for {@linkcode startServer}. */
export interface ServerOptions {
  /** The address to bind. */
  readonly host: string;
  /** The port; 0 picks a free one. */
  readonly port: number;
  /** Scales tasks. */
  readonly scaler: Scaler;
  /** Runs workers. */
  readonly runtime: Runtime;
  /** The namespace reported in log metadata. */
  readonly namespace: string;
  /** The logger. */
  readonly logger: Logger;
  /** How long in-flight calls get on shutdown before the server is forced down. */
  readonly shutdownGraceMs: number;
  /** The longest line an agent may send (LogStreamingService). */
  readonly maxAgentMessageBytes: number;
  /** The most workers a pipeline stage may have. */
  readonly maxWorkersPerStage: number;
  /** Runs pipelines. */
  readonly pipelines: PipelineExecutor;
}

/** A running server. */
export interface RunningServer {
  /** The bound port. */
  readonly port: number;
  /** Shuts down gracefully, then forcibly after the grace period. */
  close(): Promise<void>;
}

/** The service names health reports on. */
const SERVICE_NAMES = ["", "ottoscaler.v1.OttoscalerService"];

/** The services this server implements, as reflection lists them. */
const SERVED_SERVICES = [
  "ottoscaler.v1.OttoscalerService",
  "ottoscaler.v1.LogStreamingService",
  "grpc.health.v1.Health",
];

/** Starts the server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.logger.with({ component: "grpc" });
  const definition = loadPackageDefinition();
  const proto = loadGrpcObjects(definition);
  const streams = new StreamRegistry();
  const server = new grpc.Server({
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
  });
  server.addService(
    // WatchWorkerLogs writes entries it encoded itself (log_entry_codec.ts).
    preEncoded(proto.ottoscaler.v1.OttoscalerService.service, ["WatchWorkerLogs"]),
    ottoscalerHandlers({ ...options, streams }),
  );
  const health = new HealthImplementation(
    Object.fromEntries(SERVICE_NAMES.map((name) => [name, "SERVING" as const])),
  );
  if (acceptsAgentLines(options.runtime)) {
    server.addService(
      proto.ottoscaler.v1.LogStreamingService.service,
      logStreamingHandlers({
        runtime: options.runtime,
        maxMessageBytes: options.maxAgentMessageBytes,
        logger: options.logger,
      }),
    );
  }
  health.addToServer(server);
  // Reflection describes what this server serves: our service and the health service (not the
  // contract's other services, which otto-handler or worker agents serve).
  const reflected = {
    ...loadReflectionDefinition(),
    ...protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS),
  };
  new ReflectionService(reflected, { services: SERVED_SERVICES }).addToServer(server);

  const address = options.host.includes(":") && !options.host.startsWith("[")
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
  log.info("gRPC server listening", { address: options.host, port });

  let stopping: Promise<void> | undefined;
  const close = () => {
    stopping ??= (async () => {
      for (const name of SERVICE_NAMES) health.setStatus(name, "NOT_SERVING");
      streams.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceful = new Promise<boolean>((resolve) => {
        server.tryShutdown(() => resolve(true));
      });
      const forced = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), options.shutdownGraceMs);
      });
      const clean = await Promise.race([graceful, forced]);
      clearTimeout(timer);
      if (!clean) {
        log.warn("in-flight calls did not finish in time; forcing the server down");
        server.forceShutdown();
      }
      log.info("gRPC server stopped");
    })();
    return stopping;
  };
  return { port, close };
}
