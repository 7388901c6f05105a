/**
 * The Kubernetes runtime: every worker is a pod in one namespace, and the Kubernetes API is the
 * only state (ADR 0003).
 *
 * ```
 * start ─▶ bounded, retried POST pod ─┐
 * stop  ─▶ PATCH deadline 1s + note ──┤        ┌─▶ list() / watch() listeners
 *                                     ▼        │
 *                     API server ─watch─▶ PodCache ─▶ podToStatus ─┤
 *                                                    └─▶ start-failure timers, reaper
 * logs  ─▶ pods/log (follow, timestamps; cut on the terminal phase, then a final read)
 * ```
 *
 * - Creates are idempotent by pod name (`AlreadyExists` reads the pod back), run under an
 *   adaptive limit that starts at `maxParallelCreates` (doubles while the API server's
 *   throughput grows, halves on 429 or 5xx), and retry 429 (honouring Retry-After), 5xx,
 *   network errors and 409 Conflict (a lost race on the quota) with backoff. A create refused for
 *   quota is a worker failed as `QuotaExceeded` (with `quotaRefusal: "requeue"`, a
 *   {@linkcode QuotaRefusedError} for the admission layer).
 * - A pod that shows it cannot start (Unschedulable, image errors, container config errors) for
 *   `startFailureGraceMs` is given up: its reason is written on it (so it survives restarts), its
 *   deadline cut so a late start is killed at once; the worker is failed with that reason.
 * - A stop writes `stop-requested` and cuts `activeDeadlineSeconds` to 1: the kubelet kills the
 *   container (TERM, grace, KILL) and keeps the pod and its log.
 * - A terminal pod is deleted once `isDelivered` says its log was delivered and `retentionMs`
 *   has passed since it ended.
 * - With leader election only the leader writes: `start` and `stop` on a standby throw
 *   `NotLeaderError`, and the reaper and start-failure timers do nothing there (the cache stays
 *   warm, so a standby that takes over has every pod at hand).
 * - After a restart the pods are found again by label (`managed-by=ottoscaler`) and their
 *   workers go on: nothing is orphaned, nothing started twice.
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import {
  isTerminal,
  type LogLine,
  type LogReadOptions,
  QuotaRefusedError,
  type Runtime,
  type StatusListener,
  WorkerConflictError,
  WorkerNotFoundError,
  type WorkerSpec,
  type WorkerStatus,
} from "../types.ts";
import { type KubeApi, type PodObject, withRetries } from "../../kube/api.ts";
import { AdaptiveLimit, timed } from "../../kube/adaptive_limit.ts";
import { isAlreadyExists, isConflict, isNotFound, isQuotaExceeded } from "../../kube/errors.ts";
import { PodCache } from "../../kube/cache.ts";
import { assertLeader, type Leadership } from "../../kube/leader.ts";
import type { EventRecorder } from "../../kube/events.ts";
import { readPodLog, waitForStatus } from "./logs.ts";
import { StartFailures } from "./start_failures.ts";
import { Reaper } from "./reaper.ts";
import { managedPod, type Resources } from "./pod.ts";
import {
  byTaskAndIndex,
  FAILED_AT_ANNOTATION,
  FAILURE_MESSAGE_ANNOTATION,
  FAILURE_REASON_ANNOTATION,
  podToStatus,
  refusedStatus,
  statusChanged,
  STOP_ANNOTATION,
} from "./status.ts";

/** The label every worker pod carries, and the cache's selector. */
export const MANAGED_SELECTOR = "managed-by=ottoscaler";

/** Options for {@linkcode KubeRuntime.open}. */
export interface KubeRuntimeOptions {
  /** The API. */
  readonly api: KubeApi;
  /** The namespace of the worker pods. */
  readonly namespace: string;
  /** Where to log. */
  readonly logger: Logger;
  /** Resources of every worker container. */
  readonly resources?: Resources;
  /** Seconds between SIGTERM and SIGKILL when a worker is stopped (terminationGracePeriod). */
  readonly stopGraceSeconds?: number;
  /** How long past the grace period a stop waits for the kubelet before deleting (30 s). */
  readonly stopSlackMs?: number;
  /** How long a pod may show a start failure before it is given up (default 60 s). */
  readonly startFailureGraceMs?: number;
  /** How long a finished, delivered pod is kept before it is deleted (default 10 min). */
  readonly retentionMs?: number;
  /** Whether a finished worker's log was delivered; default: always (pull mode). */
  readonly isDelivered?: (workerId: string) => boolean;
  /** Creates in flight to start with (default 16); adapts up to 16 times as many. */
  readonly maxParallelCreates?: number;
  /** Attempts per create before it fails (default 8). */
  readonly maxCreateAttempts?: number;
  /** Backoff of create retries (default 200 ms doubling to 5 s). */
  readonly createBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Whether this instance may write (leader election); absent: always. */
  readonly leadership?: Leadership;
  /** Called each time the pod watch is reopened (a metric). */
  readonly onWatchRestart?: () => void;
  /** Where Events on worker pods go (cannot start, stopped); absent: none. */
  readonly events?: EventRecorder;
  /**
   * A create refused for quota: `fail` the worker as QuotaExceeded (the default), or `requeue`:
   * throw {@linkcode QuotaRefusedError} and keep no trace, so an admission layer retries it later.
   */
  readonly quotaRefusal?: "fail" | "requeue";
}

