/**
 * Calls any method of a running Ottoscaler by its path, with any credentials and metadata, and
 * reports only the status it ended with: for tables of method × caller in the security tests.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { loadPackageDefinition } from "../../mod/grpc/proto.ts";

type Kind = "unary" | "server" | "bidi";

/** A call to make: the method's path, its shape and a request (plain object, or raw bytes). */
export interface RawCall {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The method's shape. */
  readonly kind: Kind;
  /** The request message. */
  readonly request: Record<string, unknown> | Uint8Array;
}

const definition = loadPackageDefinition();

function serializer(path: string, request: RawCall["request"]): (v: unknown) => Buffer {
  if (request instanceof Uint8Array) return (v) => Buffer.from(v as Uint8Array);
  const [, service, method] = path.match(/^\/([^/]+)\/(.+)$/)!;
  const def = (definition[service] as grpc.ServiceDefinition)[method];
  return def.requestSerialize as (v: unknown) => Buffer;
}

/**
 * Makes the call and resolves with its final status code (OK when a stream ended cleanly).
 * `deadlineMs` bounds calls that stay open when allowed (watches): they end DEADLINE_EXCEEDED.
 */
export function callStatus(
  client: grpc.Client,
  call: RawCall,
  metadata: grpc.Metadata,
  deadlineMs = 30_000,
): Promise<{ code: grpc.status; details: string }> {
  const serialize = serializer(call.path, call.request);
  const deserialize = (b: Buffer) => b;
  const deadline = new Date(Date.now() + deadlineMs);
  return new Promise((resolve) => {
    const done = (err: grpc.ServiceError | null) =>
      resolve(
        err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: "" },
      );
    if (call.kind === "unary") {
      client.makeUnaryRequest(
        call.path,
        serialize,
        deserialize,
        call.request,
        metadata,
        { deadline },
        (err) => done(err),
      );
      return;
    }
    const stream = call.kind === "server"
      ? client.makeServerStreamRequest(
        call.path,
        serialize,
        deserialize,
        call.request,
        metadata,
        { deadline },
      )
      : client.makeBidiStreamRequest(call.path, serialize, deserialize, metadata, { deadline });
    if (call.kind === "bidi") {
      const duplex = stream as grpc.ClientDuplexStream<unknown, Buffer>;
      duplex.write(call.request);
      duplex.end();
    }
    stream.on("data", () => {});
    stream.on("error", (err: grpc.ServiceError) => done(err));
    stream.on("status", (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) done(null);
    });
  });
}

/** Metadata with `authorization` set to each of `values` (none: no header). */
export function authMetadata(...values: string[]): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const v of values) metadata.add("authorization", v);
  return metadata;
}
