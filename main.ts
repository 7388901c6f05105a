/**
 * Ottoscaler's entry point: `serve` runs the orchestrator; the other commands are a CLI that
 * talks to a running one over gRPC.
 *
 * `serve` is the only place that chooses a worker runtime and wires the parts together:
 *
 * ```
 * config ─▶ runtime (local | kubernetes) ─▶ scaler, pipelines ─▶ gRPC server (+ health, reflection)
 * ```
 *
 * With leader election (Kubernetes runtime) every replica opens the read side (the runtime's pod
 * cache, the gRPC server for reads, the HTTP port) at once; the writers (pipelines, push
 * delivery; the runtime's reaper and start/stop are gated) only once it holds the Lease. A leader
 * that loses the Lease closes everything and exits 1, so it restarts clean as a standby.
 *
 * Pipeline state goes with the runtime: files under STATE_DIR locally, ConfigMaps in the
 * namespace (over the runtime's own API connection) in Kubernetes mode.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Config,
  ConfigError,
  loadConfig,
  SETTINGS,
  settingsHelp,
} from "./mod/config/config.ts";
import { COMMANDS } from "./mod/cli/commands.ts";
import { isParseArgsError, UsageError } from "./mod/cli/command.ts";
import { describeGrpcError, isUnavailable, refusalHint } from "./mod/cli/client.ts";
import { connectHandler } from "./mod/grpc/handler_client.ts";
import { startServer } from "./mod/grpc/server.ts";
import { Authenticator } from "./mod/grpc/auth/authenticator.ts";
import { bindPolicy, isLoopback } from "./mod/grpc/auth/bind_policy.ts";
import {
  commonNameProblem,
  parseRoleList,
  serviceAccountKeyProblem,
} from "./mod/grpc/auth/credentials.ts";
import type { Role } from "./mod/grpc/auth/roles.ts";
import { ReloadingCertificateProvider, TlsFileError } from "./mod/grpc/auth/tls.ts";
import { TokenReviewer } from "./mod/grpc/auth/token_review.ts";
import { ImagePolicy } from "./mod/worker/image_policy.ts";
import { FileDeliveryStore } from "./mod/push/delivery_store.ts";
import { PushDelivery } from "./mod/push/push.ts";
import { PipelineExecutor } from "./mod/pipeline/executor.ts";
import { FilePipelineStore } from "./mod/pipeline/state.ts";
import { Scaler } from "./mod/scaler/scaler.ts";
import { createLogger, type Logger } from "./mod/telemetry/logger.ts";
import { LocalRuntime } from "./mod/worker/local/runtime.ts";
// The Kubernetes client and everything built on it are imported only in Kubernetes mode (dynamic
// imports below): the local runtime never loads them, which keeps its memory small.
import type { KubeApi, KubeObserver } from "./mod/kube/api.ts";
import { LeaderElector, type Leadership } from "./mod/kube/leader.ts";
import { observeWorkerMetrics } from "./mod/events/metrics.ts";
import { HttpServer } from "./mod/http/server.ts";
import { Metrics } from "./mod/telemetry/metrics.ts";
import { Readiness } from "./mod/telemetry/readiness.ts";
import { ApiContact } from "./mod/kube/contact.ts";
import { EventRecorder, type EventSubject } from "./mod/kube/events.ts";
import type { KubeRuntime } from "./mod/worker/kube/runtime.ts";
import type { Runtime } from "./mod/worker/types.ts";

/** The version printed by `ottoscaler version`. */
export const VERSION = "0.1.0";

const SERVE_HELP = `Usage: ottoscaler serve [--env-file FILE] [flags]

Runs Ottoscaler: the gRPC API (ottoscaler.v1.OttoscalerService and LogStreamingService,
grpc.health.v1, reflection), the worker runtime, and push delivery of logs and state changes to
otto-handler when OTTO_HANDLER_HOST is set. Stops gracefully on SIGTERM or SIGINT; workers keep
running and are re-adopted at the next start.

Every setting comes from a flag, else the environment, else --env-file, else its default:

  --env-file FILE            read KEY=value lines (e.g. .env.alice.local); set variables win
${settingsHelp()}`;

function usage(): string {
  const commands = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n");
  return `Ottoscaler ${VERSION}: runs CI/CD workers as Kubernetes pods or local processes.

Usage: ottoscaler <command> [flags]

Commands:
  serve        run Ottoscaler (gRPC API and worker runtime)
${commands}
  version      print the version
  help         this help

Run "ottoscaler <command> --help" for a command's flags.`;
}