/** The Kubernetes runtime; see the module doc. */
export class KubeRuntime implements Runtime {
  /** The runtime's name. */
  readonly name = "kubernetes";
  /** Pods run their image's entrypoint when no command is given. */
  readonly requiresCommand = false;
  /** Creates in flight adapt to the API server (mod/kube/adaptive_limit.ts). */
  readonly boundsStarts = true;

  readonly #o: KubeRuntimeOptions;
  readonly #cache: PodCache;
  readonly #statuses = new Map<string, WorkerStatus>();
  /** Workers with no pod: refused creates (QuotaExceeded…) and pods deleted before they ended. */
  readonly #tombstones = new Map<string, WorkerStatus>();
  /** Both, by task and index, until the next change (list is asked once per start). */
  #sorted: WorkerStatus[] | undefined;
  readonly #listeners = new Set<StatusListener>();
  readonly #creating = new Map<string, Promise<WorkerStatus>>();
  readonly #startFailures: StartFailures;
  readonly #closing = new AbortController();
  readonly #creates: AdaptiveLimit;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  readonly #reaper: Reaper;
  /** Workers this process asked to stop (the pod's annotation may not have been written). */
  readonly #stopRequested = new Set<string>();

  private constructor(options: KubeRuntimeOptions) {
    this.#o = options;
    this.#creates = new AdaptiveLimit({ initial: options.maxParallelCreates ?? 16 });
    this.#cache = new PodCache({
      api: options.api,
      namespace: options.namespace,
      labelSelector: MANAGED_SELECTOR,
      logger: options.logger,
      onWatchRestart: options.onWatchRestart,
    });
    this.#reaper = new Reaper({
      api: options.api,
      namespace: options.namespace,
      logger: options.logger,
      retentionMs: () => this.#retentionMs(),
      isDelivered: options.isDelivered ?? (() => true),
    });
    this.#startFailures = new StartFailures({
      api: options.api,
      namespace: options.namespace,
      cache: this.#cache,
      logger: options.logger,
      graceMs: options.startFailureGraceMs ?? 60_000,
      mayWrite: () => this.#mayWrite(),
      taskOf: (id) => this.#statuses.get(id)?.taskId,
      event: (id, reason, message) => this.#event(id, "Warning", reason, message),
    });
  }

  /** Opens the runtime: lists the namespace's worker pods, then follows them by watch. */
  static async open(options: KubeRuntimeOptions): Promise<KubeRuntime> {
    const runtime = new KubeRuntime(options);
    runtime.#cache.subscribe((pod, change) => runtime.#onPod(pod, change));
    await runtime.#cache.start();
    const sweepMs = Math.max(200, Math.min(runtime.#retentionMs(), 30_000) / 2);
    runtime.#sweeper = setInterval(() => runtime.#reap(), sweepMs);
    options.logger.info("kubernetes runtime ready", {
      namespace: options.namespace,
      pods: runtime.#cache.all().length,
    });
    return runtime;
  }

  /** Why the pod cache cannot be trusted now, if it cannot (for readiness). */
  get problem(): string | undefined {
    return this.#cache.problem;
  }

  /** Resumes the pod watch on a fresh request: the API server was found unreachable. */
  resumeWatch = (): void => this.#cache.resumeWatch();

  #mayWrite(): boolean {
    return this.#o.leadership?.isLeader() ?? true;
  }

  #retentionMs(): number {
    return this.#o.retentionMs ?? 600_000;
  }

  #podsPath(name?: string): string {
    const base = `/api/v1/namespaces/${this.#o.namespace}/pods`;
    return name === undefined ? base : `${base}/${name}`;
  }

  // --- state ------------------------------------------------------------------------------

  #onPod(pod: PodObject, change: "upsert" | "delete"): void {
    const id = pod.metadata.name;
    this.#sorted = undefined;
    if (change === "delete") {
      this.#startFailures.clear(id);
      const last = this.#statuses.get(id);
      this.#statuses.delete(id);
      if (last && !isTerminal(last.phase)) {
        // Deleted before it ended (behind Ottoscaler's back, or a stop that had to delete it):
        // keep the worker, failed as Lost or Stopped.
        const stopped = pod.metadata.annotations?.[STOP_ANNOTATION] !== undefined ||
          this.#stopRequested.has(id);
        const lost: WorkerStatus = {
          ...last,
          phase: "failed",
          reason: stopped ? "Stopped" : "Lost",
          message: stopped
            ? "stopped; its pod was deleted before its end was seen"
            : "the pod was deleted before it ended (unseen end)",
          finishedAt: new Date().toISOString(),
        };
        this.#tombstones.set(id, lost);
        this.#publish(lost);
      }
      return;
    }
    this.#tombstones.delete(id); // a pod of that name exists (again): it is the truth
    const status = podToStatus(pod);
    this.#startFailures.track(pod, status);
    const before = this.#statuses.get(id);
    if (before && isTerminal(before.phase) && !isTerminal(status.phase)) return; // never regress
    this.#statuses.set(id, status);
    if (!before || statusChanged(before, status)) this.#publish(status);
  }

  #publish(status: WorkerStatus): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch (err) {
        this.#o.logger.error("status listener failed", { error: String(err) });
      }
    }
  }

  // --- Runtime ----------------------------------------------------------------------------

  /** Starts a worker pod, or returns the existing one's state; see {@linkcode Runtime.start}. */
  start(spec: WorkerSpec): Promise<WorkerStatus> {
    assertLeader(this.#o.leadership);
    const known = this.#known(spec.id);
    if (known) return Promise.resolve(this.#sameTask(known, spec));
    const inFlight = this.#creating.get(spec.id);
    if (inFlight) return inFlight.then((s) => this.#sameTask(s, spec));
    const creating = this.#create(spec).finally(() => this.#creating.delete(spec.id));
    this.#creating.set(spec.id, creating);
    return creating;
  }

  #known(id: string): WorkerStatus | undefined {
    return this.#statuses.get(id) ?? this.#tombstones.get(id);
  }

  #sameTask(status: WorkerStatus, spec: WorkerSpec): WorkerStatus {
    if (status.taskId !== spec.taskId) throw new WorkerConflictError(spec.id, status.taskId);
    return status;
  }

  /** Creates the pod: built before it waits for a slot, so a slot is only the request. */
  async #create(spec: WorkerSpec): Promise<WorkerStatus> {
    const body = managedPod(spec, {
      namespace: this.#o.namespace,
      resources: this.#o.resources ?? {},
      annotations: spec.annotations,
      terminationGracePeriodSeconds: this.#o.stopGraceSeconds,
    });
    const create = () => this.#o.api.create<PodObject>(this.#podsPath(), body);
    try {
      const pod = await this.#creates.run((report) =>
        withRetries(timed(report, create), {
          attempts: this.#o.maxCreateAttempts ?? 8,
          backoff: this.#o.createBackoff ?? { initialMs: 200, maxMs: 5_000 },
          // Creates racing on a namespace's ResourceQuota may be answered 409 Conflict (the quota
          // admission's own update of the quota lost): nothing was created, so try again.
          alsoRetry: isConflict,
          signal: this.#closing.signal,
          onRetry: (attempt, waitMs, err) =>
            this.#o.logger.debug("pod create retried", {
              worker: spec.id,
              task: spec.taskId,
              attempt,
              waitMs,
              error: String(err),
            }),
        })
      );
      this.#cache.observe(pod);
      return this.#statuses.get(spec.id) ?? podToStatus(pod);
    } catch (err) {
      if (isAlreadyExists(err)) {
        // AlreadyExists: created by an earlier try or another Ottoscaler; read it back.
        const pod = await this.#o.api.get<PodObject>(this.#podsPath(spec.id));
        this.#cache.observe(pod);
        return this.#sameTask(this.#statuses.get(spec.id) ?? podToStatus(pod), spec);
      }
      if (isQuotaExceeded(err)) {
        if (this.#o.quotaRefusal === "requeue") {
          throw new QuotaRefusedError(spec.id, err.statusMessage);
        }
        return this.#refused(spec, "QuotaExceeded", err.statusMessage);
      }
      throw err;
    }
  }

  #refused(spec: WorkerSpec, reason: "QuotaExceeded", message: string): WorkerStatus {
    const status = refusedStatus(spec, reason, message);
    this.#tombstones.set(spec.id, status);
    this.#sorted = undefined;
    this.#publish(status);
    return status;
  }

  /** Stops a worker; see {@linkcode Runtime.stop}. */
  async stop(id: string): Promise<void> {
    assertLeader(this.#o.leadership);
    const status = this.#statuses.get(id);
    if (!status || isTerminal(status.phase)) return;
    const pod = this.#cache.get(id);
    this.#stopRequested.add(id);
    const now = new Date().toISOString();
    const annotations: Record<string, string> = { [STOP_ANNOTATION]: now };
    if (status.phase === "pending" && !pod?.spec?.nodeName) {
      // Never placed: nothing runs, so it ends here; the deadline kills it if it starts late.
      annotations[FAILURE_REASON_ANNOTATION] = "Stopped";
      annotations[FAILURE_MESSAGE_ANNOTATION] = "stopped before it started";
      annotations[FAILED_AT_ANNOTATION] = now;
    }
    const deadline = pod?.spec?.activeDeadlineSeconds;
    const patched = await this.#o.api.mergePatch<PodObject>(this.#podsPath(id), {
      metadata: { annotations },
      ...(deadline !== undefined && deadline <= 1 ? {} : { spec: { activeDeadlineSeconds: 1 } }),
    }).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (patched) this.#cache.observe(patched);
    this.#event(
      id,
      "Normal",
      "Stopped",
      "worker stopped by Ottoscaler (ScaleDown, timeout or cancel)",
    );
    // The kubelet ends it within the grace period; if nothing does (a lost node), delete it.
    const limitMs = (this.#o.stopGraceSeconds ?? 30) * 1000 + (this.#o.stopSlackMs ?? 30_000);
    if (!await this.#waitForEnd(id, limitMs) && this.#mayWrite()) {
      this.#o.logger.warn("stopped worker did not end; deleting its pod", {
        worker: id,
        task: status.taskId,
      });
      await this.#o.api.remove(this.#podsPath(id), { gracePeriodSeconds: "0" });
      await this.#waitForEnd(id, limitMs);
    }
  }

  /** Resolves true once the worker is terminal (or gone), false after `limitMs`. */
  #waitForEnd(id: string, limitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (ended: boolean) => {
        clearTimeout(timer);
        unwatch();
        resolve(ended);
      };
      const check = () => {
        const s = this.#known(id);
        if (!s || isTerminal(s.phase)) finish(true);
      };
      const timer = setTimeout(() => finish(false), limitMs);
      const unwatch = this.watch((s) => {
        if (s.id === id) check();
      });
      check();
    });
  }

  /** The workers' current states; see {@linkcode Runtime.list}. */
  list(filter: { readonly taskId?: string } = {}): WorkerStatus[] {
    this.#sorted ??= [...this.#statuses.values(), ...this.#tombstones.values()]
      .sort(byTaskAndIndex);
    return this.#sorted.filter((s) => filter.taskId === undefined || s.taskId === filter.taskId);
  }

  /** Calls `listener` on every state change; see {@linkcode Runtime.watch}. */
  watch(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A worker's numbered log lines; see {@linkcode Runtime.logs}. */
  logs(id: string, options: LogReadOptions = {}): AsyncIterable<LogLine> {
    if (!this.#known(id)) throw new WorkerNotFoundError(id);
    if (!this.#statuses.has(id)) return (async function* () {})(); // no pod, no log
    const status = () => this.#known(id);
    const waitFor = (predicate: (s: WorkerStatus | undefined) => boolean, signal: AbortSignal) =>
      waitForStatus({ watch: (l) => this.watch(l), id, current: status, predicate, signal });
    const ended = (s: WorkerStatus | undefined) => !s || isTerminal(s.phase);
    const started = (s: WorkerStatus | undefined) =>
      ended(s) || (s?.phase === "running" || s?.startedAt !== undefined);
    return readPodLog({
      api: this.#o.api,
      namespace: this.#o.namespace,
      name: id,
      started: (signal) => waitFor(started, signal),
      ended: (signal) => waitFor(ended, signal),
      isEnded: () => ended(status()),
      hasStarted: () => {
        const s = status();
        return s !== undefined && s.startedAt !== undefined;
      },
    }, options);
  }

  /** Deletes finished pods whose logs were delivered and whose retention has passed. */
  #reap(): void {
    if (!this.#mayWrite()) return;
    this.#reaper.sweep(this.#statuses.values());
  }

  #event(id: string, type: "Normal" | "Warning", reason: string, message: string): void {
    const uid = this.#cache.get(id)?.metadata.uid;
    this.#o.events?.record({ kind: "Pod", apiVersion: "v1", name: id, uid }, {
      type,
      reason,
      message,
    });
  }

  /** Stops watching; pods keep running. */
  async close(): Promise<void> {
    this.#closing.abort();
    clearInterval(this.#sweeper);
    this.#startFailures.close();
    await this.#cache.close();
  }
}
