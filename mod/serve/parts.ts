/**
 * The parts `serve` opens that depend on the chosen runtime: the local runtime, the cluster
 * connection and the Kubernetes runtime (imported only in Kubernetes mode, so the local runtime
 * never loads the Kubernetes client), and push delivery to otto-handler.
 *
 * @module
 */

import { type Config, ConfigError } from "../config/config.ts";
import type { PushDelivery } from "../push/push.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { FilePipelineStore } from "../pipeline/state.ts";
import { LocalRuntime } from "../worker/local/runtime.ts";
import { AdmittingRuntime } from "../admission/runtime.ts";
import { FileAdmissionStore } from "../admission/store.ts";
import type { Resources } from "../worker/kube/pod.ts";
// The Kubernetes client and everything built on it are imported only in Kubernetes mode (dynamic
// imports below): the local runtime never loads them, which keeps its memory small. So are push
// delivery (only with OTTO_HANDLER_HOST) and the ResourceQuota check (issue 14).
import type { KubeApi, KubeObserver } from "../kube/api.ts";
import type { Leadership } from "../kube/leader.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { KubeRuntime } from "../worker/kube/runtime.ts";
import type { Runtime } from "../worker/types.ts";

/**
 * Pod creates in flight to start with, per MAX_PARALLEL_STARTS: creates are small requests that
 * the API server bounds itself (429 from its priority and fairness), and each doubling of the
 * adaptive limit costs a round trip of answers, so a burst of a few hundred pods starting at 16
 * spent most of its time ramping up (docs/performance.md, Scale-up).
 */
const CREATES_PER_START = 4;

/** Opens the local runtime on STATE_DIR, with retention of ended, delivered workers. */
export async function openLocalRuntime(
  config: Config,
  logger: Logger,
  isDelivered: (workerId: string) => boolean,
  onRemoved: (workerId: string) => void,
): Promise<LocalRuntime> {
  return await LocalRuntime.open({
    stateDir: config.stateDir,
    logger,
    stopGraceMs: config.stopGraceSeconds * 1000,
    maxLineBytes: config.logMaxLineBytes,
    retentionMs: config.stateRetentionSeconds * 1000,
    isDelivered,
    onRemoved,
  });
}

/**
 * Removes finished pipelines' files after STATE_RETENTION_SECONDS, checking as often as the
 * local runtime checks its workers; returns the function that stops it.
 */
export function prunePipelines(
  store: FilePipelineStore,
  config: Config,
  logger: Logger,
): () => void {
  const retentionMs = config.stateRetentionSeconds * 1000;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => store.prune(retentionMs)).then(
      (ids) => ids.length > 0 && logger.info("removed expired pipelines", { pipelines: ids }),
      (err) => logger.warn("could not remove expired pipelines", { err }),
    );
  }, Math.max(200, Math.min(retentionMs / 2, 60_000)));
  return () => clearInterval(timer);
}

/** Connects to the configured cluster (the Kubernetes runtime and the pipeline store share it). */
export async function connectCluster(config: Config, observer: KubeObserver): Promise<KubeApi> {
  const { connectKube } = await import("../kube/api.ts");
  try {
    return connectKube({ kubeconfig: config.kubeconfig, context: config.kubeContext, observer });
  } catch (err) {
    throw new ConfigError(
      "KUBECONFIG",
      `cannot load a Kubernetes configuration: ${(err as Error).message}`,
    );
  }
}