/** Opens the local runtime on STATE_DIR. */
async function openLocalRuntime(config: Config, logger: Logger): Promise<Runtime> {
  return await LocalRuntime.open({
    stateDir: config.stateDir,
    logger,
    stopGraceMs: config.stopGraceSeconds * 1000,
    maxLineBytes: config.logMaxLineBytes,
  });
}

/** Connects to the configured cluster (the Kubernetes runtime and the pipeline store share it). */
async function connectCluster(config: Config, observer: KubeObserver): Promise<KubeApi> {
  const { connectKube } = await import("./mod/kube/api.ts");
  try {
    return connectKube({ kubeconfig: config.kubeconfig, context: config.kubeContext, observer });
  } catch (err) {
    throw new ConfigError(
      "KUBECONFIG",
      `cannot load a Kubernetes configuration: ${(err as Error).message}`,
    );
  }
}

/** Opens the Kubernetes runtime on the configured cluster and namespace. */
async function openKubeRuntime(
  config: Config,
  logger: Logger,
  isDelivered: (workerId: string) => boolean,
  api: KubeApi,
  extra: { leadership?: Leadership; metrics: Metrics; events?: EventRecorder },
): Promise<KubeRuntime> {
  const { KubeRuntime } = await import("./mod/worker/kube/runtime.ts");
  const quantities = (cpu: string, memory: string) => ({
    ...(cpu ? { cpu } : {}),
    ...(memory ? { memory } : {}),
  });
  return await KubeRuntime.open({
    api,
    namespace: config.namespace,
    logger,
    resources: {
      requests: quantities(config.workerCpuRequest, config.workerMemoryRequest),
      limits: quantities(config.workerCpuLimit, config.workerMemoryLimit),
    },
    stopGraceSeconds: config.stopGraceSeconds,
    startFailureGraceMs: config.startFailureGraceSeconds * 1000,
    retentionMs: config.podRetentionSeconds * 1000,
    maxParallelCreates: config.maxParallelStarts,
    isDelivered,
    leadership: extra.leadership,
    events: extra.events,
    onWatchRestart: () => extra.metrics.kubeWatchRestarts.inc(),
  });
}

/** Parses a role-list setting, naming the variable when it is bad. */
function roleList(
  variable: string,
  text: string,
  keyProblem: (key: string) => string | undefined,
): Map<string, Role> {
  try {
    return parseRoleList(text, keyProblem);
  } catch (err) {
    throw new ConfigError(variable, (err as Error).message);
  }
}

/** Settings that only make sense together; throws naming the variable. */
function checkSecuritySettings(config: Config): void {
  const pairs: [string, string, string, string][] = [
    ["GRPC_TLS_CERT_FILE", config.grpcTlsCertFile, "GRPC_TLS_KEY_FILE", config.grpcTlsKeyFile],
    [
      "OTTO_HANDLER_CERT_FILE",
      config.handlerCertFile,
      "OTTO_HANDLER_KEY_FILE",
      config.handlerKeyFile,
    ],
  ];
  for (const [a, av, b, bv] of pairs) {
    if (!av !== !bv) throw new ConfigError(av ? b : a, `must be set together with ${av ? a : b}`);
  }
  if (config.grpcTlsClientCaFile && !config.grpcTlsCertFile) {
    throw new ConfigError(
      "GRPC_TLS_CLIENT_CA_FILE",
      "needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE (client certificates need TLS)",
    );
  }
  if (config.authClientCertRoles && !config.grpcTlsClientCaFile) {
    throw new ConfigError(
      "AUTH_CLIENT_CERT_ROLES",
      "needs GRPC_TLS_CLIENT_CA_FILE: only certificates signed by that CA are believed",
    );
  }
  if ((config.handlerCertFile || config.handlerTokenFile) && !config.handlerTls) {
    throw new ConfigError(
      config.handlerCertFile ? "OTTO_HANDLER_CERT_FILE" : "OTTO_HANDLER_TOKEN_FILE",
      "needs OTTO_HANDLER_TLS=true (a credential sent in plaintext can be read off the network)",
    );
  }
}

