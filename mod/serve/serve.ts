/**
 * `ottoscaler serve`: the only place that chooses a worker runtime and wires the parts together.
 *
 * ```
 * config ─▶ runtime (local | kubernetes) ─▶ scaler, pipelines ─▶ gRPC server (+ health, reflection)
 *                                                               HTTP port (/metrics, /healthz, /readyz)
 * ```
 *
 * Every part is closed from one stack, in the reverse order of its start. With leader election
 * (Kubernetes runtime) every replica opens the read side (the runtime's pod cache, the gRPC server
 * for reads, the HTTP port) at once; the writers (pipelines, push delivery; the runtime's reaper
 * and start/stop are gated) only once it holds the Lease. A leader that loses the Lease closes
 * everything and exits 1, so it restarts clean as a standby.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadConfig, SETTINGS, settingsHelp } from "../config/config.ts";
import { UsageError } from "../cli/command.ts";
import { startServer } from "../grpc/server.ts";
import { ImagePolicy } from "../worker/image_policy.ts";
import type { PushDelivery } from "../push/push.ts";
import { PipelineExecutor } from "../pipeline/executor.ts";
import { FilePipelineStore } from "../pipeline/state.ts";
import { Scaler } from "../scaler/scaler.ts";
import { createLogger } from "../telemetry/logger.ts";
// The Kubernetes client and everything built on it are imported only in Kubernetes mode (dynamic
// imports below): the local runtime never loads them, which keeps its memory small.
import { LeaderElector } from "../kube/leader.ts";
import { observeWorkerMetrics } from "../events/metrics.ts";
import { HttpServer, lazyApp } from "../http/server.ts";
import { Metrics } from "../telemetry/metrics.ts";
import { Readiness } from "../telemetry/readiness.ts";
import { ApiContact } from "../kube/contact.ts";
import { EventRecorder, type EventSubject } from "../kube/events.ts";
import type { Runtime } from "../worker/types.ts";

import { openSecurity } from "./security.ts";
import {
  connectCluster,
  openAdmission,
  openKubeRuntime,
  openLocalRuntime,
  prunePipelines,
  startPush,
} from "./parts.ts";
import {
  exitWhenSupervisorGone,
  selfCommand,
  supervise,
  SUPERVISED_CHILD_ENV,
} from "../supervisor/supervisor.ts";

const SERVE_HELP = `Usage: ottoscaler serve [--env-file FILE] [flags]

Runs Ottoscaler: the gRPC API (ottoscaler.v1.OttoscalerService and LogStreamingService,
grpc.health.v1, reflection), the worker runtime, and push delivery of logs and state changes to
otto-handler when OTTO_HANDLER_HOST is set. Stops gracefully on SIGTERM or SIGINT; workers keep
running and are re-adopted at the next start.

Every setting comes from a flag, else the environment, else --env-file, else its default:

  --env-file FILE            read KEY=value lines (e.g. .env.alice.local); set variables win
${settingsHelp()}`;

/** Runs `serve` until SIGTERM or SIGINT; resolves with the exit code. */
export async function serve(args: string[], version: string): Promise<number> {
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
  const supervised = Deno.env.get(SUPERVISED_CHILD_ENV) === "1";
  if (config.supervise && !supervised) {
    logger.info("supervising serve: an abnormal exit starts it again at once");
    return await supervise({ command: selfCommand(["serve", ...args]), logger });
  }
  if (supervised) exitWhenSupervisorGone(logger);
  logger.info("starting", {
    version,
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
  // A request that got no answer (code 0) means the pod watch may be on a dead connection too.
  let onUnreachable = () => {};
  const observeKube = (verb: string, code: number) => {
    metrics.kubeRequests.inc({ verb, code: String(code) });
    contact.answered(code);
    if (code === 0 && verb !== "WATCH") onUnreachable();
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
  const localRuntime = kubeRuntime
    ? undefined
    : await openLocalRuntime(config, logger, isDelivered, (id) => push?.forget(id));
  const inner: Runtime = kubeRuntime ?? localRuntime!;
  // Not ready while the state directory is full (new workers would be refused).
  if (localRuntime) readiness.add("state", () => localRuntime.storageProblem());
  // Workers wait for room in front of the runtime (caps, quotas); the line is kept where the
  // runtime keeps its state, and with leader election loaded only once this instance leads.
  // Closing it closes the runtime.
  const runtime = await openAdmission(config, logger, inner, kubeApi, elector);
  parts.defer(() => runtime.close());
  if (kubeRuntime) {
    readiness.add("pods", () => kubeRuntime.problem);
    onUnreachable = () => kubeRuntime.resumeWatch();
  }
  // A new leader is ready once it has taken over the line (until then its reports lack it).
  let lineLoaded = !elector;
  if (elector) {
    readiness.add(
      "admission",
      () => lineLoaded || !elector!.isLeader() ? undefined : "taking over the admission line",
    );
  }
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
  const pipelineStore = kubeApi
    ? new (await import("../pipeline/configmap_store.ts")).ConfigMapPipelineStore({
      api: kubeApi,
      namespace: config.namespace,
      logger,
      leadership: elector,
    })
    : new FilePipelineStore(`${config.stateDir}/pipelines`, logger);
  if (pipelineStore instanceof FilePipelineStore) {
    parts.defer(prunePipelines(pipelineStore, config, logger));
  }
  const pipelines = new PipelineExecutor({
    runtime,
    store: pipelineStore,
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
    // Open dashboard streams end first, so they cannot hold the server's graceful close open.
    const closing = new AbortController();
    // Bound like the gRPC server: loopback unless authentication is configured (or waived).
    const http = await HttpServer.open({
      host: security.host,
      port: config.httpPort,
      metrics,
      readiness,
      warnings: security.warning ? [security.warning] : [],
      // The dashboard's code and pages are loaded on its first request (memory, issue 14).
      app: lazyApp(async () =>
        (await import("../http/dashboard/dashboard.ts")).dashboard({
          runtime,
          pipelines,
          auth: security.auth,
          logger,
          leadership: elector,
          closing: closing.signal,
        })
      ),
      logger,
    });
    parts.defer(() => {
      closing.abort();
      return http.close();
    });
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
    // The writers: only the leader runs them (taking over the admission line from its ConfigMaps,
    // re-adopting pods, resuming delivery from their annotations, continuing pipelines from their
    // ConfigMaps).
    await runtime.lead();
    lineLoaded = true;
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
