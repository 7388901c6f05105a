/**
 * The leanest Kubernetes client at hand, for the Kubernetes benchmark: Deno's `fetch` over one
 * `Deno.createHttpClient` holding the admin mTLS certificates of the local control plane. No
 * client-side rate limit, no retries: every call is one HTTP request.
 *
 * @module
 */

import type { Cluster } from "../../tests/support/cluster.ts";

/** How long a request may take before it is abandoned (a watch has no limit). */
const REQUEST_TIMEOUT_MS = 120_000;

/** One event of a pod watch, with the fields the benchmark reads. */
export interface PodEvent {
  readonly type: string;
  readonly object: {
    readonly metadata?: { readonly name?: string; readonly resourceVersion?: string };
    readonly status?: { readonly phase?: string };
  };
}

/** A watch asked for a resourceVersion the server no longer has (410 Gone): relist. */
export class WatchGoneError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "WatchGoneError";
  }
}

/** A request's outcome: its HTTP status and body text. */
export interface Answer {
  readonly status: number;
  readonly text: string;
}

/** A bare API client on the admin certificates; see the module doc. */
export class BenchKube {
  /** https://127.0.0.1:<port> of kube-apiserver. */
  readonly server: string;
  readonly #tls: Deno.CreateHttpClientOptions;
  readonly #http: Deno.HttpClient;

  private constructor(server: string, tls: Deno.CreateHttpClientOptions) {
    this.server = server;
    this.#tls = tls;
    this.#http = Deno.createHttpClient(tls);
  }

  /** Opens a client on the control plane's CA and admin certificate. */
  static async open(cluster: Cluster): Promise<BenchKube> {
    const [ca, cert, key] = await Promise.all(
      [cluster.caCert, cluster.clientCert, cluster.clientKey].map((p) => Deno.readTextFile(p)),
    );
    const tls = { caCerts: [ca], cert, key };
    return new BenchKube(cluster.server, tls);
  }

  /** Sends one request; the body is sent as is when a string, else as JSON. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<Answer> {
    const response = await fetch(this.server + path, {
      method,
      client: this.#http,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      headers: body === undefined
        ? { accept: "application/json" }
        : { accept: "application/json", "content-type": contentType },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }

  /** Like {@linkcode request}, but throws unless the answer is 2xx, and parses the JSON. */
  async call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const answer = await this.request(method, path, body, contentType);
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`${method} ${path}: ${answer.status} ${answer.text.slice(0, 500)}`);
    }
    return JSON.parse(answer.text) as T;
  }

  /** Creates a namespace. */
  async createNamespace(name: string): Promise<void> {
    await this.call("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "ottoscaler.io/bench": "kube" } },
    });
  }

  /**
   * Deletes a namespace whose pods are gone, without waiting for the namespace controller: as that
   * controller would, this marks the namespace Terminating (DELETE), clears its `kubernetes`
   * finalizer (PUT finalize), then deletes it for good (a second DELETE), so a benchmark run does
   * not wait on it (and works on a control plane without kube-controller-manager).
   */
  async deleteNamespace(name: string): Promise<void> {
    const path = `/api/v1/namespaces/${name}`;
    await this.#deleteIgnoringGone(path);
    const ns = await this.request("GET", path);
    if (ns.status === 404) return;
    const body = JSON.parse(ns.text) as { spec?: { finalizers?: string[] } };
    await this.call("PUT", `${path}/finalize`, { ...body, spec: { ...body.spec, finalizers: [] } });
    await this.#deleteIgnoringGone(path);
  }

  async #deleteIgnoringGone(path: string): Promise<void> {
    const answer = await this.request("DELETE", path);
    if (answer.status !== 404 && (answer.status < 200 || answer.status > 299)) {
      throw new Error(`DELETE ${path}: ${answer.status} ${answer.text.slice(0, 500)}`);
    }
  }

  /** Deletes every pod matching `selector` at once (gracePeriodSeconds=0) and waits until gone. */
  async deletePods(namespace: string, selector: string): Promise<void> {
    const query = `labelSelector=${encodeURIComponent(selector)}`;
    await this.call(
      "DELETE",
      `/api/v1/namespaces/${namespace}/pods?${query}&gracePeriodSeconds=0`,
    );
    for (let i = 0; i < 600; i++) {
      const list = await this.call<{ items: unknown[] }>(
        "GET",
        `/api/v1/namespaces/${namespace}/pods?${query}&limit=1`,
      );
      if (list.items.length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`pods of ${namespace} still there a minute after their deletion`);
  }

  /** Lists a namespace's pods: the items and the list's resourceVersion. */
  async listPods(
    namespace: string,
  ): Promise<{ items: PodEvent["object"][]; resourceVersion: string }> {
    const list = await this.call<
      { items: PodEvent["object"][]; metadata: { resourceVersion: string } }
    >(
      "GET",
      `/api/v1/namespaces/${namespace}/pods`,
    );
    return { items: list.items, resourceVersion: list.metadata.resourceVersion };
  }

  /**
   * Watches a namespace's pods from `resourceVersion`, calling `onEvent` for each event (BOOKMARK
   * and ERROR events included). `done` resolves when the server ends the stream (its timeout, or
   * a watcher it closed for falling behind) and rejects with {@linkcode WatchGoneError} when the
   * version is too old (410), so the caller can relist.
   */
  async watchPods(
    namespace: string,
    resourceVersion: string,
    onEvent: (event: PodEvent) => void,
  ): Promise<{ done: Promise<void>; close: () => void }> {
    const path = `/api/v1/namespaces/${namespace}/pods`;
    const query = `watch=true&resourceVersion=${resourceVersion}` +
      "&timeoutSeconds=3600&allowWatchBookmarks=true";
    // Its own client: aborting a watch on a connection shared with other requests can leave a
    // later request of Deno's fetch hanging.
    const http = Deno.createHttpClient(this.#tls);
    const abort = new AbortController();
    const body: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
    // Aborting the fetch alone leaves a body read pending (and the process alive) in Deno:
    // the reader is cancelled too.
    const close = () => {
      abort.abort();
      body.reader?.cancel().catch(() => {});
      http.close();
    };
    const response = await fetch(`${this.server}${path}?${query}`, {
      client: http,
      headers: { accept: "application/json" },
      signal: abort.signal,
    }).catch((err) => {
      close();
      throw err;
    });
    if (!response.ok || !response.body) {
      close();
      const text = await response.text();
      if (response.status === 410) throw new WatchGoneError(text);
      throw new Error(`watch ${path}: ${response.status} ${text}`);
    }
    body.reader = response.body.getReader();
    let gone = false;
    const done = readLines(body.reader, (line) => {
      const event = JSON.parse(line) as PodEvent & { object: { code?: number } };
      if (event.type === "ERROR" && event.object.code === 410) gone = true;
      onEvent(event);
    }).then(
      () => {
        close();
        if (gone) throw new WatchGoneError("the watch's resourceVersion is too old");
      },
      (err) => {
        close();
        if (!abort.signal.aborted) throw err;
      },
    );
    return { done, close };
  }

  /** Closes the HTTP client. */
  close(): void {
    this.#http.close();
  }
}

/** Calls `onLine` for every non-empty line read until the stream ends or is cancelled. */
async function readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onLine(line);
  }
  if (rest.trim() !== "") onLine(rest);
}
