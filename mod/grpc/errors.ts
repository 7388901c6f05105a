/**
 * The one place domain errors become gRPC status codes.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { NotLeaderError } from "../kube/leader.ts";
import { PipelineNotFoundError, StageNotWaitingError } from "../pipeline/executor.ts";
import { StateDirFullError } from "../storage/space.ts";
import { ImageNotAllowedError, ValidationError } from "../worker/errors.ts";
import { WorkerConflictError, WorkerEndedError, WorkerNotFoundError } from "../worker/types.ts";

/** A gRPC error: what `callback(err)` and `call.destroy(err)` take. */
export interface GrpcError extends Error {
  /** The status code. */
  code: grpc.status;
  /** The message sent to the client. */
  details: string;
}

/** Makes a gRPC error with `code` and `details`. */
export function grpcError(code: grpc.status, details: string): GrpcError {
  return Object.assign(new Error(details), { code, details });
}

/** Maps a thrown value to the gRPC error the client should see. */
export function toGrpcError(err: unknown): GrpcError {
  if (err instanceof ValidationError) return grpcError(grpc.status.INVALID_ARGUMENT, err.message);
  if (err instanceof ImageNotAllowedError) {
    return grpcError(grpc.status.PERMISSION_DENIED, err.message);
  }
  if (err instanceof WorkerConflictError) return grpcError(grpc.status.ALREADY_EXISTS, err.message);
  if (err instanceof WorkerNotFoundError || err instanceof PipelineNotFoundError) {
    return grpcError(grpc.status.NOT_FOUND, err.message);
  }
  // A standby names the leader; the client (or the Service, once readiness moved) retries there.
  if (err instanceof NotLeaderError) return grpcError(grpc.status.UNAVAILABLE, err.message);
  if (err instanceof WorkerEndedError || err instanceof StageNotWaitingError) {
    return grpcError(grpc.status.FAILED_PRECONDITION, err.message);
  }
  // A full disk: nothing was changed; the same call succeeds once there is room.
  if (err instanceof StateDirFullError) {
    return grpcError(grpc.status.RESOURCE_EXHAUSTED, err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return grpcError(grpc.status.INTERNAL, message);
}
