/**
 * TLS for the gRPC server from PEM files that are reloaded without a restart (cert-manager and
 * Secret rotation), optionally requiring client certificates signed by a CA (mTLS).
 *
 * grpc-js (>= 1.10) takes server credentials from a `CertificateProvider` and calls
 * `setSecureContext` on its listener whenever the provider reports new certificates, so new
 * connections get the new certificate while open ones keep theirs. grpc-js's own
 * `FileWatcherCertificateProvider` reports "no certificate" when a read fails, which drops every
 * new connection until the next good read; this provider instead checks each new set (the key
 * matches the certificate, every PEM parses) and keeps the last good one otherwise, logging why.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Logger } from "../../telemetry/logger.ts";
import { type FileWatch, watchFiles } from "./file_watch.ts";

type CertificateProvider = grpc.experimental.CertificateProvider;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/** Where the server's certificate, key and (for mTLS) client CA are. */
export interface TlsFiles {
  /** PEM certificate chain of the server. */
  readonly certFile: string;
  /** PEM private key of the server. */
  readonly keyFile: string;
  /** PEM CA bundle that client certificates must chain to; empty: no client certificates. */
  readonly clientCaFile: string;
}

/** Thrown at start for a TLS file that cannot be read or used; names the setting. */
export class TlsFileError extends Error {
  /** The setting (environment variable) at fault. */
  readonly variable: string;
  /** Creates the error. */
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "TlsFileError";
    this.variable = variable;
  }
}

interface Loaded {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** Checks a certificate/key/CA set; returns the problem and the setting at fault, if any. */
export function tlsProblem(
  cert: Uint8Array,
  key: Uint8Array,
  ca?: Uint8Array,
): { variable: string; message: string } | undefined {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { variable: "GRPC_TLS_CERT_FILE", message: `not a PEM certificate: ${msg(err)}` };
  }
  try {
    const privateKey = createPrivateKey(Buffer.from(key));
    if (!x509.checkPrivateKey(privateKey)) {
      return { variable: "GRPC_TLS_KEY_FILE", message: "the key does not match the certificate" };
    }
  } catch (err) {
    return { variable: "GRPC_TLS_KEY_FILE", message: `not a PEM private key: ${msg(err)}` };
  }
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      return { variable: "GRPC_TLS_CLIENT_CA_FILE", message: `not a PEM certificate: ${msg(err)}` };
    }
  }
  return undefined;
}

/** The certificate files as a grpc-js certificate provider that re-reads them on an interval. */
export class ReloadingCertificateProvider implements CertificateProvider {
  #latest: Loaded;
  #identity = new Set<IdentityListener>();
  #ca = new Set<CaListener>();
  #watch: FileWatch;

  private constructor(files: TlsFiles, initial: Loaded, logger: Logger, intervalMs: number) {
    this.#latest = initial;
    const paths = [
      files.certFile,
      files.keyFile,
      ...(files.clientCaFile ? [files.clientCaFile] : []),
    ];
    const initialBytes = [initial.cert, initial.key, ...(initial.ca ? [initial.ca] : [])];
    this.#watch = watchFiles(paths, initialBytes, {
      intervalMs,
      onChange: ([cert, key, ca]) => {
        const problem = tlsProblem(cert, key, ca);
        if (problem) {
          logger.error("new TLS files not used; the previous certificate stays in force", {
            setting: problem.variable,
            reason: problem.message,
          });
          return;
        }
        this.#latest = {
          cert: Buffer.from(cert),
          key: Buffer.from(key),
          ca: ca && Buffer.from(ca),
        };
        logger.info("TLS certificate reloaded", describe(this.#latest.cert));
        this.#publish();
      },
      onError: (err) =>
        logger.warn("cannot re-read TLS files; the previous certificate stays in force", {
          error: err.message,
        }),
    });
  }

  /** Reads and checks the files; throws {@linkcode TlsFileError} naming the setting at fault. */
  static async open(
    files: TlsFiles,
    logger: Logger,
    intervalMs = 2000,
  ): Promise<ReloadingCertificateProvider> {
    const read = async (variable: string, path: string) => {
      try {
        return Buffer.from(await Deno.readFile(path));
      } catch (err) {
        throw new TlsFileError(variable, `cannot read "${path}": ${msg(err)}`);
      }
    };
    const cert = await read("GRPC_TLS_CERT_FILE", files.certFile);
    const key = await read("GRPC_TLS_KEY_FILE", files.keyFile);
    const ca = files.clientCaFile
      ? await read("GRPC_TLS_CLIENT_CA_FILE", files.clientCaFile)
      : undefined;
    const problem = tlsProblem(cert, key, ca);
    if (problem) throw new TlsFileError(problem.variable, problem.message);
    logger.info("TLS certificate loaded", describe(cert));
    return new ReloadingCertificateProvider(files, { cert, key, ca }, logger, intervalMs);
  }

  /** Server credentials over this provider: TLS, and mTLS when a client CA is configured. */
  serverCredentials(): grpc.ServerCredentials {
    const mtls = this.#latest.ca !== undefined;
    // grpc-js names this function's parameters (ca, identity, ...) but hands them on as
    // (identity, ca, ...), which is what its constructor means: the identity provider comes first.
    return grpc.experimental.createCertificateProviderServerCredentials(
      this,
      mtls ? this : null,
      mtls,
    );
  }

  /** Stops re-reading the files (safe to call twice). */
  close(): void {
    this.#watch.close();
  }

  #publish(): void {
    for (const listener of this.#ca) listener(this.#caUpdate());
    for (const listener of this.#identity) listener(this.#identityUpdate());
  }

  #identityUpdate() {
    return { certificate: this.#latest.cert, privateKey: this.#latest.key };
  }

  #caUpdate() {
    return this.#latest.ca ? { caCertificate: this.#latest.ca } : null;
  }

  // grpc-js asks for the current certificates by adding a listener, then adds the watcher that
  // applies them to its listening socket: the first answer must come after that, not inside
  // the call.

  /** grpc-js: subscribe to CA changes (answered once at once, asynchronously). */
  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    queueMicrotask(() => this.#ca.has(listener) && listener(this.#caUpdate()));
  }

  /** grpc-js: unsubscribe from CA changes. */
  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }

  /** grpc-js: subscribe to certificate changes (answered once at once, asynchronously). */
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    queueMicrotask(() => this.#identity.has(listener) && listener(this.#identityUpdate()));
  }

  /** grpc-js: unsubscribe from certificate changes. */
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
  }
}

/** The fields that tell certificates apart in logs. */
function describe(cert: Uint8Array): Record<string, string> {
  const x509 = new X509Certificate(cert);
  return { subject: x509.subject, serial: x509.serialNumber, notAfter: x509.validTo };
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
