/**
 * The gRPC server: OttoscalerService, the standard health service (grpc.health.v1, for
 * grpc-health-probe and Kubernetes probes) and server reflection (for grpcurl).
 *
 * Health follows readiness (the same checks as the HTTP `/readyz`): SERVING while every check
 * passes, NOT_SERVING otherwise, re-checked every second. Every call is counted and timed by one
 * interceptor (request_metrics.ts).
 *
 * Shutdown is two-phase: health turns NOT_SERVING, open streams end with UNAVAILABLE, the server
 * stops accepting calls and waits for in-flight ones, and after a grace period it is forced down
 * (grpc-js's tryShutdown can hang while streams are open on Deno's node:http2, see
 * denoland/deno#33709).
 *
 * Every call passes one interceptor, {@linkcode callGate}, before any handler sees it: it asks the
 * {@linkcode Authenticator} who is calling and whether they may (see `auth/authenticator.ts`),
 * refuses with UNAUTHENTICATED, PERMISSION_DENIED or UNAVAILABLE before the request is read, and
 * logs every changing call with the caller's name. Other per-call concerns (metrics) belong in
 * the same place. With TLS the listener presents the certificate of `auth/tls.ts`, reloaded when
 * its files change; an optional second, plaintext listener serves only the health service, for
 * kubelet probes (which cannot speak TLS).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Buffer } from "node:buffer";
import type { PipelineExecutor } from "../pipeline/executor.ts";
import type { Scaler } from "../scaler/scaler.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { Readiness } from "../telemetry/readiness.ts";
import type { Leadership } from "../kube/leader.ts";
import { acceptsAgentLines, type Runtime } from "../worker/types.ts";
import type { Authenticator } from "./auth/authenticator.ts";
import { accessOf, isChanging } from "./auth/roles.ts";
import type { ReloadingCertificateProvider } from "./auth/tls.ts";
import { logStreamingHandlers } from "./log_streaming_service.ts";
import { ottoscalerHandlers } from "./ottoscaler_service.ts";
import { preEncoded } from "./log_entry_codec.ts";
import { loadGrpcObjects, loadPackageDefinition } from "./proto.ts";
import { grpcError } from "./errors.ts";
import type { Reflection } from "./reflection.ts";
import { StreamRegistry } from "./stream.ts";
import { requestMetrics } from "./request_metrics.ts";

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
  /** Decides who may call what. */
  readonly auth: Authenticator;
  /** The server's certificate (TLS, and mTLS when it has a client CA); absent: plaintext. */
  readonly tls?: ReloadingCertificateProvider;
  /** Port of a plaintext listener with only grpc.health.v1 (for probes); absent or 0: none. */
  readonly healthPort?: number;
  /** Where calls are counted; absent: not counted. */
  readonly metrics?: Metrics;
  /** What health reports; absent: SERVING until shutdown. */
  readonly readiness?: Readiness;
  /** Whether this instance may change anything (leader election); absent: always. */
  readonly leadership?: Leadership;
}

/** A running server. */
export interface RunningServer {
  /** The bound port. */
  readonly port: number;
  /** The bound port of the health-only listener, if there is one. */
  readonly healthPort?: number;
  /** Shuts down gracefully, then forcibly after the grace period. */
  close(): Promise<void>;
}

/** The service names health reports on. */
const SERVICE_NAMES = ["", "ottoscaler.v1.OttoscalerService"];

/** The services every server implements, as reflection lists them (LogStreamingService too when
 * the runtime accepts agent lines). */
