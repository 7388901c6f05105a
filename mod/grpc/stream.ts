/**
 * Server-stream plumbing: writes that respect gRPC flow control, and the lifetime of a stream
 * (ended when the client cancels or the server shuts down).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { grpcError, toGrpcError } from "./errors.ts";
import type { Logger } from "../telemetry/logger.ts";

/** Writes `message`, waiting for the stream to drain when its buffer is full. */
export async function writeFlowControlled<T>(
  call: grpc.ServerWritableStream<unknown, T>,
  message: T,
  signal: AbortSignal,
): Promise<void> {
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.on("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Tracks open server streams so shutdown can end them with UNAVAILABLE. */
export class StreamRegistry {
  readonly #open = new Set<AbortController>();
  #shuttingDown = false;

  /** Whether the server is shutting down. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Runs a server-stream handler body with a signal that aborts when the client cancels or the
   * server shuts down; ends the call with OK, the handler's error, or UNAVAILABLE on shutdown.
   */
  async serve<T>(
    call: grpc.ServerWritableStream<unknown, T>,
    log: Logger,
    body: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const controller = new AbortController();
    if (this.#shuttingDown) {
      call.emit("error", grpcError(grpc.status.UNAVAILABLE, "server is shutting down"));
      return;
    }
    this.#open.add(controller);
    const cancel = () => controller.abort();
    call.on("cancelled", cancel);
    call.on("error", cancel);
    try {
      await body(controller.signal);
      if (this.#shuttingDown) {
        call.emit("error", grpcError(grpc.status.UNAVAILABLE, "server is shutting down"));
      } else if (!call.cancelled) {
        call.end();
      }
    } catch (err) {
      if (!call.cancelled) {
        const error = toGrpcError(err);
        if (error.code === grpc.status.INTERNAL) log.error("stream failed", { err });
        call.emit("error", error);
      }
    } finally {
      this.#open.delete(controller);
      call.off("cancelled", cancel);
    }
  }

  /** Aborts every open stream; each ends with UNAVAILABLE. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const controller of this.#open) controller.abort();
  }
}
