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

  /**
   * Watches the pods of a namespace from now on, on a connection of its own: lists for a
   * resourceVersion, then opens the watch and resolves once the server answered (the watch is
   * established). `done` settles when the stream ends; `close` ends it and its connection.
   */
  async watchPods(
    namespace: string,
    onEvent: (event: PodEvent) => void,
  ): Promise<{ done: Promise<void>; close: () => void }> {
    const path = `/api/v1/namespaces/${namespace}/pods`;
    const list = await this.call<{ metadata: { resourceVersion: string } }>("GET", path);
    const query = `watch=true&resourceVersion=${list.metadata.resourceVersion}` +
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
      throw new Error(`watch ${path}: ${response.status} ${await response.text()}`);
    }
    body.reader = response.body.getReader();
    const done = readLines(body.reader, (line) => onEvent(JSON.parse(line) as PodEvent)).catch(
      (err) => {
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
