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

/** The part of Node's Writable contract that {@linkcode batchWrites} relies on. */
interface BatchableWritable {
  _write(chunk: unknown, encoding: string, callback: (error?: Error | null) => void): void;
  _writev?:
    | null
    | ((
      chunks: { chunk: unknown; encoding: string }[],
      callback: (error?: Error | null) => void,
    ) => void);
}

/**
 * Makes a server stream hand every message queued behind a write in flight to HTTP/2 in one go.
 *
 * grpc-js passes a server stream's messages on one at a time, each after the previous one was
 * written to the socket, so on Deno every message costs its own `sendto` and its own event-loop
 * turn (docs/performance.md). Node's Writable calls `_writev` with everything queued meanwhile;
 * this one writes those messages back to back through the stream's own `_write`, so the HTTP/2
 * session sends them in as few socket writes as fit. Order and flow control are unchanged: the
 * batch's callback is the last message's, and `write` still returns false at the high-water mark.
 * A batch only forms behind a write in flight, so the response metadata has always been sent (by
 * the first message, alone) before one does; the server has no interceptors that could delay it.
 */
export function batchWrites<T>(call: grpc.ServerWritableStream<unknown, T>): void {
  const writable = call as unknown as BatchableWritable;
  if (typeof writable._write !== "function" || typeof writable._writev === "function") return;
  const none = () => {};
  writable._writev = (chunks, callback) => {
    const last = chunks.length - 1;
    chunks.forEach(({ chunk, encoding }, i) =>
      writable._write(chunk, encoding, i === last ? callback : none)
    );
  };
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
