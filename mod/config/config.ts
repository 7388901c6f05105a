/**
 * Ottoscaler's configuration: every setting with its environment variable, its flag, its default
 * and its rule, in one table that also produces `--help` and the README's table.
 *
 * Precedence, highest first: command-line flags, the process environment, the `--env-file`
 * file, the defaults. A bad value stops start-up with a message naming the variable.
 *
 * @module
 */

import { parseEnv } from "node:util";
import { LOG_LEVELS, type LogLevel } from "../telemetry/logger.ts";

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
  /** Port of the HTTP server (the web dashboard); 0: off. */
  readonly httpPort: number;
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
  /** Seconds push delivery waits for an acknowledgement before it reconnects and resends. */
  readonly pushAckTimeoutSeconds: number;
  /** The lowest level Ottoscaler logs. */
  readonly logLevel: LogLevel;
  /** Which runtime runs workers. */
  readonly runtime: RuntimeKind;
  /** Where the local runtime keeps worker state and logs. */
  readonly stateDir: string;
  /** The most workers one task may have. */
  readonly maxWorkersPerTask: number;
  /** The most worker starts in flight at once. */
  readonly maxParallelStarts: number;
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
}

/** Thrown for a bad setting; names the variable (and the flag). */
export class ConfigError extends Error {
  /** The environment variable of the setting. */
  readonly variable: string;
  /** Creates the error for `variable`. */
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
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

function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new Error(`must be from ${min} to ${max}, got ${n}`);
    return n;
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v)) {
      throw new Error(`must be one of ${values.join(", ")}, got "${raw}"`);
    }
    return v as T;
  };
}

function text(rule: (v: string) => string | undefined) {
  return (raw: string): string => {
    const problem = rule(raw);
    if (problem) throw new Error(problem);
    return raw;
  };
}

function boolean(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes"].includes(v)) return true;
  if (["false", "0", "no", ""].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
}

const quantity = text((v) =>
  v === "" || /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(v.trim())
    ? undefined
    : `must be a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi (or empty for none), got "${v}"`
);
const nonEmpty = text((v) => (v.trim() === "" ? "must not be empty" : undefined));
const hostPort = text((v) =>
  v === "" || /^[^\s:]+:\d{1,5}$/.test(v) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(v)
    ? undefined
    : `must be host:port (or empty to turn push delivery off), got "${v}"`
);

const path = (v: string) => v.trim();

/** Parses `IMAGE_ALLOWLIST`: comma-separated patterns without spaces. */
function imagePatterns(raw: string): readonly string[] {
  const patterns = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const p of patterns) {
    if (/\s/.test(p)) {
      throw new Error(`"${p}" is not an image pattern such as registry.example.com/ci/*`);
    }
  }
  return patterns;
}

