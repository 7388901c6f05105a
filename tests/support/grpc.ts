/**
 * gRPC helpers for the Deno end-to-end tests.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";

/** Reads a server stream to its end. */
export function readAll<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on("data", (item: T) => items.push(item));
    stream.on("end", () => resolve(items));
    stream.on("error", reject);
  });
}

/**
 * Reads a server stream until `done` holds for what arrived so far, then cancels it (as a client
 * that goes away); resolves with what arrived, also if the stream ends first.
 */
export function readUntil<T>(
  stream: grpc.ClientReadableStream<T>,
  done: (items: readonly T[]) => boolean,
): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on("data", (item: T) => {
      items.push(item);
      if (done(items)) {
        stream.cancel();
        resolve(items);
      }
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
    stream.on("end", () => resolve(items));
  });
}
