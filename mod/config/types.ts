/**
 * The shapes of Ottoscaler's configuration: the validated {@linkcode Config} of `serve` and one
 * {@linkcode Setting} of the table that parses it.
 *
 * @module
 */

import type { LogLevel } from "../telemetry/logger.ts";

/** Which runtime runs workers. */
export type RuntimeKind = "local" | "kubernetes";

/** The validated configuration of `serve`. */
export interface Config {
  /** Port of the gRPC server (0 picks a free one). */
  readonly grpcPort: number;
  /** Address the gRPC server binds; empty: 0.0.0.0 with authentication, else 127.0.0.1. */
  readonly grpcHost: string;
  /** PEM certificate (chain) of the gRPC server; empty: plaintext. */
  readonly grpcTlsCertFile: string;
  /** PEM private key of the gRPC server. */
  readonly grpcTlsKeyFile: string;
  /** PEM CA bundle client certificates must chain to (mTLS); empty: none asked for. */
  readonly grpcTlsClientCaFile: string;
  /** Port of a plaintext listener serving only grpc.health.v1; 0: none. */
  readonly grpcHealthPort: number;
  /** The tokens file (`token,name,role` lines); empty: no static tokens. */
  readonly authTokensFile: string;
  /** Service accounts allowed (`namespace:name=role`, comma-separated), checked by TokenReview. */
  readonly authServiceAccounts: string;
  /** The audience service-account tokens must be issued for. */
  readonly authTokenAudience: string;
  /** Client-certificate CNs allowed (`cn=role`, comma-separated). */
  readonly authClientCertRoles: string;
  /** Serve an address other than loopback without authentication. */
  readonly allowUnauthenticated: boolean;
  /** Image patterns workers may use (`*` matches any run of characters); empty: any image. */
  readonly imageAllowlist: readonly string[];
  /** The Kubernetes namespace of worker pods. */
  readonly namespace: string;
  /** The image of workers whose build_config names none. */
  readonly agentImage: string;
  /** otto-handler's address for push delivery; empty: push mode off. */
  readonly handlerHost: string;
  /** Dial otto-handler over TLS. */
  readonly handlerTls: boolean;
  /** A PEM file with the CA of otto-handler's certificate; empty: the system's roots. */
  readonly handlerCaFile: string;
  /** A PEM client certificate presented to otto-handler; empty: none. */
  readonly handlerCertFile: string;
  /** The PEM key of that client certificate. */
  readonly handlerKeyFile: string;
  /** A file with the bearer token sent to otto-handler (re-read on each connection); empty: none. */
  readonly handlerTokenFile: string;
  /** Log lines in flight per worker before push delivery waits for acknowledgements. */
  readonly pushWindow: number;
  /** The client of ForwardWorkerLogs (see {@linkcode PushLogClient}). */
  readonly pushLogClient: PushLogClient;
  /** Seconds push delivery waits for an acknowledgement before it reconnects and resends. */
  readonly pushAckTimeoutSeconds: number;
  /** The lowest level Ottoscaler logs. */
  readonly logLevel: LogLevel;
  /** Which runtime runs workers. */
  readonly runtime: RuntimeKind;
  /** Where the local runtime keeps worker state and logs. */
  readonly stateDir: string;
  /** Run serve as a child of a supervisor that restarts it at once after an abnormal exit. */
  readonly supervise: boolean;
  /** Local runtime: seconds an ended, delivered worker (and a finished pipeline) is kept. */
  readonly stateRetentionSeconds: number;
  /** The most workers one task may have. */
  readonly maxWorkersPerTask: number;
  /** The most worker starts in flight at once. */
  readonly maxParallelStarts: number;
  /** The most workers running at once on the whole instance; 0: no cap. */
  readonly maxRunningWorkers: number;
  /** The most workers of one tenant running at once; 0: no cap. */
  readonly maxRunningWorkersPerTenant: number;
  /** Seconds a worker may wait in line before it fails as QuotaExceeded. */
  readonly queueTimeoutSeconds: number;
  /** Seconds between SIGTERM and SIGKILL when a worker is stopped. */
  readonly stopGraceSeconds: number;
  /** Output lines longer than this many bytes are split into pieces of this size. */
  readonly logMaxLineBytes: number;
  /** Seconds open streams get to finish on shutdown before they are cut. */
  readonly shutdownGraceSeconds: number;
  /** The kubeconfig file of the Kubernetes runtime; empty: in-cluster, else the defaults. */
  readonly kubeconfig: string;
  /** The kubeconfig context; empty: its current context. */
  readonly kubeContext: string;
  /** CPU request of worker containers (a Kubernetes quantity); empty: none. */
  readonly workerCpuRequest: string;
  /** Memory request of worker containers; empty: none. */
  readonly workerMemoryRequest: string;
  /** CPU limit of worker containers; empty: none. */
  readonly workerCpuLimit: string;
  /** Memory limit of worker containers; empty: none. */
  readonly workerMemoryLimit: string;
  /** Seconds a pod may show it cannot start before its worker is failed with the reason. */
  readonly startFailureGraceSeconds: number;
  /** Seconds a finished pod is kept after its logs were delivered, before it is deleted. */
  readonly podRetentionSeconds: number;
  /** Port of the HTTP server (/metrics, /healthz, /readyz); 0: off. */
  readonly httpPort: number;
  /** Whether replicas elect a leader on a Lease (Kubernetes runtime). */
  readonly leaderElection: boolean;
  /** The Lease's name. */
  readonly leaderElectionLease: string;
  /** The Lease's duration in seconds (renew deadline 2/3 of it, retry period 2/15). */
  readonly leaderElectionLeaseSeconds: number;
  /** This pod's name (downward API): the leader identity and the object of leadership Events. */
  readonly podName: string;
}

/** One setting. */
export interface Setting {
  /** The field of {@linkcode Config}. */
  readonly key: keyof Config;
  /** The environment variable. */
  readonly env: string;
  /** The long flag, without dashes. */
  readonly flag: string;
  /** The default, as text. */
  readonly default: string;
  /** One sentence for --help and the README. */
  readonly doc: string;
  /** Turns text into the value or throws with the rule. */
  readonly parse: (raw: string) => Config[keyof Config];
}

/** grpc-js's client, or Ottoscaler's own on node:http2 (mod/grpc/h2_stream.ts). */
export type PushLogClient = "grpc-js" | "http2";