/** The requests and limits of every worker container (WORKER_CPU_* and WORKER_MEMORY_*). */
export function workerResources(config: Config): Resources {
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
export async function openKubeRuntime(
  config: Config,
  logger: Logger,
  isDelivered: (workerId: string) => boolean,
  api: KubeApi,
  extra: {
    leadership?: Leadership;
    metrics: Metrics;
    events?: EventRecorder;
  },
): Promise<KubeRuntime> {
  const { KubeRuntime } = await import("../worker/kube/runtime.ts");
  return await KubeRuntime.open({
    api,
    namespace: config.namespace,
    logger,
    resources: workerResources(config),
    stopGraceSeconds: config.stopGraceSeconds,
    startFailureGraceMs: config.startFailureGraceSeconds * 1000,
    retentionMs: config.podRetentionSeconds * 1000,
    maxParallelCreates: config.maxParallelStarts * CREATES_PER_START,
    isDelivered,
    leadership: extra.leadership,
    events: extra.events,
    onWatchRestart: () => extra.metrics.kubeWatchRestarts.inc(),
    // A create refused for quota goes back in line (mod/admission) instead of failing.
    quotaRefusal: "requeue",
  });
}

/**
 * Puts the line for room in front of `inner` (see mod/admission): the caps everywhere; in
 * Kubernetes mode also the namespace's ResourceQuotas, and the line kept as ConfigMaps. With
 * `leadership` it opens as a standby: the line is loaded by `lead()` once this replica leads, and
 * written only while it does.
 */
export async function openAdmission(
  config: Config,
  logger: Logger,
  inner: Runtime,
  kubeApi: KubeApi | undefined,
  leadership?: Leadership,
): Promise<AdmittingRuntime> {
  try {
    const log = logger.with({ component: "admission" });
    if (!kubeApi) await Deno.mkdir(config.stateDir, { recursive: true });
    return await AdmittingRuntime.open({
      inner,
      // Imported only in Kubernetes mode: it loads the Kubernetes client (memory, issue 14).
      store: kubeApi
        ? new (await import("../admission/configmap_store.ts")).ConfigMapAdmissionStore(
          kubeApi,
          config.namespace,
          log,
          leadership,
        )
        : new FileAdmissionStore(`${config.stateDir}/admission.json`),
      capacity: kubeApi ? await quotaCapacity(config, inner, kubeApi) : undefined,
      logger: log,
      caps: {
        maxRunning: config.maxRunningWorkers,
        maxPerTenant: config.maxRunningWorkersPerTenant,
      },
      queueTimeoutMs: config.queueTimeoutSeconds * 1000,
      leadership,
    });
  } catch (err) {
    await inner.close();
    throw err;
  }
}

/** The namespace's ResourceQuotas as the line's capacity (Kubernetes mode). */
async function quotaCapacity(config: Config, inner: Runtime, api: KubeApi) {
  const [{ QuotaCapacity }, { buildPod }] = await Promise.all([
    import("../admission/quota.ts"),
    import("../worker/kube/pod.ts"),
  ]);
  return new QuotaCapacity({
    api,
    namespace: config.namespace,
    runtime: inner,
    podOf: (spec) =>
      buildPod(spec, { namespace: config.namespace, resources: workerResources(config) }),
  });
}

/** Starts push delivery to otto-handler when OTTO_HANDLER_HOST is set. */
export async function startPush(
  config: Config,
  runtime: Runtime,
  logger: Logger,
  kubeApi: KubeApi | undefined,
  leadership: Leadership | undefined,
): Promise<PushDelivery | undefined> {
  if (!config.handlerHost) return undefined;
  const [{ PushDelivery }, { FileDeliveryStore }, { connectHandler }] = await Promise.all([
    import("../push/push.ts"),
    import("../push/delivery_store.ts"),
    import("../grpc/handler_client.ts"),
  ]);
  // Progress of workers the runtime no longer has (removed after their retention) is dropped.
  const known = new Set(runtime.list().map((w) => w.id));
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
      ? await (await import("../push/pod_delivery_store.ts")).PodDeliveryStore
        .open(kubeApi, config.namespace, leadership)
      : await FileDeliveryStore.open(`${config.stateDir}/delivery.json`, {
        known: (id) => known.has(id),
        logger,
      }),
    transport: connectHandler({
      address: config.handlerHost,
      tls: config.handlerTls,
      caPem,
      clientCertificate: await handlerClientCertificate(config),
      tokenFile: config.handlerTokenFile || undefined,
      namespace: config.namespace,
      logClient: config.pushLogClient,
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
export async function handlerClientCertificate(
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