/** The gRPC server's security: TLS, who may call, and where to bind. */
async function openSecurity(
  config: Config,
  logger: Logger,
  kubeApi: () => Promise<KubeApi>,
  parts: AsyncDisposableStack,
) {
  checkSecuritySettings(config);
  const serviceAccounts = roleList(
    "AUTH_SERVICE_ACCOUNTS",
    config.authServiceAccounts,
    serviceAccountKeyProblem,
  );
  const certificateRoles = roleList(
    "AUTH_CLIENT_CERT_ROLES",
    config.authClientCertRoles,
    commonNameProblem,
  );
  const log = logger.with({ component: "auth" });
  let tls: ReloadingCertificateProvider | undefined;
  if (config.grpcTlsCertFile) {
    try {
      tls = await ReloadingCertificateProvider.open({
        certFile: config.grpcTlsCertFile,
        keyFile: config.grpcTlsKeyFile,
        clientCaFile: config.grpcTlsClientCaFile,
      }, log);
    } catch (err) {
      if (err instanceof TlsFileError) throw new ConfigError(err.variable, err.message);
      throw err;
    }
    parts.defer(() => tls!.close());
  }
  const reviewer = serviceAccounts.size > 0
    ? new TokenReviewer({ api: await kubeApi(), audience: config.authTokenAudience })
    : undefined;
  let auth: Authenticator;
  try {
    auth = await Authenticator.open({
      tokensFile: config.authTokensFile,
      serviceAccounts,
      certificateRoles,
      review: reviewer && ((token) => reviewer.review(token)),
      logger: log,
    });
  } catch (err) {
    throw new ConfigError(
      "AUTH_TOKENS_FILE",
      (err as Error).message.replace(/^AUTH_TOKENS_FILE: /, ""),
    );
  }
  parts.defer(() => auth.close());
  const bind = bindPolicy({
    host: config.grpcHost,
    authEnabled: auth.enabled,
    allowUnauthenticated: config.allowUnauthenticated,
  });
  if (!bind.ok) throw new ConfigError("GRPC_HOST", bind.message);
  if (bind.warning) log.warn(bind.warning);
  if (auth.enabled && !tls && !isLoopback(bind.host)) {
    log.warn("authentication without TLS: tokens travel in plaintext; set GRPC_TLS_CERT_FILE");
  }
  if (!auth.enabled && isLoopback(bind.host)) {
    log.info("no authentication configured: serving loopback only, every local caller is operator");
  }
  return { auth, tls, host: bind.host, warning: bind.warning };
}

/** Starts push delivery to otto-handler when OTTO_HANDLER_HOST is set. */
async function startPush(
  config: Config,
  runtime: Runtime,
  logger: Logger,
  kubeApi: KubeApi | undefined,
  leadership: Leadership | undefined,
): Promise<PushDelivery | undefined> {
  if (!config.handlerHost) return undefined;
  let caPem: Uint8Array | undefined;
  if (config.handlerCaFile) {
    try {
      caPem = await Deno.readFile(config.handlerCaFile);
    } catch (err) {
      throw new ConfigError("OTTO_HANDLER_CA_FILE", `cannot read: ${(err as Error).message}`);
    }
  }
  const push = PushDelivery.open({
    runtime,
    // In Kubernetes mode progress is an annotation on each worker pod, so it survives a
    // rescheduled Ottoscaler pod and goes away with the worker.
    store: kubeApi
      ? await (await import("./mod/push/pod_delivery_store.ts")).PodDeliveryStore
        .open(kubeApi, config.namespace, leadership)
      : await FileDeliveryStore.open(`${config.stateDir}/delivery.json`),
    transport: connectHandler({
      address: config.handlerHost,
      tls: config.handlerTls,
      caPem,
      clientCertificate: await handlerClientCertificate(config),
      tokenFile: config.handlerTokenFile || undefined,
      namespace: config.namespace,
    }),
    logger,
    window: config.pushWindow,
    ackTimeoutMs: config.pushAckTimeoutSeconds * 1000,
  });
  logger.info("push delivery to otto-handler on", {
    handlerHost: config.handlerHost,
    tls: config.handlerTls,
    clientCertificate: config.handlerCertFile !== "",
    token: config.handlerTokenFile !== "",
  });
  return push;
}

/** Reads the client certificate presented to otto-handler, if one is configured. */
async function handlerClientCertificate(
  config: Config,
): Promise<{ certPem: Uint8Array; keyPem: Uint8Array } | undefined> {
  if (!config.handlerCertFile) return undefined;
  const read = async (variable: string, path: string) => {
    try {
      return await Deno.readFile(path);
    } catch (err) {
      throw new ConfigError(variable, `cannot read "${path}": ${(err as Error).message}`);
    }
  };
  return {
    certPem: await read("OTTO_HANDLER_CERT_FILE", config.handlerCertFile),
    keyPem: await read("OTTO_HANDLER_KEY_FILE", config.handlerKeyFile),
  };
}

