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
import { describeGrpcError, isUnavailable } from "./mod/cli/client.ts";
import { connectHandler } from "./mod/grpc/handler_client.ts";
import { startServer } from "./mod/grpc/server.ts";
import { FileDeliveryStore } from "./mod/push/delivery_store.ts";
import { PodDeliveryStore } from "./mod/push/pod_delivery_store.ts";
import { PushDelivery } from "./mod/push/push.ts";
import { PipelineExecutor } from "./mod/pipeline/executor.ts";
import { ConfigMapPipelineStore } from "./mod/pipeline/configmap_store.ts";
import { FilePipelineStore } from "./mod/pipeline/state.ts";
import { Scaler } from "./mod/scaler/scaler.ts";
import { AdmittingRuntime } from "./mod/admission/runtime.ts";
import { FileAdmissionStore } from "./mod/admission/store.ts";
import { ConfigMapAdmissionStore } from "./mod/admission/configmap_store.ts";
import { QuotaCapacity } from "./mod/admission/quota.ts";
import { buildPod, type Resources } from "./mod/worker/kube/pod.ts";
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

/** The requests and limits of every worker container (WORKER_CPU_* and WORKER_MEMORY_*). */
function workerResources(config: Config): Resources {
  const quantities = (cpu: string, memory: string) => ({
    ...(cpu ? { cpu } : {}),
    ...(memory ? { memory } : {}),
  });
  return {
    requests: quantities(config.workerCpuRequest, config.workerMemoryRequest),
    limits: quantities(config.workerCpuLimit, config.workerMemoryLimit),
  };
}

/** Opens the Kubernetes runtime on the configured cluster and namespace. */
async function openKubeRuntime(
  config: Config,
  logger: Logger,
  isDelivered: (workerId: string) => boolean,
  api: KubeApi,
): Promise<Runtime> {
  return await KubeRuntime.open({
    api,
    namespace: config.namespace,
    logger,
    resources: workerResources(config),
    stopGraceSeconds: config.stopGraceSeconds,
    startFailureGraceMs: config.startFailureGraceSeconds * 1000,
    retentionMs: config.podRetentionSeconds * 1000,
    maxParallelCreates: config.maxParallelStarts,
    isDelivered,
    // A create refused for quota goes back in line (mod/admission) instead of failing.
    quotaRefusal: "requeue",
  });
}

/**
 * Puts the line for room in front of `inner` (see mod/admission): the caps everywhere; in
 * Kubernetes mode also the namespace's ResourceQuotas, and the line kept as ConfigMaps.
 */
async function openAdmission(
  config: Config,
  logger: Logger,
  inner: Runtime,
  kubeApi: KubeApi | undefined,
): Promise<Runtime> {
  try {
    const log = logger.with({ component: "admission" });
    if (!kubeApi) await Deno.mkdir(config.stateDir, { recursive: true });
    return await AdmittingRuntime.open({
      inner,
      store: kubeApi
        ? new ConfigMapAdmissionStore(kubeApi, config.namespace, log)
        : new FileAdmissionStore(`${config.stateDir}/admission.json`),
      capacity: kubeApi
        ? new QuotaCapacity({
          api: kubeApi,
          namespace: config.namespace,
          runtime: inner,
          podOf: (spec) =>
            buildPod(spec, { namespace: config.namespace, resources: workerResources(config) }),
        })
        : undefined,
      logger: log,
      caps: {
        maxRunning: config.maxRunningWorkers,
        maxPerTenant: config.maxRunningWorkersPerTenant,
      },
      queueTimeoutMs: config.queueTimeoutSeconds * 1000,
      maxParallelStarts: config.maxParallelStarts,
    });
  } catch (err) {
    await inner.close();
    throw err;
  }
}

/** Starts push delivery to otto-handler when OTTO_HANDLER_HOST is set. */
async function startPush(
  config: Config,
  runtime: Runtime,
  logger: Logger,
  kubeApi: KubeApi | undefined,
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
      ? await PodDeliveryStore.open(kubeApi, config.namespace)
      : await FileDeliveryStore.open(`${config.stateDir}/delivery.json`),
    transport: connectHandler({
      address: config.handlerHost,
      tls: config.handlerTls,
      caPem,
      namespace: config.namespace,
    }),
    logger,
    window: config.pushWindow,
    ackTimeoutMs: config.pushAckTimeoutSeconds * 1000,
  });
  logger.info("push delivery to otto-handler on", {
    handlerHost: config.handlerHost,
    tls: config.handlerTls,
  });
  return push;
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
  // Every part is closed from one stack, in the reverse order of its start, on the way out:
  // after a signal, and equally when a later part fails to start.
  await using parts = new AsyncDisposableStack();
  // In Kubernetes mode the cluster is the only state: workers are pods, pipelines ConfigMaps.
  const kubeApi = config.runtime === "kubernetes" ? connectCluster(config) : undefined;
  // The Kubernetes runtime keeps a finished pod until push delivery says its log was delivered;
  // the runtime starts first, so it asks through a reference that push delivery fills in.
  // deno-lint-ignore prefer-const -- assigned once below, after the closure that reads it
  let push: PushDelivery | undefined;
  const isDelivered = (id: string) => push ? push.isDelivered(id) : !config.handlerHost;
  const inner = kubeApi
    ? await openKubeRuntime(config, logger, isDelivered, kubeApi)
    : await openLocalRuntime(config, logger);
  // Workers wait for room in front of the runtime (caps, quotas); the line is kept where the
  // runtime keeps its state. Closing it closes the runtime.
  const runtime = await openAdmission(config, logger, inner, kubeApi);
  parts.defer(() => runtime.close());
  push = await startPush(config, runtime, logger, kubeApi);
  if (push) parts.defer(() => push!.close());
  const scaler = new Scaler({
    runtime,
    logger,
    defaultImage: config.agentImage,
    maxWorkersPerTask: config.maxWorkersPerTask,
    maxParallelStarts: config.maxParallelStarts,
  });
  const pipelines = new PipelineExecutor({
    runtime,
    store: kubeApi
      ? new ConfigMapPipelineStore({ api: kubeApi, namespace: config.namespace, logger })
      : new FilePipelineStore(`${config.stateDir}/pipelines`),
    logger,
    defaultImage: config.agentImage,
  });
  parts.defer(() => pipelines.close());
  await pipelines.open();
  const server = await startServer({
    host: config.grpcHost,
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

  const signal = await nextSignal(["SIGTERM", "SIGINT"]);
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
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
