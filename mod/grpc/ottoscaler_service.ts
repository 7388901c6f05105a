/**
 * The handlers of `ottoscaler.v1.OttoscalerService`: wire in, domain call, wire out, with every
 * error mapped to a status code in one place (errors.ts).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { watchEvents } from "../events/watch.ts";
import { watchTaskLogs } from "../logs/task_logs.ts";
import type { Scaler } from "../scaler/scaler.ts";
import { ValidationError } from "../worker/errors.ts";
import { admissionTicket, validatePhaseFilter, validateTaskId } from "../worker/validate.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AdmissionTicket, Runtime } from "../worker/types.ts";
import type { OttoscalerServiceHandlers } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";
import { compilePipeline } from "../pipeline/compile.ts";
import {
  type PipelineExecutor,
  PipelineNotFoundError,
  type PipelineRun,
} from "../pipeline/executor.ts";
import { followTransitions } from "../pipeline/run.ts";
import type { PipelineProgress } from "../../proto/generated/ottoscaler/v1/PipelineProgress.ts";
import {
  eventToWire,
  pipelineRequestFromWire,
  progressToWire,
  resumeAfterFromWire,
  scaleRequestFromWire,
  scaleResponseToWire,
  statusResponseToWire,
} from "./convert.ts";
import { requestOf } from "./decode.ts";
import { toGrpcError } from "./errors.ts";
import { assertLeader, type Leadership } from "../kube/leader.ts";
import { encodeLogEntry } from "./log_entry_codec.ts";
import type { WorkerLogEntry } from "../../proto/generated/ottoscaler/v1/WorkerLogEntry.ts";
import { batchWrites, type StreamRegistry, writeFlowControlled } from "./stream.ts";

/** What the handlers need. */
export interface OttoscalerServiceDeps {
  /** Scales tasks. */
  readonly scaler: Scaler;
  /** Runs workers (for logs and events). */
  readonly runtime: Runtime;
  /** Open streams, ended on shutdown. */
  readonly streams: StreamRegistry;
  /** The namespace reported in log metadata. */
  readonly namespace: string;
  /** The most workers a pipeline stage may have. */
  readonly maxWorkersPerStage: number;
  /** Runs pipelines. */
  readonly pipelines: PipelineExecutor;
  /** The logger. */
  readonly logger: Logger;
  /** Whether this instance may change anything; absent: always (no leader election). */
  readonly leadership?: Leadership;
}

/**
 * Sends a pipeline's progress: where every stage stands, then each transition until it is
 * finished. The stream is only a view: ending it leaves the pipeline running.
 */
async function streamProgress(
  call: grpc.ServerWritableStream<unknown, PipelineProgress>,
  run: PipelineRun,
  signal: AbortSignal,
): Promise<void> {
  // Follow before the snapshot, so no transition falls between the two.
  using live = followTransitions(run, signal);
  for (const progress of run.snapshot()) {
    await writeFlowControlled(call, progressToWire(progress), signal);
  }
  for await (const progress of live) {
    await writeFlowControlled(call, progressToWire(progress), signal);
  }
}