const SERVED_SERVICES = [
  "ottoscaler.v1.OttoscalerService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
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
    // Counted first, so refused calls are counted too; then who may call what.
    interceptors: [
      ...(options.metrics ? [requestMetrics(options.metrics)] : []),
      callGate(options.auth, log),
    ],
  });
  server.addService(
    // WatchWorkerLogs writes entries it encoded itself (log_entry_codec.ts).
    preEncoded(proto.ottoscaler.v1.OttoscalerService.service, ["WatchWorkerLogs"]),
    ottoscalerHandlers({ ...options, streams }),
  );
  const health = new HealthImplementation(
    Object.fromEntries(SERVICE_NAMES.map((name) => [name, "SERVING" as const])),
  );
  const served = [...SERVED_SERVICES];
  if (acceptsAgentLines(options.runtime)) {
    served.push("ottoscaler.v1.LogStreamingService");
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
  let serving = true;
  const followReadiness = () => {
    const ready = options.readiness?.check().ready ?? true;
    if (ready === serving) return;
    serving = ready;
    for (const name of SERVICE_NAMES) health.setStatus(name, ready ? "SERVING" : "NOT_SERVING");
  };
  followReadiness();
  const readinessTimer = setInterval(followReadiness, 1000);
  // Reflection describes what this server serves: our services, health and reflection itself (not
  // the contract's other services, which otto-handler or worker agents serve).
  addReflection(server, served, log);

  const address = options.host.includes(":") && !options.host.startsWith("[")
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  const credentials = options.tls?.serverCredentials() ?? grpc.ServerCredentials.createInsecure();
  const port = await bind(server, address, credentials);
  let healthServer: grpc.Server | undefined;
  let healthPort: number | undefined;
  if (options.healthPort) {
    healthServer = new grpc.Server();
    health.addToServer(healthServer);
    const healthAddress = address.replace(/:\d+$/, `:${options.healthPort}`);
    healthPort = await bind(healthServer, healthAddress, grpc.ServerCredentials.createInsecure());
    log.info("gRPC health listener (plaintext, health only)", { port: healthPort });
  }
  log.info("gRPC server listening", {
    address: options.host,
    port,
    tls: options.tls ? "on" : "off",
    authentication: options.auth.enabled ? "on" : "off",
  });

  let stopping: Promise<void> | undefined;
  const close = () => {
    stopping ??= (async () => {
      clearInterval(readinessTimer);
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
      healthServer?.forceShutdown();
      log.info("gRPC server stopped");
    })();
    return stopping;
  };
  return { port, healthPort, close };
}

/** The reflection services' one method, in both versions. */
const REFLECTION_PATHS = ["grpc.reflection.v1", "grpc.reflection.v1alpha"].map((pkg) =>
  `/${pkg}.ServerReflection/ServerReflectionInfo`
);

/**
 * Serves reflection (v1 and v1alpha) over `services`, built on its first call: the services are
 * registered here with pass-through serializers, and reflection.ts (the reflection protos, the
 * protoc-style descriptors, @grpc/reflection) is imported and built only when a call comes.
 * Requests that arrive meanwhile wait for it, in order. (Memory, issue 14: built at startup, it
 * was most of an idle server's startup heap.)
 */
function addReflection(server: grpc.Server, services: readonly string[], log: Logger): void {
  let loading: Promise<Reflection> | undefined;
  // A literal path, so `deno compile` includes the module.
  const load = () => loading ??= import("./reflection.ts").then((m) => m.openReflection(services));
  const raw = (bytes: Buffer) => bytes;
  for (const path of REFLECTION_PATHS) {
    const method = {
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
      originalName: "serverReflectionInfo",
    };
    server.addService({ ServerReflectionInfo: method }, {
      ServerReflectionInfo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        let open: ReturnType<Reflection["open"]> | undefined;
        const waiting: (Buffer | undefined)[] = []; // undefined: the client's end
        call.on("data", (bytes: Buffer) => open ? open.data(bytes) : waiting.push(bytes));
        call.on("end", () => open ? open.end() : waiting.push(undefined));
        load().then((reflection) => {
          const opened = reflection.open(path, call);
          open = opened;
          for (const bytes of waiting) bytes ? opened.data(bytes) : opened.end();
        }, (err: Error) => {
          log.error("server reflection could not be built", { error: err.message });
          call.emit("error", grpcError(grpc.status.INTERNAL, "server reflection is unavailable"));
        });
      },
    });
  }
}

/** Binds `server` to `address`; resolves with the port. */
function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
}

const REFUSAL_CODES = {
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
} as const;

/**
 * The one interceptor every call passes: authentication and authorization before the handler
 * runs (a refused call's request is never read, so nothing is created or changed), and a log
 * line with the caller's name for every changing call.
 */
function callGate(auth: Authenticator, log: Logger): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            // Only a certificate the TLS layer verified against the client CA is reported here.
            const cn: unknown = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
            auth.decide({
              method: method.path,
              authorization: metadata.get("authorization"),
              certificateCn: typeof cn === "string" ? cn : undefined,
            }).then((decision) => {
              if (!decision.allowed) {
                log.info("call refused", {
                  method: method.path,
                  code: decision.code,
                  reason: decision.message,
                  peer: call.getPeer(),
                });
                call.sendStatus({ code: REFUSAL_CODES[decision.code], details: decision.message });
                return;
              }
              const access = accessOf(method.path);
              if (access && isChanging(access)) {
                const { caller } = decision;
                log.info("call", { method: method.path, caller: caller.name, via: caller.via });
              }
              metadata.remove("authorization");
              pass(metadata);
            }).catch((err: Error) => {
              // decide() does not throw; should it, the call is refused, never let through.
              log.error("authentication failed", { method: method.path, error: err.message });
              call.sendStatus({ code: grpc.status.INTERNAL, details: "authentication failed" });
            });
          },
        });
      },
    });
}