/** Every setting. */
export const SETTINGS: readonly Setting[] = [
  {
    key: "grpcPort",
    env: "GRPC_PORT",
    flag: "port",
    default: "9090",
    doc: "Port of the gRPC server; 0 picks a free port (logged at start).",
    parse: integer(0, 65535),
  },
  {
    key: "grpcHost",
    env: "GRPC_HOST",
    flag: "host",
    default: "",
    doc:
      "Address the gRPC server binds; empty: 0.0.0.0 when authentication is configured, else 127.0.0.1. Another address without authentication is refused unless ALLOW_UNAUTHENTICATED=true.",
    parse: (v) => v.trim(),
  },
  {
    key: "grpcTlsCertFile",
    env: "GRPC_TLS_CERT_FILE",
    flag: "tls-cert-file",
    default: "",
    doc: "PEM certificate (chain) of the gRPC server, re-read when it changes; empty: plaintext.",
    parse: path,
  },
  {
    key: "grpcTlsKeyFile",
    env: "GRPC_TLS_KEY_FILE",
    flag: "tls-key-file",
    default: "",
    doc: "PEM private key of that certificate, re-read with it.",
    parse: path,
  },
  {
    key: "grpcTlsClientCaFile",
    env: "GRPC_TLS_CLIENT_CA_FILE",
    flag: "tls-client-ca-file",
    default: "",
    doc:
      "PEM CA bundle: with it every client must present a certificate it signed (mTLS); empty: none asked for.",
    parse: path,
  },
  {
    key: "grpcHealthPort",
    env: "GRPC_HEALTH_PORT",
    flag: "health-port",
    default: "0",
    doc:
      "Port of a second, plaintext listener with only grpc.health.v1 (for kubelet probes, which cannot use TLS); 0: none.",
    parse: integer(0, 65535),
  },
  {
    key: "httpPort",
    env: "HTTP_PORT",
    flag: "http-port",
    default: "0",
    doc:
      "Port of the HTTP server: the web dashboard (`/`, same tokens and roles as the gRPC API), on the gRPC host; 0: off.",
    parse: integer(0, 65535),
  },
  {
    key: "authTokensFile",
    env: "AUTH_TOKENS_FILE",
    flag: "auth-tokens-file",
    default: "",
    doc:
      "File of `token,name,role` lines (`#` comments; role viewer or operator), re-read when it changes; callers send `authorization: Bearer <token>`.",
    parse: path,
  },
  {
    key: "authServiceAccounts",
    env: "AUTH_SERVICE_ACCOUNTS",
    flag: "auth-service-accounts",
    default: "",
    doc:
      "Kubernetes service accounts allowed, with roles, e.g. `otto:otto-handler=operator,ops:dashboard=viewer`; their tokens are checked with TokenReview.",
    parse: (v) => v.trim(),
  },
  {
    key: "authTokenAudience",
    env: "AUTH_TOKEN_AUDIENCE",
    flag: "auth-token-audience",
    default: "ottoscaler",
    doc:
      "The audience service-account tokens must be issued for (a projected token's `audience`); empty: the API server's own.",
    parse: (v) => v.trim(),
  },
  {
    key: "authClientCertRoles",
    env: "AUTH_CLIENT_CERT_ROLES",
    flag: "auth-client-cert-roles",
    default: "",
    doc:
      "Client-certificate common names allowed (needs GRPC_TLS_CLIENT_CA_FILE), with roles, e.g. `otto-handler=operator`.",
    parse: (v) => v.trim(),
  },
  {
    key: "allowUnauthenticated",
    env: "ALLOW_UNAUTHENTICATED",
    flag: "allow-unauthenticated",
    default: "false",
    doc:
      "Serve an address other than loopback with no authentication configured (anyone who reaches it may do anything); warned about at start.",
    parse: boolean,
  },
  {
    key: "imageAllowlist",
    env: "IMAGE_ALLOWLIST",
    flag: "image-allowlist",
    default: "",
    doc:
      "Comma-separated image patterns workers may use, `*` matching any run of characters (e.g. `registry.example.com/ci/*`); other images are PERMISSION_DENIED; empty: any image.",
    parse: imagePatterns,
  },
  {
    key: "runtime",
    env: "WORKER_RUNTIME",
    flag: "runtime",
    default: "local",
    doc: "Where workers run: `local` (process groups on this machine) or `kubernetes` (pods).",
    parse: oneOf<RuntimeKind>(["local", "kubernetes"]),
  },
  {
    key: "stateDir",
    env: "STATE_DIR",
    flag: "state-dir",
    default: ".ottoscaler/state",
    doc: "Where the local runtime keeps each worker's state, output and numbered log.",
    parse: nonEmpty,
  },
  {
    key: "namespace",
    env: "NAMESPACE",
    flag: "namespace",
    default: "default",
    doc: "Kubernetes namespace of worker pods.",
    parse: text((v) =>
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) && v.length <= 63
        ? undefined
        : `must be a DNS label (lowercase letters, digits, -), got "${v}"`
    ),
  },
  {
    key: "agentImage",
    env: "OTTO_AGENT_IMAGE",
    flag: "agent-image",
    default: "busybox:latest",
    doc: "Image of workers whose build_config names none.",
    parse: text((
      v,
    ) => (v.trim() === "" || /\s/.test(v) ? "must be an image reference" : undefined)),
  },
  {
    key: "handlerHost",
    env: "OTTO_HANDLER_HOST",
    flag: "handler-host",
    default: "",
    doc:
      "otto-handler's gRPC address (host:port) for push delivery of logs and events; empty: off.",
    parse: hostPort,
  },
  {
    key: "handlerTls",
    env: "OTTO_HANDLER_TLS",
    flag: "handler-tls",
    default: "false",
    doc: "Dial otto-handler over TLS.",
    parse: boolean,
  },
  {
    key: "handlerCaFile",
    env: "OTTO_HANDLER_CA_FILE",
    flag: "handler-ca-file",
    default: "",
    doc: "PEM file with the CA that signed otto-handler's certificate (TLS); empty: system roots.",
    parse: (raw: string) => raw,
  },
  {
    key: "handlerCertFile",
    env: "OTTO_HANDLER_CERT_FILE",
    flag: "handler-cert-file",
    default: "",
    doc: "PEM client certificate presented to otto-handler (needs OTTO_HANDLER_TLS); empty: none.",
    parse: path,
  },
  {
    key: "handlerKeyFile",
    env: "OTTO_HANDLER_KEY_FILE",
    flag: "handler-key-file",
    default: "",
    doc: "PEM private key of OTTO_HANDLER_CERT_FILE.",
    parse: path,
  },
  {
    key: "handlerTokenFile",
    env: "OTTO_HANDLER_TOKEN_FILE",
    flag: "handler-token-file",
    default: "",
    doc:
      "File with a bearer token sent to otto-handler on every call (re-read as it changes, e.g. a projected service-account token); empty: none.",
    parse: path,
  },
  {
    key: "pushWindow",
    env: "PUSH_WINDOW",
    flag: "push-window",
    default: "1000",
    doc: "Log lines in flight per worker before push delivery waits for otto-handler's ACKs.",
    parse: integer(1, 100000),
  },
  {
    key: "pushAckTimeoutSeconds",
    env: "PUSH_ACK_TIMEOUT_SECONDS",
    flag: "push-ack-timeout-seconds",
    default: "30",
    doc: "Seconds without an ACK for lines in flight before push delivery reconnects and resends.",
    parse: integer(1, 3600),
  },
  {
    key: "logLevel",
    env: "LOG_LEVEL",
    flag: "log-level",
    default: "info",
    doc: "Lowest level of Ottoscaler's own structured logs: debug, info, warn or error.",
    parse: oneOf<LogLevel>(LOG_LEVELS),
  },
  {
    key: "maxWorkersPerTask",
    env: "MAX_WORKERS_PER_TASK",
    flag: "max-workers-per-task",
    default: "100",
    doc: "The most workers one task may have (ScaleUp's worker_count limit).",
    parse: integer(1, 10000),
  },
  {
    key: "maxParallelStarts",
    env: "MAX_PARALLEL_STARTS",
    flag: "max-parallel-starts",
    default: "16",
    doc: "The most worker starts (or stops) in flight at once.",
    parse: integer(1, 1000),
  },
  {
    key: "stopGraceSeconds",
    env: "STOP_GRACE_SECONDS",
    flag: "stop-grace-seconds",
    default: "10",
    doc: "Seconds a stopped worker gets between SIGTERM and SIGKILL.",
    parse: integer(0, 3600),
  },
  {
    key: "logMaxLineBytes",
    env: "LOG_MAX_LINE_BYTES",
    flag: "log-max-line-bytes",
    default: "65536",
    doc: "Worker output lines longer than this are split into pieces of this size, never dropped.",
    parse: integer(64, 4 * 1024 * 1024),
  },
  {
    key: "shutdownGraceSeconds",
    env: "SHUTDOWN_GRACE_SECONDS",
    flag: "shutdown-grace-seconds",
    default: "10",
    doc: "Seconds open gRPC streams get on SIGTERM/SIGINT before they are cut.",
    parse: integer(0, 3600),
  },
  {
    key: "kubeconfig",
    env: "KUBECONFIG",
    flag: "kubeconfig",
    default: "",
    doc:
      "Kubernetes runtime: the kubeconfig file; empty: the pod's service account in a cluster, else ~/.kube/config.",
    parse: (v) => v.split(":")[0],
  },
  {
    key: "kubeContext",
    env: "KUBE_CONTEXT",
    flag: "kube-context",
    default: "",
    doc: "Kubernetes runtime: the kubeconfig context; empty: its current context.",
    parse: (v) => v.trim(),
  },
  {
    key: "workerCpuRequest",
    env: "WORKER_CPU_REQUEST",
    flag: "worker-cpu-request",
    default: "100m",
    doc: "Kubernetes runtime: CPU request of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerMemoryRequest",
    env: "WORKER_MEMORY_REQUEST",
    flag: "worker-memory-request",
    default: "128Mi",
    doc: "Kubernetes runtime: memory request of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerCpuLimit",
    env: "WORKER_CPU_LIMIT",
    flag: "worker-cpu-limit",
    default: "",
    doc: "Kubernetes runtime: CPU limit of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "workerMemoryLimit",
    env: "WORKER_MEMORY_LIMIT",
    flag: "worker-memory-limit",
    default: "1Gi",
    doc: "Kubernetes runtime: memory limit of every worker container (empty: none).",
    parse: quantity,
  },
  {
    key: "startFailureGraceSeconds",
    env: "START_FAILURE_GRACE_SECONDS",
    flag: "start-failure-grace-seconds",
    default: "60",
    doc:
      "Kubernetes runtime: seconds a pod may show it cannot start (Unschedulable, ErrImagePull, ...) before its worker is failed with that reason.",
    parse: integer(0, 86400),
  },
  {
    key: "podRetentionSeconds",
    env: "POD_RETENTION_SECONDS",
    flag: "pod-retention-seconds",
    default: "600",
    doc:
      "Kubernetes runtime: seconds a finished pod is kept once its logs were delivered; then it is deleted.",
    parse: integer(0, 30 * 86400),
  },
];