/** Builds the service's handlers. */
export function ottoscalerHandlers(deps: OttoscalerServiceDeps): OttoscalerServiceHandlers {
  const log = deps.logger.with({ component: "grpc" });
  // Changing calls name their caller in the log, and on a standby are refused (UNAVAILABLE,
  // naming the leader) before they touch anything.
  const changing = <Req, Res>(
    method: string,
    fn: (request: Req) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> => unary(method, fn, true);
  const unary = <Req, Res>(
    method: string,
    fn: (request: Req) => Promise<Res> | Res,
    changes = false,
  ): grpc.handleUnaryCall<Req, Res> =>
  async (call, callback) => {
    try {
      if (changes) {
        assertLeader(deps.leadership);
      }
      callback(null, await fn(requestOf(call.request)));
    } catch (err) {
      const error = toGrpcError(err);
      if (error.code === grpc.status.INTERNAL) log.error(`${method} failed`, { err });
      else log.debug(`${method} refused`, { reason: error.details });
      callback(error);
    }
  };

  return {
    ScaleUp: changing("ScaleUp", async (request) => {
      return scaleResponseToWire(await deps.scaler.scaleUp(scaleRequestFromWire(request)));
    }),

    ScaleDown: changing("ScaleDown", async (request) => {
      return scaleResponseToWire(await deps.scaler.scaleDown(scaleRequestFromWire(request)));
    }),

    GetWorkerStatus: unary("GetWorkerStatus", (request) => {
      const workers = deps.scaler.status({
        taskId: request.task_id,
        workerName: request.worker_pod_name,
        phase: request.status_filter,
      });
      return statusResponseToWire(workers);
    }),

    ExecutePipeline: (call) => {
      let compiled;
      let admission: AdmissionTicket;
      try {
        assertLeader(deps.leadership);
        compiled = compilePipeline(pipelineRequestFromWire(requestOf(call.request)), {
          maxWorkersPerStage: deps.maxWorkersPerStage,
          requireCommand: deps.runtime.requiresCommand,
        });
        admission = admissionTicket(call.request.metadata ?? {}, call.request.triggered_by);
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      deps.streams.serve(call, log, async (signal) => {
        const { run, created } = await deps.pipelines.submit(compiled, {
          repository: call.request.repository,
          commitSha: call.request.commit_sha,
          admission,
        });
        log.debug(created ? "pipeline submitted" : "re-attached to pipeline", { pipeline: run.id });
        await streamProgress(call, run, signal);
      });
    },

    WatchPipeline: (call) => {
      let id: string;
      try {
        id = validateTaskId(requestOf(call.request).pipeline_id, "pipeline_id");
        assertLeader(deps.leadership); // a standby has not loaded the pipelines
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      deps.streams.serve(call, log, async (signal) => {
        const run = deps.pipelines.get(id);
        if (!run) throw new PipelineNotFoundError(id);
        await streamProgress(call, run, signal);
      });
    },

    CancelPipeline: changing("CancelPipeline", async (request) => {
      const id = validateTaskId(request.pipeline_id, "pipeline_id");
      const run = deps.pipelines.get(id);
      if (!run) throw new PipelineNotFoundError(id);
      const cancelled = await deps.pipelines.cancel(id);
      log.info("pipeline cancel", { pipeline: id, cancelled, reason: request.reason });
      return {
        cancelled,
        message: cancelled ? `pipeline ${id} cancelled` : `pipeline ${id} had already finished`,
      };
    }),

    ApproveStage: unary("ApproveStage", async (request) => {
      const id = validateTaskId(request.pipeline_id, "pipeline_id");
      if (!request.stage_id) throw new ValidationError("stage_id", "is required");
      const status = await deps.pipelines.approve(id, request.stage_id, {
        approved: request.approved,
        approver: request.approver.slice(0, 256),
        comment: request.comment.slice(0, 1024),
      });
      const verb = request.approved ? "approved" : "rejected";
      return { status, message: `stage ${request.stage_id} of pipeline ${id} ${verb}` };
    }),

    WatchWorkerLogs: (call) => {
      let query;
      try {
        query = {
          taskId: validateTaskId(requestOf(call.request).task_id),
          workerId: call.request.worker_id || undefined,
          follow: call.request.follow,
          resumeAfter: resumeAfterFromWire(call.request.resume_after),
        };
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      batchWrites(call);
      deps.streams.serve(call, log, async (signal) => {
        for await (const item of watchTaskLogs(deps.runtime, query, signal)) {
          // Encoded here, sent as is: the server registers this method with preEncoded().
          const entry = encodeLogEntry(item, deps.namespace) as unknown as WorkerLogEntry;
          await writeFlowControlled(call, entry, signal);
          if (signal.aborted) return;
        }
      });
    },

    WatchWorkerEvents: (call) => {
      let filter;
      try {
        filter = {
          taskId: requestOf(call.request).task_id || undefined,
          workerId: call.request.worker_pod_name || undefined,
          phase: validatePhaseFilter(call.request.status_filter),
        };
      } catch (err) {
        call.emit("error", toGrpcError(err));
        return;
      }
      deps.streams.serve(call, log, async (signal) => {
        for await (const event of watchEvents(deps.runtime, filter, signal)) {
          await writeFlowControlled(call, eventToWire(event), signal);
          if (signal.aborted) return;
        }
      });
    },
  };
}
