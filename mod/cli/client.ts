/**
 * The CLI's gRPC client: the same contract as the server, loaded from the embedded protos, with
 * promise-returning unary calls; plaintext or TLS (optionally with a client certificate), and a
 * bearer token on every call.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { loadGrpcObjects, loadPackageDefinition } from "../grpc/proto.ts";
import type { OttoscalerServiceClient } from "../../proto/generated/ottoscaler/v1/OttoscalerService.ts";

/** How the CLI proves who it is and checks the server. */
export interface ClientSecurity {
  /** Dial over TLS. */
  readonly tls: boolean;
  /** PEM of the CA that signed the server's certificate; absent: the system's roots. */
  readonly caPem?: Uint8Array;
  /** A client certificate and key (PEM) for mTLS. */
  readonly clientCertificate?: { readonly certPem: Uint8Array; readonly keyPem: Uint8Array };
  /** A bearer token sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
}

/** Connects to Ottoscaler at `address` (host:port); plaintext unless `security.tls`. */
export function connect(
  address: string,
  security: ClientSecurity = { tls: false },
): OttoscalerServiceClient {
  const proto = loadGrpcObjects(loadPackageDefinition());
  const cert = security.clientCertificate;
  const channel = security.tls
    ? grpc.credentials.createSsl(
      security.caPem ? Buffer.from(security.caPem) : null,
      cert ? Buffer.from(cert.keyPem) : null,
      cert ? Buffer.from(cert.certPem) : null,
    )
    : grpc.credentials.createInsecure();
  const token = security.token;
  // grpc-js puts call credentials only on TLS channels; on plaintext (loopback) the token goes
  // in by an interceptor instead.
  const interceptors: grpc.Interceptor[] = token && !security.tls
    ? [(options, next) =>
      new grpc.InterceptingCall(next(options), {
        start: (metadata, listener, start) => {
          metadata.set("authorization", `Bearer ${token}`);
          start(metadata, listener);
        },
      })]
    : [];
  const credentials = token && security.tls
    ? grpc.credentials.combineChannelCredentials(
      channel,
      grpc.credentials.createFromMetadataGenerator((_params, callback) => {
        const metadata = new grpc.Metadata();
        metadata.set("authorization", `Bearer ${token}`);
        callback(null, metadata);
      }),
    )
    : channel;
  return new proto.ottoscaler.v1.OttoscalerService(address, credentials, { interceptors });
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

/** What to do about a refusal, for the CLI's hint line. */
export function refusalHint(err: unknown): string | undefined {
  const code = (err as Partial<grpc.ServiceError>)?.code;
  if (code === grpc.status.UNAUTHENTICATED) {
    return "hint: pass a token with --token, --token-file or OTTOSCALER_TOKEN (or a client " +
      "certificate with --cert-file and --key-file)";
  }
  if (code === grpc.status.PERMISSION_DENIED) {
    return "hint: your credential's role does not allow this (viewer reads; operator also changes)";
  }
  return undefined;
}

/** Whether a call failed because no server answered at the address. */
export function isUnavailable(err: unknown): boolean {
  return (err as Partial<grpc.ServiceError>)?.code === grpc.status.UNAVAILABLE;
}
