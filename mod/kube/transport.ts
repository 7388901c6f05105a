/**
 * How requests to the API server travel: HTTP/1.1 only, on Deno's own HTTP client (TLS and HTTP
 * in Rust) wherever the kubeconfig's TLS settings can be said to it, else on undici.
 *
 * - HTTP/1.1 only: undici (since v7) offers h2 by ALPN and the API server takes it, which puts
 *   every request on Deno's `node:http2`; a restarting API server closes that session with
 *   GOAWAY, and nghttp2 can then abort the whole process (denoland/deno#36788).
 * - Deno's client: a pod create through undici costs this process about four times the CPU
 *   (TLS through `node:tls`, a certificate parsed per connection, the HTTP parser in JS), and
 *   during a ScaleUp of hundreds of pods the process is CPU-bound on the cores it shares with the
 *   API server (docs/performance.md, Scale-up). It takes PEM CA certificates and a PEM client
 *   certificate and key; a PKCS#12 bundle, a key passphrase, skipped verification, a TLS server
 *   name override or a proxy stay on undici.
 *
 * @module
 */

import type { DispatcherOptions, KubeConfig } from "@kubernetes/client-node";
import { type Dispatcher, fetch as undiciFetch } from "undici";

/** How long an idle keep-alive connection is kept (the API server closes them after 90 s). */
const IDLE_MS = 60_000;

/** Sends one request; `fetch`'s signature. */
export type Send = (url: URL, init: RequestInit) => Promise<Response>;

/** A way to send requests, and how to release its connections. */
export interface Transport {
  /** Sends one request. */
  readonly send: Send;
  /** Which client: `deno` or `undici` (for tests and logs). */
  readonly kind: "deno" | "undici";
  /** Closes its connections. */
  close(): void;
}

/**
 * Makes the kubeconfig's connections HTTP/1.1 only, and returns a function that tells the TLS
 * settings of the last dispatcher the config built (client-node builds one per request context).
 */
export function http1Only(config: KubeConfig): () => DispatcherOptions | undefined {
  const options = config.createDispatcherOptions.bind(config);
  let last: DispatcherOptions | undefined;
  config.createDispatcherOptions = (cluster, agentOptions) => {
    const o = options(cluster, agentOptions);
    // `allowH2` is undici's own connect option, which client-node's type does not list.
    last = o.type === "agent"
      ? { ...o, connect: { ...o.connect, allowH2: false } as typeof o.connect }
      : o;
    return last;
  };
  return () => last;
}

/** One PEM text from a string or buffer, undefined for anything else. */
function pem(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return undefined;
}

/**
 * The options of Deno's HTTP client (HTTP/1.1 only) for a dispatcher's TLS settings, or
 * undefined when it cannot express them (see the module doc).
 */
export function denoClientOptions(
  options: DispatcherOptions | undefined,
): Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> | undefined {
  const base = { http1: true, http2: false, poolIdleTimeout: IDLE_MS };
  if (options === undefined || options.type === "none") return base;
  if (options.type !== "agent") return undefined; // a proxy
  const c = options.connect;
  if (c.pfx !== undefined || c.passphrase !== undefined || c.servername !== undefined) {
    return undefined;
  }
  if (c.rejectUnauthorized === false) return undefined;
  const cas = c.ca === undefined ? [] : Array.isArray(c.ca) ? c.ca.map(pem) : [pem(c.ca)];
  const cert = c.cert === undefined ? undefined : pem(c.cert);
  const key = c.key === undefined ? undefined : pem(c.key);
  if (cas.some((ca) => ca === undefined) || (c.cert !== undefined && cert === undefined)) {
    return undefined;
  }
  if ((c.key !== undefined && key === undefined) || (cert === undefined) !== (key === undefined)) {
    return undefined;
  }
  return {
    ...base,
    ...(cas.length > 0 ? { caCerts: cas as string[] } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}

/**
 * The transport for a dispatcher's TLS settings: Deno's client when it can express them, else
 * `dispatcher` (undici's pool client-node built for them), which is then the caller's to close.
 */
export function transportFor(
  options: DispatcherOptions | undefined,
  dispatcher: Dispatcher | undefined,
): Transport {
  const native = denoClientOptions(options);
  if (native) {
    const client = Deno.createHttpClient(native);
    return {
      kind: "deno",
      send: (url, init) => fetch(url, { ...init, client }),
      close: () => client.close(),
    };
  }
  return {
    kind: "undici",
    send: async (url, init) =>
      await undiciFetch(url, {
        method: init.method,
        headers: init.headers as Record<string, string>,
        body: init.body as string | undefined,
        signal: init.signal ?? undefined,
        dispatcher,
      }) as unknown as Response,
    close: () => void dispatcher?.close().catch(() => {}),
  };
}
