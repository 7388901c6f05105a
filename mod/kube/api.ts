/**
 * The slice of the Kubernetes API the Kubernetes runtime uses, over raw JSON.
 *
 * Authentication and TLS come from @kubernetes/client-node's `KubeConfig` (kubeconfig files,
 * contexts, in-cluster service accounts, exec plugins); requests go over HTTP/1.1 through Deno's
 * own HTTP client, or undici (the client client-node itself uses) where Deno's cannot take the
 * TLS settings (./transport.ts), so objects stay plain JSON (client-node's typed API turns
 * timestamps into `Date`s, which a watch does not) and status codes and `Retry-After` stay
 * visible to the retry logic.
 *
 * @module
 */

import {
  type DispatcherOptions,
  HttpMethod,
  KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import { http1Only, type Transport, transportFor } from "./transport.ts";
import { backoffDelay, type BackoffOptions, sleep } from "../async/backoff.ts";
import { isNotFound, isRetryable, KubeApiError } from "./errors.ts";

/** The fields of a Pod the runtime reads (raw JSON, as the API server sends it). */
export interface PodObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    nodeName?: string;
    activeDeadlineSeconds?: number;
    [key: string]: unknown;
  };
  status?: PodStatusObject;
}

/** A Pod's status (the fields the runtime reads). */
export interface PodStatusObject {
  phase?: string;
  reason?: string;
  message?: string;
  startTime?: string;
  podIP?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatusObject[];
}

/** A container's status. */
export interface ContainerStatusObject {
  name: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: string };
    terminated?: {
      exitCode: number;
      reason?: string;
      message?: string;
      startedAt?: string;
      finishedAt?: string;
    };
  };
}

/** A ConfigMap (raw JSON). */
export interface ConfigMapObject {
  apiVersion?: "v1";
  kind?: "ConfigMap";
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  data?: Record<string, string>;
}

/** One event of a watch stream. */
export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

/** A list answer: the items and the resourceVersion to watch from. */
export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

/** How {@linkcode withRetries} retries. */
export interface RetryOptions {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Backoff between attempts (a server's Retry-After wins). */
  readonly backoff: BackoffOptions;
  /** Errors to retry besides the {@linkcode isRetryable} ones (e.g. 409 Conflict). */
  readonly alsoRetry?: (err: unknown) => boolean;
  /** Stops retrying (the last error is thrown) and cuts a wait short. */
  readonly signal?: AbortSignal;
  /** Called before each wait. */
  readonly onRetry?: (attempt: number, waitMs: number, err: unknown) => void;
}

/**
 * Runs a request, retrying throttling (429, waiting as long as Retry-After says), server errors,
 * network errors (and `alsoRetry`) with capped backoff, up to `attempts` in all.
 */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retry = isRetryable(err) || (options.alsoRetry?.(err) ?? false);
      if (!retry || attempt >= options.attempts || options.signal?.aborted) throw err;
      const waitMs = err instanceof KubeApiError && err.retryAfterSeconds !== undefined
        ? err.retryAfterSeconds * 1000
        : backoffDelay(attempt, options.backoff);
      options.onRetry?.(attempt, waitMs, err);
      await sleep(waitMs, options.signal);
    }
  }
}

/** Where to find the cluster: a kubeconfig file and context, or the in-cluster account. */
export interface KubeConnectOptions {
  /** A kubeconfig path; empty or absent: in-cluster if running in a pod, else the defaults. */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig; empty or absent: its current context. */
  readonly context?: string;
  /** Told of every request's answer (for metrics and readiness); see {@linkcode KubeObserver}. */
  readonly observer?: KubeObserver;
}

/**
 * Told of every request: the verb (`GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `DELETE`) and
 * the HTTP status code, 0 when no answer came (network error or timeout).
 */
export type KubeObserver = (verb: string, code: number) => void;