/** Where configuration comes from. */
export interface ConfigSources {
  /** The process environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Flags given on the command line, by flag name. */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** The text of an env file (KEY=value lines), if one was given. */
  readonly envFileText?: string;
}

/** Builds the configuration; throws {@linkcode ConfigError} naming the first bad setting. */
export function loadConfig(sources: ConfigSources): Config {
  let fromFile: Record<string, string> = {};
  if (sources.envFileText !== undefined) {
    fromFile = parseEnv(sources.envFileText) as Record<string, string>;
  }
  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagValue = sources.flags?.[setting.flag];
    const raw = flagValue ?? sources.env[setting.env] ?? fromFile[setting.env] ?? setting.default;
    const origin = flagValue !== undefined ? ` (--${setting.flag})` : "";
    try {
      config[setting.key] = setting.parse(raw);
    } catch (err) {
      throw new ConfigError(setting.env + origin, err instanceof Error ? err.message : String(err));
    }
  }
  return config as unknown as Config;
}

/** The settings as `--help` lines. */
export function settingsHelp(): string {
  return SETTINGS.map((s) =>
    `  --${s.flag.padEnd(24)} ${s.env.padEnd(22)} default ${
      s.default === "" ? '""' : s.default
    }\n` +
    `      ${s.doc}`
  ).join("\n");
}

/** The settings as a Markdown table, as the README shows them. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) =>
    `| \`${s.env}\` | \`--${s.flag}\` | ${
      s.default === "" ? "(empty)" : `\`${s.default}\``
    } | ${s.doc} |`
  );
  return ["| Variable | Flag | Default | Meaning |", "|---|---|---|---|", ...rows].join("\n");
}
