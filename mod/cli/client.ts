/**
 * The CLI's gRPC client: the same contract as the server, loaded from the embedded protos, with
 * promise-returning unary calls.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { loadGrpcObjects, loadPackageDefinition } from "../grpc/proto.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";

/** Connects to Ottoscaler at `address` (host:port, plaintext). */
export function connect(address: string): OttoscalerServiceClient {
  const proto = loadGrpcObjects(loadPackageDefinition());
  return new proto.ottoscaler.v1.OttoscalerService(address, grpc.credentials.createInsecure());
}

/** Calls a unary method and resolves with its response. */
export function unaryCall<Req, Res>(
  method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** A readable form of a gRPC error: `INVALID_ARGUMENT: task_id: must not be empty`. */
export function describeGrpcError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code === "number") {
    const name = grpc.status[e.code] ?? `code ${e.code}`;
    return `${name}: ${e.details ?? e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Whether a call failed because no server answered at the address. */
export function isUnavailable(err: unknown): boolean {
  return (err as Partial<grpc.ServiceError>)?.code === grpc.status.UNAVAILABLE;
}
