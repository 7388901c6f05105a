/**
 * The operator's HTTP port, served by the same process as the gRPC API:
 *
 * | path       | answers                                                                      |
 * | ---------- | ---------------------------------------------------------------------------- |
 * | `/metrics` | the Prometheus text format                                                   |
 * | `/healthz` | liveness: 200 `ok` whenever the event loop answers                           |
 * | `/readyz`  | readiness: 200 `ok`, else 503 with one `check: reason` line per failing check |
 *
 * These three paths are answered here first; any other request goes to the `app` (the web
 * dashboard) if there is one, and what it leaves (`undefined`) is 404, or 405 for methods other
 * than GET and HEAD. {@linkcode lazyApp} loads the app on the first request that reaches it, so a
 * server only scraped and probed never loads the dashboard's code (memory, issue 14).
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { Readiness } from "../telemetry/readiness.ts";

/** Options for {@linkcode HttpServer.open}. */
export interface HttpServerOptions {
  /** The address to bind. */
  readonly host: string;
  /** The port (0 is not "off" here: main.ts does not open the server then). */
  readonly port: number;
  /** What `/metrics` serves. */
  readonly metrics: Metrics;
  /** What `/readyz` answers from. */
  readonly readiness: Readiness;
  /** Lines `/readyz` adds as `warning: ...` whether ready or not (e.g. running unauthenticated). */
  readonly warnings?: readonly string[];
  /** Routes for every path but the three above (the web dashboard); `undefined`: not theirs. */
  readonly app?: App;
  /** The logger. */
  readonly logger: Logger;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** The paths {@linkcode handle} answers, before any app sees the request. */
const OWN_PATHS: ReadonlySet<string> = new Set(["/metrics", "/healthz", "/readyz"]);

/** An app answering requests before the server's 404: the web dashboard. */
export type App = (request: Request) => Promise<Response | undefined>;

/**
 * An app built by `load` on the first request that reaches it (none of the server's own paths
 * does); requests meanwhile wait for the same load. Give `load` a literal `import()` path, so that
 * `deno compile` includes the module.
 */
export function lazyApp(load: () => Promise<App>): App {
  let loading: Promise<App> | undefined;
  return async (request) => await (await (loading ??= load()))(request);
}

/** Answers one request; exported for tests that need no socket. */
export async function handle(
  request: Request,
  options: Pick<HttpServerOptions, "metrics" | "readiness" | "warnings">,
): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", {
      status: 405,
      headers: { ...TEXT, allow: "GET" },
    });
  }
  switch (new URL(request.url).pathname) {
    case "/metrics":
      return new Response(await options.metrics.text(), {
        headers: { "content-type": options.metrics.contentType },
      });
    case "/healthz":
      return new Response("ok\n", { headers: TEXT });
    case "/readyz": {
      const { ready, reasons } = options.readiness.check();
      const warnings = (options.warnings ?? []).map((w) => `warning: ${w}\n`).join("");
      if (ready) return new Response(`ok\n${warnings}`, { headers: TEXT });
      return new Response(`not ready\n${reasons.join("\n")}\n${warnings}`, {
        status: 503,
        headers: TEXT,
      });
    }
    default:
      return new Response("not found: try /metrics, /healthz or /readyz\n", {
        status: 404,
        headers: TEXT,
      });
  }
}

/** The running HTTP server; see the module doc. */
export class HttpServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, log: Logger) {
    this.#server = server;
    this.#log = log;
  }

  /** Binds and serves; resolves once it listens. */
  static async open(options: HttpServerOptions): Promise<HttpServer> {
    const log = options.logger.with({ component: "http" });
    const listening = Promise.withResolvers<void>();
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve(
        {
          hostname: options.host,
          port: options.port,
          onListen: () => listening.resolve(),
          onError: (err) => {
            log.error("HTTP request failed", { err });
            return new Response("internal error\n", { status: 500, headers: TEXT });
          },
        },
        async (request) =>
          OWN_PATHS.has(new URL(request.url).pathname)
            ? handle(request, options)
            : (await options.app?.(request)) ?? handle(request, options),
      );
    } catch (err) {
      throw new Error(`cannot listen on ${options.host}:${options.port} (HTTP_PORT): ${err}`, {
        cause: err,
      });
    }
    await listening.promise;
    log.info("HTTP server listening", { address: options.host, port: server.addr.port });
    return new HttpServer(server, log);
  }

  /** The bound port. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Stops serving; safe to call more than once. */
  close(): Promise<void> {
    this.#closing ??= this.#server.shutdown().then(() => this.#log.info("HTTP server stopped"));
    return this.#closing;
  }
}
