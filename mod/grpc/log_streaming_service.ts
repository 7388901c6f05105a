/**
 * The handlers of `ottoscaler.v1.LogStreamingService`: an agent inside a worker registers, then
 * streams structured lines (level, metadata) that join the worker's numbered stream, so every
 * consumer (pull or push) gets them in sequence with the worker's own output.
 *
 * Each entry is answered with ACK and the sequence it got, or DROP with the reason (unknown or
 * ended worker, empty or oversized message). The stream itself stays open.
 *
 * Resuming: an entry may carry the agent's own number (`agent_sequence`, growing from 1). One at
 * or below the highest stored for its worker is a resend after a lost connection and is answered
 * ACK with sequence 0 without being stored again; `RegisterWorker` tells an agent that number
 * (`last_agent_sequence`), so it resumes right after it.
 *
 * @module
 */

import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "../telemetry/logger.ts";
import { requestOf } from "./decode.ts";
import { toGrpcError } from "./errors.ts";
import { StateDirFullError } from "../storage/space.ts";
import {
  type AgentLogSink,
  isTerminal,
  type Runtime,
  WorkerEndedError,
  WorkerNotFoundError,
} from "../worker/types.ts";
import type { LogStreamingServiceHandlers } from "../../proto/generated/ottoscaler/v1/LogStreamingService.ts";
import type { LogEntry__Output } from "../../proto/generated/ottoscaler/v1/LogEntry.ts";
import type { LogResponse } from "../../proto/generated/ottoscaler/v1/LogResponse.ts";

/** What the handlers need. */
export interface LogStreamingDeps {
  /** The runtime, which must accept agent lines. */
  readonly runtime: Runtime & AgentLogSink;
  /** The longest message accepted, in bytes. */
  readonly maxMessageBytes: number;
  /** The logger. */
  readonly logger: Logger;
}

const encoder = new TextEncoder();

/** Builds the service's handlers. */
export function logStreamingHandlers(deps: LogStreamingDeps): LogStreamingServiceHandlers {
  const log = deps.logger.with({ component: "grpc.log-streaming" });
  const registered = new Set<string>();
  const find = (id: string) => deps.runtime.list().find((w) => w.id === id);

  const accept = async (entry: LogEntry__Output): Promise<LogResponse> => {
    const drop = (message: string): LogResponse => ({ status: "DROP", message, sequence: 0 });
    if (!entry.worker_id) return drop("worker_id: must not be empty");
    const worker = find(entry.worker_id);
    if (!worker) return drop(`worker_id: no worker "${entry.worker_id}"`);
    if (entry.task_id && entry.task_id !== worker.taskId) {
      return drop(`task_id: worker "${worker.id}" belongs to task "${worker.taskId}"`);
    }
    if (encoder.encode(entry.message).length > deps.maxMessageBytes) {
      return drop(`message: longer than ${deps.maxMessageBytes} bytes`);
    }
    if (entry.timestamp && Number.isNaN(Date.parse(entry.timestamp))) {
      return drop(`timestamp: must be RFC 3339, got "${entry.timestamp}"`);
    }
    const agentSequence = Number(entry.agent_sequence || 0);
    if (!Number.isSafeInteger(agentSequence) || agentSequence < 0) {
      return drop(`agent_sequence: must be 0 or a positive integer, got ${entry.agent_sequence}`);
    }
    try {
      const sequence = await deps.runtime.appendAgentLines(worker.id, [{
        message: entry.message.replace(/\r?\n$/, ""),
        level: entry.level || "info",
        timestamp: entry.timestamp || undefined,
        metadata: { ...entry.metadata, ...(entry.source ? { source: entry.source } : {}) },
        ...(agentSequence > 0 ? { agentSequence } : {}),
      }]);
      if (sequence === 0) {
        return {
          status: "ACK",
          message: `agent_sequence ${agentSequence}: already stored`,
          sequence,
        };
      }
      return { status: "ACK", message: "", sequence };
    } catch (err) {
      if (err instanceof WorkerEndedError || err instanceof WorkerNotFoundError) {
        return drop(err.message);
      }
      throw err;
    }
  };

  return {
    RegisterWorker: (call, callback) => {
      let request;
      try {
        request = requestOf(call.request);
      } catch (err) {
        return callback(toGrpcError(err));
      }
      const { worker_id: workerId, task_id: taskId } = request;
      const worker = workerId ? find(workerId) : undefined;
      const config = {
        rate_limit: 0,
        buffer_size: 1000,
        max_message_size: deps.maxMessageBytes,
        include_metadata: true,
      };
      if (!workerId) {
        return callback(null, {
          status: "INVALID_REQUEST",
          message: "worker_id: must not be empty",
        });
      }
      if (!worker) {
        return callback(null, {
          status: "INVALID_REQUEST",
          message: `worker_id: no worker "${workerId}"`,
        });
      }
      if (taskId && taskId !== worker.taskId) {
        return callback(null, {
          status: "INVALID_REQUEST",
          message: `task_id: worker "${workerId}" belongs to task "${worker.taskId}"`,
        });
      }
      if (isTerminal(worker.phase)) {
        return callback(null, {
          status: "INVALID_REQUEST",
          message: `worker "${workerId}" has ended`,
        });
      }
      const again = registered.has(workerId);
      registered.add(workerId);
      log.debug("agent registered", { worker: workerId });
      callback(null, {
        status: again ? "ALREADY_REGISTERED" : "SUCCESS",
        message: again ? "already registered; streaming may go on" : "registered",
        session_id: `${workerId}/${crypto.randomUUID()}`,
        config,
        last_agent_sequence: deps.runtime.lastAgentSequence?.(workerId) ?? 0,
      });
    },

    StreamLogs: (call: grpc.ServerDuplexStream<LogEntry__Output, LogResponse>) => {
      // Entries are answered one at a time, in order: a chain keeps them sequential.
      let chain = Promise.resolve();
      call.on("data", (raw: LogEntry__Output) => {
        let entry: LogEntry__Output;
        try {
          entry = requestOf(raw);
        } catch (err) {
          // Bytes that do not decode end the stream as INVALID_ARGUMENT, after the lines before.
          chain = chain.then(() => {
            call.destroy(toGrpcError(err));
          });
          return;
        }
        chain = chain.then(async () => {
          const response = await accept(entry).catch((err) => {
            // A full state directory is logged once by the runtime; the agent sends it again.
            if (err instanceof StateDirFullError) {
              return { status: "RETRY" as const, message: err.message, sequence: 0 };
            }
            log.error("storing an agent line failed", { worker: entry.worker_id, err });
            return { status: "RETRY" as const, message: "could not store the line", sequence: 0 };
          });
          if (!call.cancelled) call.write(response);
        });
      });
      call.on("end", () => {
        chain.then(() => call.end());
      });
      call.on("error", () => {});
    },
  };
}
