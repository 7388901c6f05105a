/**
 * ScaleUp and ScaleDown: the desired number of workers per task against what the runtime has.
 *
 * ScaleUp is declarative: it makes sure workers 1..N of a task exist, creating only the missing
 * ones, so a retried call creates nothing (ALREADY_PROCESSED). ScaleDown stops unfinished workers
 * beyond the count, highest index first. Calls for one task are serialized; different tasks
 * proceed in parallel. Every request is validated before anything is created.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import { StateDirFullError } from "../storage/space.ts";
import { isTerminal, type Runtime, type WorkerStatus } from "../worker/types.ts";
import type { ImagePolicy } from "../worker/image_policy.ts";
import { KeyedLock, mapBounded } from "./keyed_lock.ts";
import { workerSpec } from "../worker/spec.ts";
import { withTenantLabel } from "../admission/line.ts";
import {
  admissionTicket,
  parseBuildConfig,
  validateCount,
  validatePhaseFilter,
  validateTaskId,
} from "../worker/validate.ts";

/** A ScaleUp or ScaleDown request, in domain terms. */
export interface ScaleRequest {
  /** The task. */
  readonly taskId: string;
  /** ScaleUp: how many workers the task must have; ScaleDown: how many unfinished it may keep. */
  readonly workerCount: number;
  /** The repository, given to workers as OTTO_REPOSITORY. */
  readonly repository?: string;
  /** The commit, given to workers as OTTO_COMMIT_SHA. */
  readonly commitSha?: string;
  /** Environment plus the reserved keys `image`, `command`, `timeout_seconds`. */
  readonly buildConfig?: Readonly<Record<string, string>>;
  /** Who asked. */
  readonly triggeredBy?: string;
  /** Why. */
  readonly reason?: string;
  /** Attributes; `tenant` and `priority` place the workers in line when they wait for room. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** How a scale request went (the wire's ScaleResponse.Status). */
export type ScaleOutcome = "SUCCESS" | "FAILED" | "PARTIAL_SUCCESS" | "ALREADY_PROCESSED";

/** The result of ScaleUp or ScaleDown. */
export interface ScaleResult {
  /** How it went. */
  readonly status: ScaleOutcome;
  /** A readable account, with the reasons of failures. */
  readonly message: string;
  /** ScaleUp: workers created; ScaleDown: workers stopped. */
  readonly processedCount: number;
  /** ScaleUp: workers 1..N of the task; ScaleDown: the workers stopped. */
  readonly workerNames: string[];
  /** When the request started, RFC 3339. */
  readonly startedAt: string;
  /** When it completed, RFC 3339. */
  readonly completedAt: string;
}

/** A status query; every field is an optional filter. */
export interface StatusQuery {
  /** Only this task. */
  readonly taskId?: string;
  /** Only this worker. */
  readonly workerName?: string;
  /** Only this phase: pending, running, succeeded or failed. */
  readonly phase?: string;
}

/** Options for {@linkcode Scaler}. */
export interface ScalerOptions {
  /** Where workers run. */
  readonly runtime: Runtime;
  /** The logger. */
  readonly logger: Logger;
  /** The image when `build_config.image` is absent. */
  readonly defaultImage: string;
  /** The most workers one task may have. */
  readonly maxWorkersPerTask: number;
  /** The most worker starts in flight at once. */
  readonly maxParallelStarts: number;
  /** Which images workers may run (IMAGE_ALLOWLIST); absent: any. */
  readonly imagePolicy?: ImagePolicy;
}

/** Scales tasks; see the module doc. */
export class Scaler {
  readonly #opts: ScalerOptions;
  readonly #log: Logger;
  readonly #lock = new KeyedLock();

  /** Creates a scaler over a runtime. */
  constructor(options: ScalerOptions) {
    this.#opts = options;
    this.#log = options.logger.with({ component: "scaler" });
  }

