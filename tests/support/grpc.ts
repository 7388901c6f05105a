/**
 * gRPC helpers for the Deno end-to-end tests.
 *
 * @module
 */

import type * as grpc from "@grpc/grpc-js";

/** Reads a server stream to its end. */
export function readAll<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on("data", (item: T) => items.push(item));
    stream.on("end", () => resolve(items));
    stream.on("error", reject);
  });
}