/** Runs `serve` until SIGTERM or SIGINT; resolves with the exit code. */
async function serve(args: string[]): Promise<number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    "env-file": { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const s of SETTINGS) options[s.flag] = { type: "string" };
  const { values } = parseArgs({ args, options, strict: true });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const envFile = values["env-file"] as string | undefined;
  let envFileText: string | undefined;
  if (envFile !== undefined) {
    try {
      envFileText = await Deno.readTextFile(envFile);
    } catch (err) {
      throw new UsageError(`--env-file: cannot read "${envFile}": ${(err as Error).message}`);
    }
  }
  const config = loadConfig({
    env: Deno.env.toObject(),
    flags: values as Record<string, string | undefined>,
    envFileText,
  });
  const logger = createLogger({ level: config.logLevel, fields: { service: "ottoscaler" } });
  logger.info("starting", {
    version: VERSION,
    runtime: config.runtime,
    stateDir: config.runtime === "local" ? config.stateDir : undefined,
    namespace: config.namespace,
  });
  // Listening for the stop signal from the start: a SIGTERM while the parts start (right after
  // the server said it listens, say) must close them, not kill the process outright.
  const stopSignal = nextSignal(["SIGTERM", "SIGINT"]);
  // Every part is closed from one stack, in the reverse order of its start, on the way out:
  // after a signal, and equally when a later part fails to start.
  await using parts = new AsyncDisposableStack();
  const metrics = new Metrics();
  const readiness = new Readiness();
  const contact = new ApiContact();
  // In Kubernetes mode the cluster is the only state: workers are pods, pipelines ConfigMaps.
  const observeKube = (verb: string, code: number) => {
    metrics.kubeRequests.inc({ verb, code: String(code) });
    contact.answered(code);
  };
  const kubeApi = config.runtime === "kubernetes"
    ? await connectCluster(config, observeKube)
    : undefined;
  // Security is settled before anything starts, so a server that would be wide open never does.
  const security = await openSecurity(
    config,
    logger,
    async () => kubeApi ?? await connectCluster(config, observeKube),
    parts,
  );
  const imagePolicy = new ImagePolicy(config.imageAllowlist);
  if (kubeApi) {
    contact.start(kubeApi);
    parts.defer(() => contact.close());
    readiness.add("api", () => contact.problem);
  }
  const events = kubeApi
    ? new EventRecorder({ api: kubeApi, namespace: config.namespace, logger })
    : undefined;
  if (events) parts.defer(() => events.flush());
  // Leader election: campaign at once; the writers open below once this instance leads.
  const lost = Promise.withResolvers<string>();
  const leading = Promise.withResolvers<void>();
  let elector: LeaderElector | undefined;
  if (kubeApi && config.leaderElection) {
    const identity = `${config.podName || Deno.hostname()}_${crypto.randomUUID().slice(0, 8)}`;
    // Leadership Events go on this pod (kubectl describe pod), else on the Lease itself.
    const subject: EventSubject = config.podName
      ? { kind: "Pod", apiVersion: "v1", name: config.podName }
      : { kind: "Lease", apiVersion: "coordination.k8s.io/v1", name: config.leaderElectionLease };
    elector = LeaderElector.open({
      api: kubeApi,
      namespace: config.namespace,
      name: config.leaderElectionLease,
      identity,
      leaseDurationMs: config.leaderElectionLeaseSeconds * 1000,
      renewDeadlineMs: config.leaderElectionLeaseSeconds * 1000 * 2 / 3,
      retryPeriodMs: config.leaderElectionLeaseSeconds * 1000 * 2 / 15,
      logger,
      onLeading: () => {
        events!.record(subject, {
          type: "Normal",
          reason: "LeaderElection",
          message: `${identity} became leader of lease ${config.leaderElectionLease}`,
        });
        leading.resolve();
      },
      onLost: (reason) => {
        events!.record(subject, {
          type: "Warning",
          reason: "LeaderElection",
          message: `${identity} stopped leading (${reason}); exiting to restart clean`,
        });
        lost.resolve(reason);
      },
    });
    parts.defer(() => elector!.close());
    readiness.add(
      "leader",
      () =>
        elector!.isLeader()
          ? undefined
          : `not the leader (standby); the leader is ${elector!.leader() ?? "not known yet"}`,
    );
  } else {
    leading.resolve();
  }
  metrics.observeLeader(() => elector?.isLeader() ?? true);
  // The Kubernetes runtime keeps a finished pod until push delivery says its log was delivered.
  // Push delivery starts only once this instance leads (its progress is read from the pods then),
  // so the runtime asks through a reference that push delivery fills in.
  let push: PushDelivery | undefined;
  const isDelivered = (id: string) => push ? push.isDelivered(id) : !config.handlerHost;
  const kubeRuntime = kubeApi
    ? await openKubeRuntime(config, logger, isDelivered, kubeApi, {
      leadership: elector,
      metrics,
      events,
    })
    : undefined;
  const runtime: Runtime = kubeRuntime ?? await openLocalRuntime(config, logger);
  parts.defer(() => runtime.close());
  if (kubeRuntime) readiness.add("pods", () => kubeRuntime.problem);
  parts.defer(
    observeWorkerMetrics(runtime, metrics, { counting: () => elector?.isLeader() ?? true }),
  );
  const scaler = new Scaler({
    runtime,
    logger,
    defaultImage: config.agentImage,
    maxWorkersPerTask: config.maxWorkersPerTask,
    maxParallelStarts: config.maxParallelStarts,
    imagePolicy,
  });
  const pipelines = new PipelineExecutor({
    runtime,
    store: kubeApi
      ? new (await import("./mod/pipeline/configmap_store.ts")).ConfigMapPipelineStore({
        api: kubeApi,
        namespace: config.namespace,
        logger,
        leadership: elector,
      })
      : new FilePipelineStore(`${config.stateDir}/pipelines`),
    logger,
    defaultImage: config.agentImage,
    imagePolicy,
    onStageFinished: (type, status) =>
      metrics.pipelineStages.inc({ type, result: status.replace(/^STAGE_/, "").toLowerCase() }),
  });
  const server = await startServer({
    host: security.host,
    auth: security.auth,
    tls: security.tls,
    healthPort: config.grpcHealthPort,
    port: config.grpcPort,
    scaler,
    runtime,
    namespace: config.namespace,
    logger,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    maxAgentMessageBytes: config.logMaxLineBytes,
    maxWorkersPerStage: config.maxWorkersPerTask,
    pipelines,
    metrics,
    readiness,
    leadership: elector,
  });
  parts.defer(() => server.close());
  if (config.httpPort !== 0) {
    // Bound like the gRPC server: loopback unless authentication is configured (or waived).
    const http = await HttpServer.open({
      host: security.host,
      port: config.httpPort,
      metrics,
      readiness,
      warnings: security.warning ? [security.warning] : [],
      logger,
    });
    parts.defer(() => http.close());
  }
  // Not ready from the first moment of shutdown (the Service stops sending calls).
  parts.defer(() => readiness.close());

  const signal = stopSignal;
  const first = await Promise.race([
    signal.then((s) => ({ signal: s })),
    leading.promise.then(() => ({ leading: true })),
    lost.promise.then((reason) => ({ lost: reason })),
  ]);
  if ("leading" in first) {
    // The writers: only the leader runs them (re-adopting pods, resuming delivery from their
    // annotations, continuing pipelines from their ConfigMaps).
    push = await startPush(config, runtime, logger, kubeApi, elector);
    if (push) {
      parts.defer(() => push!.close());
      metrics.observePush(push);
    }
    parts.defer(() => pipelines.close());
    await pipelines.start();
  }
  const end = "leading" in first
    ? await Promise.race([
      signal.then((s) => ({ signal: s })),
      lost.promise.then((r) => ({ lost: r })),
    ])
    : first;
  if ("lost" in end) {
    logger.error("leadership lost; closing and exiting so a restart comes back clean", {
      reason: end.lost,
    });
    // Whatever hangs in shutdown, the process must not outlive its right to write for long.
    Deno.unrefTimer(setTimeout(() => Deno.exit(1), config.shutdownGraceSeconds * 1000 + 5000));
    await parts.disposeAsync();
    return 1;
  }
  logger.info("shutting down", { signal: "signal" in end ? end.signal : undefined });
  await parts.disposeAsync();
  logger.info("stopped; workers keep running and are re-adopted at the next start");
  return 0;
}

/** Resolves with the first of `signals` to arrive, and stops listening for them. */
function nextSignal(signals: Deno.Signal[]): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const handlers = signals.map((signal) => {
      const handler = () => {
        for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return { signal, handler };
    });
  });
}

/** Runs the command line; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const out = { line: (text: string) => console.log(text) };
  try {
    switch (name) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(usage());
        return name === undefined ? 2 : 0;
      case "version":
      case "--version":
        console.log(VERSION);
        return 0;
      case "serve":
        return await serve(rest);
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}"; run "ottoscaler help"`);
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    if (isParseArgsError(err)) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    console.error(`error: ${describeGrpcError(err)}`);
    if (isUnavailable(err)) {
      console.error("hint: is Ottoscaler running there? Start it with: deno task dev");
    }
    const hint = refusalHint(err);
    if (hint) console.error(hint);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
