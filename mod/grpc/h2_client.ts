/**
 * The HTTP/2 session side of the streaming client in `h2_stream.ts` (see there why it exists):
 * one session per client, made when a call needs it and made again after it closed, failed or
 * received a GOAWAY (calls already open finish on the old one); each call's headers
 * (`content-type: application/grpc`, `te: trailers`, the caller's metadata such as the bearer
 * token, `grpc-timeout` for a deadline); keepalive pings while calls are open, a ping unanswered
 * in time closing the session (its calls fail with UNAVAILABLE, as grpc-js's do).
 *
 * @module
 */

import * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { type H2CallOptions, H2DuplexCall } from "./h2_stream.ts";

/** Options of {@linkcode H2StreamClient}. */
export interface H2StreamClientOptions {
  /** host:port of the server. */
  readonly address: string;
  /** Use TLS (ALPN h2). */
  readonly tls: boolean;
  /** PEM of the CA that signed the server's certificate; default: the system's roots. */
  readonly caPem?: Uint8Array;
  /** A client certificate and its key (PEM) to present (TLS only). */
  readonly clientCertificate?: { readonly certPem: Uint8Array; readonly keyPem: Uint8Array };
  /** Metadata sent with every call (e.g. `authorization`), asked for each call. */
  readonly metadata?: () => Promise<Record<string, string>>;
  /** Interval of keepalive pings while calls are open; default 30 s, 0: none. */
  readonly keepaliveMs?: number;
  /** How long a ping may go unanswered before the session is closed; default 10 s. */
  readonly keepaliveTimeoutMs?: number;
}

/** Streaming calls to one server over one HTTP/2 session at a time; see the module doc. */
export class H2StreamClient {
  readonly #opts: H2StreamClientOptions;
  #session?: http2.ClientHttp2Session;
  #connected = false;
  #active = 0;
  #closed = false;
  /** The calls of each session, failed when it ends under them. */
  readonly #calls = new WeakMap<http2.ClientHttp2Session, Set<H2DuplexCall<unknown, unknown>>>();

  /** Creates the client; nothing is dialed before the first call. */
  constructor(options: H2StreamClientOptions) {
    if (!options.tls && (options.clientCertificate || options.caPem)) {
      throw new Error("a CA or client certificate needs TLS");
    }
    this.#opts = options;
  }

  /**
   * Opens a bidirectional call of `path` (`/package.Service/Method`). Messages written before
   * the session is up wait in the call; a call that cannot start fails with UNAVAILABLE.
   */
  open<Req, Res>(
    path: string,
    serialize: (message: Req) => Uint8Array,
    deserialize: (bytes: Buffer) => Res,
    options: H2CallOptions = {},
  ): H2DuplexCall<Req, Res> {
    const call = new H2DuplexCall(serialize, deserialize, options.deadlineMs);
    const deadline = options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs;
    const start = async () => {
      if (this.#closed) throw new Error("the client is closed");
      const metadata = this.#opts.metadata ? await this.#opts.metadata() : {};
      if (this.#closed) throw new Error("the client is closed");
      const headers: http2.OutgoingHttpHeaders = {
        ...metadata,
        ...options.headers,
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-accept-encoding": "identity",
        "user-agent": "ottoscaler-h2",
      };
      if (deadline !== undefined) {
        headers["grpc-timeout"] = `${Math.max(1, deadline - Date.now())}m`;
      }
      const session = this.#sessionNow();
      const stream = session.request(headers, { endStream: false });
      this.#active++;
      stream.once("close", () => this.#active--);
      this.#calls.get(session)?.add(call as H2DuplexCall<unknown, unknown>);
      call.attach(stream);
    };
    start().catch((err: Error) => call.fail(grpc.status.UNAVAILABLE, err.message));
    return call;
  }

  /** Whether a session is connected now. */
  connected(): boolean {
    return this.#connected && this.#session !== undefined;
  }

  /** Closes the session (open calls finish first); later calls fail. */
  close(): void {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
  }

  /** The session new calls go on, made if there is none usable. */
  #sessionNow(): http2.ClientHttp2Session {
    if (this.#session && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const { address, tls, caPem, clientCertificate } = this.#opts;
    const session = tls
      ? http2.connect(`https://${address}`, {
        ca: caPem ? Buffer.from(caPem) : undefined,
        cert: clientCertificate ? Buffer.from(clientCertificate.certPem) : undefined,
        key: clientCertificate ? Buffer.from(clientCertificate.keyPem) : undefined,
      })
      : http2.connect(`http://${address}`);
    const calls = new Set<H2DuplexCall<unknown, unknown>>();
    this.#calls.set(session, calls);
    const retire = () => {
      if (this.#session !== session) return;
      this.#session = undefined;
      this.#connected = false;
    };
    let failure: Error | undefined;
    const ended = () => {
      retire();
      for (const call of calls) {
        if (!call.finished) {
          call.fail(grpc.status.UNAVAILABLE, failure?.message ?? "connection closed");
        }
      }
      calls.clear();
    };
    session.on("connect", () => {
      if (this.#session === session) this.#connected = true;
    });
    // Without a listener the error would be thrown; the calls on it fail with it.
    session.on("error", (err: Error) => {
      failure = err;
      ended();
    });
    // Calls open go on (or are refused, each on its own); new ones go on a new session.
    session.on("goaway", retire);
    session.on("close", ended);
    this.#keepalive(session);
    this.#session = session;
    return session;
  }

  /** Pings `session` while calls are open; closes it when a ping goes unanswered. */
  #keepalive(session: http2.ClientHttp2Session): void {
    const every = this.#opts.keepaliveMs ?? 30_000;
    if (every <= 0) return;
    const timeout = this.#opts.keepaliveTimeoutMs ?? 10_000;
    const interval = setInterval(() => {
      if (this.#active === 0 || session.closed || session.destroyed) return;
      const timer = setTimeout(() => session.destroy(), timeout);
      const sent = session.ping((err) => {
        clearTimeout(timer);
        if (err) session.destroy();
      });
      if (!sent) {
        clearTimeout(timer);
        session.destroy();
      }
    }, every);
    Deno.unrefTimer(interval);
    session.once("close", () => clearInterval(interval));
  }
}