/** The requests the runtime makes. An interface so pure logic can be tested with a fake. */
export interface KubeApi {
  /** The namespace-independent base URL of the server. */
  readonly server: string;
  /** GET a path; resolves with the parsed JSON. */
  get<T>(path: string): Promise<T>;
  /** POST an object to a collection path. */
  create<T>(path: string, body: unknown, query?: Record<string, string>): Promise<T>;
  /** PUT an object. */
  replace<T>(path: string, body: unknown): Promise<T>;
  /** PATCH with a JSON merge patch. */
  mergePatch<T>(path: string, patch: unknown): Promise<T>;
  /** DELETE an object; a missing one is not an error. */
  remove(path: string, query?: Record<string, string>): Promise<void>;
  /** Lists a collection (until `signal` aborts it, if given). */
  list<T>(
    path: string,
    query?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ListResult<T>>;
  /**
   * Watches a collection from `resourceVersion`; calls `onEvent` per event; resolves when the
   * stream ends (server timeout, closed connection, or `signal`); rejects when it cannot start.
   */
  watch<T>(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** Streams a raw body (pods/log); resolves once the answer's headers arrived. */
  stream(path: string, query: Record<string, string>, signal: AbortSignal): Promise<
    ReadableStream<Uint8Array>
  >;
}

/** Loads a kubeconfig (or the in-cluster configuration) and opens the API over it. */
export function connectKube(options: KubeConnectOptions = {}): KubeApi {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  if (options.context) config.setCurrentContext(options.context);
  const tls = http1Only(config);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig names no current cluster");
  return new HttpKubeApi(config, tls, cluster.server.replace(/\/$/, ""), options.observer);
}

/** The namespace of this pod's service account, when running in a cluster. */
export function inClusterNamespace(): string | undefined {
  try {
    return Deno.readTextFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace").trim();
  } catch {
    return undefined;
  }
}

/** The longest a request that is not a watch or a stream may take. */
const REQUEST_TIMEOUT_MS = 30_000;

/** How often request headers (bearer tokens) are rebuilt from the kubeconfig. */
const AUTH_REFRESH_MS = 60_000;

interface Authenticated {
  readonly headers: Record<string, string>;
  readonly transport: Transport;
}

/** The {@linkcode KubeApi} over HTTP, authenticated by a client-node `KubeConfig`. */
class HttpKubeApi implements KubeApi {
  readonly server: string;
  #config: KubeConfig;
  #tls: () => DispatcherOptions | undefined;
  #authCache?: { auth: Promise<Authenticated>; at: number };
  #observer: KubeObserver;

  constructor(
    config: KubeConfig,
    tls: () => DispatcherOptions | undefined,
    server: string,
    observer?: KubeObserver,
  ) {
    this.#config = config;
    this.#tls = tls;
    this.server = server;
    this.#observer = observer ?? (() => {});
  }

  /**
   * The headers and transport of a request. client-node builds them on a request context, with
   * a new connection pool each time; the first transport is kept for every request (connections
   * are reused, not re-handshaken), and the headers (tokens can rotate) are refreshed every
   * {@linkcode AUTH_REFRESH_MS}.
   */
  #auth(): Promise<Authenticated> {
    const now = Date.now();
    if (this.#authCache && now - this.#authCache.at < AUTH_REFRESH_MS) {
      return this.#authCache.auth;
    }
    const previous = this.#authCache?.auth;
    const auth = (async () => {
      const ctx = new RequestContext(this.server, HttpMethod.GET);
      await this.#config.applySecurityAuthentication(ctx);
      const fresh = ctx.getDispatcher() as Dispatcher | undefined;
      const kept = previous ? (await previous.catch(() => undefined))?.transport : undefined;
      const transport = kept ?? transportFor(this.#tls(), fresh);
      if (transport.kind === "deno" || kept) fresh?.close().catch(() => {});
      return { headers: ctx.getHeaders(), transport };
    })();
    this.#authCache = { auth, at: now };
    auth.catch(() => (this.#authCache = undefined));
    return auth;
  }

  async #request(
    method: string,
    path: string,
    options: {
      query?: Record<string, string>;
      body?: unknown;
      contentType?: string;
      signal?: AbortSignal;
      verb?: string;
    } = {},
  ): Promise<Response> {
    const verb = options.verb ?? method;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const auth = await this.#auth();
    const headers: Record<string, string> = { ...auth.headers, accept: "application/json" };
    if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
    }
    // A request without a caller's signal is a short one: bound it, so a dead connection cannot
    // hold a caller (or a shutdown) for undici's five-minute default.
    const signal = options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await auth.transport.send(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      this.#observer(verb, 0);
      const reason = signal.aborted ? "Timeout" : "NetworkError";
      throw new KubeApiError(0, reason, `${method} ${path}: ${(err as Error).message}`);
    }
    this.#observer(verb, response.status);
    if (!response.ok) throw await apiError(method, path, response);
    return response;
  }

  async get<T>(path: string): Promise<T> {
    return await (await this.#request("GET", path)).json() as T;
  }

  async create<T>(path: string, body: unknown, query?: Record<string, string>): Promise<T> {
    return await (await this.#request("POST", path, { body, query })).json() as T;
  }

  async replace<T>(path: string, body: unknown): Promise<T> {
    return await (await this.#request("PUT", path, { body })).json() as T;
  }

  async mergePatch<T>(path: string, patch: unknown): Promise<T> {
    const response = await this.#request("PATCH", path, {
      body: patch,
      contentType: "application/merge-patch+json",
    });
    return await response.json() as T;
  }

  async remove(path: string, query?: Record<string, string>): Promise<void> {
    try {
      await (await this.#request("DELETE", path, { query })).body?.cancel();
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  async list<T>(
    path: string,
    query?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ListResult<T>> {
    const bounded = signal
      ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
      : undefined;
    const body = await (await this.#request("GET", path, { query, signal: bounded, verb: "LIST" }))
      .json() as {
        items: T[];
        metadata: { resourceVersion: string };
      };
    return { items: body.items ?? [], resourceVersion: body.metadata.resourceVersion };
  }

  async watch<T>(
    path: string,
    query: Record<string, string>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.#request("GET", path, {
      query: { ...query, watch: "true" },
      signal,
      verb: "WATCH",
    });
    try {
      for await (const line of splitLines(response.body!, signal)) {
        if (line.trim() === "") continue;
        onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  async stream(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#request("GET", path, { query, signal });
    return response.body!;
  }
}

async function apiError(method: string, path: string, response: Response): Promise<KubeApiError> {
  const text = await response.text().catch(() => "");
  let reason = response.statusText || String(response.status);
  let message = text;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? reason;
    message = status.message ?? text;
  } catch {
    // not a Status object
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new KubeApiError(
    response.status,
    reason,
    `${method} ${path}: ${response.status} ${reason}: ${message}`,
    {
      statusMessage: message,
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    },
  );
}

/**
 * Splits a byte stream into lines (without their newlines). When `signal` aborts, the stream is
 * cancelled and the lines end (an aborted fetch does not always end its body by itself).
 */
export async function* splitLines(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const reader = stream.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  const decoder = new TextDecoder();
  let rest = "";
  try {
    while (!signal?.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = rest.indexOf("\n")) >= 0) {
        yield rest.slice(0, newline);
        rest = rest.slice(newline + 1);
      }
    }
    if (signal?.aborted) return;
    rest += decoder.decode();
    if (rest !== "") yield rest;
  } finally {
    signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
