/**
 * The one place gRPC calls are counted and timed: a grpc-js server interceptor that sees the
 * status every call ends with (unary or stream, ours, health or reflection) and records
 * `ottoscaler_grpc_requests_total{method,code}` and `ottoscaler_grpc_request_duration_seconds`.
 * A call the client cancels sends no status; it is counted as `CANCELLED`.
 *
 * Other interceptors (authentication) go beside this one in the server's `interceptors` list;
 * put this one first so refused calls are counted too.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Metrics } from "../telemetry/metrics.ts";

/** The RPC name of a method path (`/ottoscaler.v1.OttoscalerService/ScaleUp` is `ScaleUp`). */
export function methodName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}

/** The status name of a code (`OK`, `INVALID_ARGUMENT`), or the number for an unknown one. */
export function codeName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** An interceptor recording every call's method, status and duration in `metrics`. */
export function requestMetrics(metrics: Metrics): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const method = methodName(descriptor.path);
    const started = performance.now();
    let recorded = false;
    const record = (code: number) => {
      if (recorded) return;
      recorded = true;
      metrics.grpcRequests.inc({ method, code: codeName(code) });
      metrics.grpcDuration.observe({ method }, (performance.now() - started) / 1000);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => record(grpc.status.CANCELLED) }),
      sendStatus: (status, next) => {
        record(status.code);
        next(status);
      },
    });
  };
}
