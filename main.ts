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
import { COMMANDS, UsageError } from "./mod/cli/commands.ts";
import { describeGrpcError, isUnavailable, refusalHint } from "./mod/cli/client.ts";
import { connectHandler } from "./mod/grpc/handler_client.ts";
import { startServer } from "./mod/grpc/server.ts";
import { dashboard } from "./mod/http/dashboard/dashboard.ts";
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
import { type DeliveryStore, FileDeliveryStore } from "./mod/push/delivery_store.ts";
import { PodDeliveryStore } from "./mod/push/pod_delivery_store.ts";
import { PushDelivery } from "./mod/push/push.ts";
import { PipelineExecutor } from "./mod/pipeline/executor.ts";
import { ConfigMapPipelineStore } from "./mod/pipeline/configmap_store.ts";
import { FilePipelineStore } from "./mod/pipeline/state.ts";
import { Scaler } from "./mod/scaler/scaler.ts";
import { createLogger, type Logger } from "./mod/telemetry/logger.ts";
import { LocalRuntime } from "./mod/worker/local/runtime.ts";
import { connectKube, type KubeApi } from "./mod/kube/api.ts";
import { KubeRuntime } from "./mod/worker/kube/runtime.ts";
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
function connectCluster(config: Config): KubeApi {
  try {
    return connectKube({ kubeconfig: config.kubeconfig, context: config.kubeContext });
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
): Promise<Runtime> {
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

/** Serves the dashboard on HTTP_PORT (on the gRPC host); resolves once it listens. */
async function openHttp(
  host: string,
  port: number,
  logger: Logger,
  handler: (request: Request) => Promise<Response | undefined>,
): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const log = logger.with({ component: "http" });
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: host,
    port,
    onListen: () => listening.resolve(),
    onError: (err) => {
      log.error("HTTP request failed", { err });
      return new Response("internal error\n", { status: 500 });
    },
  }, async (request) => (await handler(request)) ?? new Response("not found\n", { status: 404 }));
  await listening.promise;
  log.info("HTTP server listening", { address: host, port: server.addr.port });
  return server;
}

/** The gRPC server's security: TLS, who may call, and where to bind. */
async function openSecurity(
  config: Config,
  logger: Logger,
  kubeApi: () => KubeApi,
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
    ? new TokenReviewer({ api: kubeApi(), audience: config.authTokenAudience })
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

/**
 * Opens push delivery's progress store when OTTO_HANDLER_HOST is set. In Kubernetes mode progress
 * is an annotation on each worker pod, so it survives a rescheduled Ottoscaler pod and goes away
 * with the worker.
 */
async function openDeliveryStore(
  config: Config,
  kubeApi: KubeApi | undefined,
): Promise<DeliveryStore | undefined> {
  if (!config.handlerHost) return undefined;
  return kubeApi
    ? await PodDeliveryStore.open(kubeApi, config.namespace)
    : await FileDeliveryStore.open(`${config.stateDir}/delivery.json`);
}

/** Starts push delivery to otto-handler (OTTO_HANDLER_HOST), recording progress in `store`. */
async function startPush(
  config: Config,
  runtime: Runtime,
  logger: Logger,
  store: DeliveryStore,
): Promise<PushDelivery> {
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
    store,
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
  // In Kubernetes mode the cluster is the only state: workers are pods, pipelines ConfigMaps.
  const kubeApi = config.runtime === "kubernetes" ? connectCluster(config) : undefined;
  // Security is settled before anything starts, so a server that would be wide open never does.
  const security = await openSecurity(
    config,
    logger,
    () => kubeApi ?? connectCluster(config),
    parts,
  );
  const imagePolicy = new ImagePolicy(config.imageAllowlist);
  // A finished worker's pod is kept until its log and state changes were delivered: with push
  // delivery, until its progress store says so; without, at once.
  const deliveries = await openDeliveryStore(config, kubeApi);
  const isDelivered = (id: string) => !deliveries || deliveries.get(id).complete === true;
  const runtime = kubeApi
    ? await openKubeRuntime(config, logger, isDelivered, kubeApi)
    : await openLocalRuntime(config, logger);
  parts.defer(() => runtime.close());
  if (deliveries) {
    const push = await startPush(config, runtime, logger, deliveries);
    parts.defer(() => push.close());
  }
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
      ? new ConfigMapPipelineStore({ api: kubeApi, namespace: config.namespace, logger })
      : new FilePipelineStore(`${config.stateDir}/pipelines`),
    logger,
    defaultImage: config.agentImage,
    imagePolicy,
  });
  parts.defer(() => pipelines.close());
  await pipelines.start();
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
  });
  parts.defer(() => server.close());
  if (config.httpPort !== 0) {
    const closing = new AbortController();
    const http = await openHttp(
      security.host,
      config.httpPort,
      logger,
      dashboard({
        runtime,
        pipelines,
        auth: security.auth,
        logger,
        closing: closing.signal,
      }),
    );
    parts.defer(() => {
      closing.abort();
      return http.shutdown();
    });
  }

  const signal = await stopSignal;
  logger.info("shutting down", { signal });
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
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
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