  /** Makes sure the task has `workerCount` workers; see the module doc. */
  scaleUp(request: ScaleRequest): Promise<ScaleResult> {
    const startedAt = new Date().toISOString();
    const taskId = validateTaskId(request.taskId);
    const count = validateCount(
      request.workerCount,
      1,
      this.#opts.maxWorkersPerTask,
      "worker_count",
    );
    const admission = admissionTicket(request.metadata ?? {}, request.triggeredBy);
    const template = parseBuildConfig(request.buildConfig ?? {}, {
      requireCommand: this.#opts.runtime.requiresCommand,
    });
    const image = template.image ?? this.#opts.defaultImage;
    this.#opts.imagePolicy?.check(
      template.image ? "build_config.image" : "OTTO_AGENT_IMAGE (no build_config.image given)",
      image,
    );
    const specs = Array.from({ length: count }, (_, i) => ({
      ...workerSpec({
        taskId,
        index: i + 1,
        image,
        command: template.command,
        timeoutSeconds: template.timeoutSeconds,
        env: template.env,
        repository: request.repository,
        commitSha: request.commitSha,
      }),
      admission,
    })).map(withTenantLabel); // the tenant as a label on every worker (the dashboard filters by it)
    return this.#lock.run(taskId, async () => {
      const existing = new Set(this.#opts.runtime.list({ taskId }).map((w) => w.id));
      const missing = specs.filter((spec) => !existing.has(spec.id));
      const names = specs.map((spec) => spec.id);
      if (missing.length === 0) {
        return {
          status: "ALREADY_PROCESSED",
          message: `task ${taskId} already has workers 1..${count}; nothing created`,
          processedCount: 0,
          workerNames: names,
          startedAt,
          completedAt: new Date().toISOString(),
        };
      }
      const results = await mapBounded(
        missing,
        this.#opts.runtime.boundsStarts ? missing.length : this.#opts.maxParallelStarts,
        (spec) => this.#opts.runtime.start(spec),
      );
      // A worker refused at once (it could never fit a quota or cap) counts as a failure.
      const failures = results.flatMap((r, i) =>
        r.status === "rejected"
          ? [`${missing[i].id}: ${errorText(r.reason)}`]
          : r.value.phase === "failed" && r.value.reason === "QuotaExceeded"
          ? [`${missing[i].id}: QuotaExceeded: ${r.value.message ?? ""}`]
          : []
      );
      const created = missing.length - failures.length;
      // A full state directory created nothing: the call fails as a whole (RESOURCE_EXHAUSTED).
      const full = results.find((r) =>
        r.status === "rejected" && r.reason instanceof StateDirFullError
      );
      if (created === 0 && full?.status === "rejected") throw full.reason;
      this.#log.info("scaled up", { task: taskId, created, failed: failures.length });
      const status: ScaleOutcome = failures.length === 0
        ? "SUCCESS"
        : created === 0
        ? "FAILED"
        : "PARTIAL_SUCCESS";
      const message = failures.length === 0
        ? `created ${created} worker(s) for task ${taskId}`
        : `created ${created} of ${missing.length} worker(s) for task ${taskId}; failed: ${
          failures.join("; ")
        }`;
      const failed = new Set(failures.map((f) => f.slice(0, f.indexOf(":"))));
      return {
        status,
        message,
        processedCount: created,
        workerNames: names.filter((n) => !failed.has(n)),
        startedAt,
        completedAt: new Date().toISOString(),
      };
    });
  }

  /** Makes sure the task has at most `workerCount` unfinished workers; see the module doc. */
  scaleDown(request: ScaleRequest): Promise<ScaleResult> {
    const startedAt = new Date().toISOString();
    const taskId = validateTaskId(request.taskId);
    const keep = validateCount(
      request.workerCount,
      0,
      this.#opts.maxWorkersPerTask,
      "worker_count",
    );
    return this.#lock.run(taskId, async () => {
      const unfinished = this.#opts.runtime.list({ taskId }).filter((w) => !isTerminal(w.phase));
      const toStop = unfinished.slice(keep).reverse();
      const results = await mapBounded(
        toStop,
        this.#opts.maxParallelStarts,
        (w) => this.#opts.runtime.stop(w.id),
      );
      const failures = results.flatMap((r, i) =>
        r.status === "rejected" ? [`${toStop[i].id}: ${errorText(r.reason)}`] : []
      );
      const stopped = toStop.filter((_, i) => results[i].status === "fulfilled");
      this.#log.info("scaled down", { task: taskId, stopped: stopped.length });
      return {
        status: failures.length === 0 ? "SUCCESS" : stopped.length ? "PARTIAL_SUCCESS" : "FAILED",
        message: failures.length === 0
          ? `stopped ${stopped.length} worker(s) of task ${taskId}; ${
            Math.min(keep, unfinished.length)
          } unfinished remain`
          : `stopped ${stopped.length} of ${toStop.length}; failed: ${failures.join("; ")}`,
        processedCount: stopped.length,
        workerNames: stopped.map((w) => w.id),
        startedAt,
        completedAt: new Date().toISOString(),
      };
    });
  }

  /** The workers matching a query. */
  status(query: StatusQuery): WorkerStatus[] {
    const phase = validatePhaseFilter(query.phase ?? "");
    return this.#opts.runtime.list(query.taskId ? { taskId: query.taskId } : {}).filter((w) =>
      (!query.workerName || w.id === query.workerName) && (!phase || w.phase === phase)
    );
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
