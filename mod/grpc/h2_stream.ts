/**
 * A gRPC client for one bidirectional streaming method over `node:http2`, used for push
 * delivery's `ForwardWorkerLogs` (everything else to otto-handler stays on grpc-js).
 *
 * Why: grpc-js sends a client stream's messages through its `RetryingCall`, whatever
 * `grpc.enable_retries` says, and that hands the next message to HTTP/2 only in the previous
 * one's write callback: one socket write and one event-loop turn per message
 * (docs/performance.md, Push). Here every message written while a write is in flight goes out
 * with the next one, as one buffer of gRPC frames: a burst of lines costs a few socket writes.
 *
 * This file is one call and its framing; `h2_client.ts` the session, headers, deadline and
 * keepalive. A call's end is as grpc-js reports it: the status from the trailers (or a
 * trailers-only answer), or an HTTP status or a reset stream mapped as grpc-js maps them.
 * Flow control: `write` returns false once more than {@linkcode HIGH_WATER_MARK} bytes wait
 * (in flight or queued) and `drain` follows when they are written, and the HTTP/2 stream's own
 * flow control holds the write in flight until the peer's window lets it out.
 *
 * @module
 */

import * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";

/** Bytes written and not yet handed to the socket above which `write` returns false. */
export const HIGH_WATER_MARK = 64 * 1024;

/** The status a stream ended with, as grpc-js's `ServiceError` carries it. */
export class H2StatusError extends Error {
  /** The gRPC status code. */
  readonly code: grpc.status;
  /** The status message. */
  readonly details: string;
  /** Creates the error, with grpc-js's message format (`14 UNAVAILABLE: ...`). */
  constructor(code: grpc.status, details: string) {
    super(`${code} ${grpc.status[code] ?? "UNKNOWN"}: ${details}`);
    this.name = "H2StatusError";
    this.code = code;
    this.details = details;
  }
}

/** Options of one call. */
export interface H2CallOptions {
  /** Ends the call with DEADLINE_EXCEEDED after this many milliseconds. */
  readonly deadlineMs?: number;
  /** Metadata of this call, besides the client's. */
  readonly headers?: Record<string, string>;
}

/** HTTP status to gRPC status, as grpc-js maps a response that is not gRPC's. */
function httpStatusToGrpc(httpStatus: number): grpc.status {
  switch (httpStatus) {
    case 400:
      return grpc.status.INTERNAL;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.UNKNOWN;
  }
}

/** A reset stream's code to gRPC status (REFUSED_STREAM may be retried: UNAVAILABLE). */
function rstCodeToGrpc(code: number): grpc.status {
  const c = http2.constants;
  if (code === c.NGHTTP2_REFUSED_STREAM) return grpc.status.UNAVAILABLE;
  if (code === c.NGHTTP2_CANCEL) return grpc.status.CANCELLED;
  if (code === c.NGHTTP2_ENHANCE_YOUR_CALM) return grpc.status.RESOURCE_EXHAUSTED;
  if (code === c.NGHTTP2_INADEQUATE_SECURITY) return grpc.status.PERMISSION_DENIED;
  return grpc.status.INTERNAL;
}

/** Decodes `grpc-message` (percent-encoded). */
function decodeMessage(value: unknown): string {
  const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Resets a stream with CANCEL, unless it or its session is gone already: Deno's node:http2
 * aborts the process on a reset of a stream whose session the peer destroyed.
 */
function reset(stream: http2.ClientHttp2Stream | undefined): void {
  if (!stream || stream.closed || stream.destroyed) return;
  if (stream.session === undefined || stream.session.destroyed || stream.session.closed) return;
  stream.close(http2.constants.NGHTTP2_CANCEL);
}

/** Frames messages as gRPC length-prefixed messages in one buffer. */
export function frameMessages(messages: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const m of messages) total += 5 + m.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const m of messages) {
    out[at] = 0;
    out.writeUInt32BE(m.length, at + 1);
    out.set(m, at + 5);
    at += 5 + m.length;
  }
  return out;
}

/**
 * Splits gRPC length-prefixed messages out of a byte stream; keeps a partial one for the next
 * chunk. Throws on a compressed message (this client accepts identity only).
 */
export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);

  /** Adds a chunk; returns the messages it completed. */
  push(chunk: Uint8Array): Buffer[] {
    this.#buffer = this.#buffer.length
      ? Buffer.concat([this.#buffer, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let at = 0;
    while (this.#buffer.length - at >= 5) {
      if (this.#buffer[at] !== 0) throw new Error("compressed message, but none was accepted");
      const length = this.#buffer.readUInt32BE(at + 1);
      if (this.#buffer.length - at - 5 < length) break;
      out.push(this.#buffer.subarray(at + 5, at + 5 + length));
      at += 5 + length;
    }
    this.#buffer = this.#buffer.subarray(at);
    return out;
  }

  /** Bytes of a message not complete yet. */
  get pending(): number {
    return this.#buffer.length;
  }
}

/**
 * One bidirectional call; the surface of grpc-js's `ClientDuplexStream` that push delivery uses:
 * `write` (false: wait for `drain`), `end`, `cancel`, and the events `data` (a response),
 * `error` (an {@linkcode H2StatusError}: the call failed), `end` (the server ended the call with
 * OK) and `drain`.
 */
export class H2DuplexCall<Req, Res> extends EventEmitter {
  readonly #serialize: (message: Req) => Uint8Array;
  readonly #deserialize: (bytes: Buffer) => Res;
  #stream?: http2.ClientHttp2Stream;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #inFlightBytes = 0;
  #writing = false;
  #ending = false;
  #endSent = false;
  #finished = false;
  #needDrain = false;
  #timer?: ReturnType<typeof setTimeout>;
  #batches = 0;

  /** Not for direct use: {@linkcode H2StreamClient.open} makes calls. */
  constructor(
    serialize: (message: Req) => Uint8Array,
    deserialize: (bytes: Buffer) => Res,
    deadlineMs?: number,
  ) {
    super();
    this.#serialize = serialize;
    this.#deserialize = deserialize;
    if (deadlineMs !== undefined) {
      this.#timer = setTimeout(
        () => this.fail(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"),
        deadlineMs,
      );
    }
  }

  /** How many writes to the HTTP/2 stream carried the messages so far (each a batch). */
  get batches(): number {
    return this.#batches;
  }

  /** Queues a message; false when the caller should wait for `drain`. */
  write(message: Req): boolean {
    if (this.#finished || this.#ending) return false;
    const bytes = this.#serialize(message);
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length + 5;
    // A write in flight takes everything queued meanwhile with the next one; otherwise the
    // first write goes at the end of this turn's microtasks, with whatever joined it by then.
    if (!this.#writing && this.#queue.length === 1) queueMicrotask(() => this.#flush());
    const ok = this.#queuedBytes + this.#inFlightBytes < HIGH_WATER_MARK;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Half-closes the call once everything written went out. */
  end(): void {
    if (this.#ending || this.#finished) return;
    this.#ending = true;
    this.#flush();
  }

  /** Cancels the call (RST_STREAM CANCEL); emits nothing more. */
  cancel(): void {
    if (this.#finished) return;
    this.#finish();
    this.#queue = [];
    reset(this.#stream);
  }

  /** Attaches the HTTP/2 stream once the session and metadata are there. */
  attach(stream: http2.ClientHttp2Stream): void {
    if (this.#finished) {
      reset(stream);
      return;
    }
    this.#stream = stream;
    const reader = new FrameReader();
    let httpStatus = 0;
    let grpcStatus: { code: grpc.status; details: string } | undefined;
    let streamError: Error | undefined;
    const takeStatus = (headers: http2.IncomingHttpHeaders) => {
      const raw = headers["grpc-status"];
      if (raw === undefined) return;
      const code = Number(Array.isArray(raw) ? raw[0] : raw);
      grpcStatus = {
        code: Number.isInteger(code) && code >= 0 && code <= 16 ? code : grpc.status.UNKNOWN,
        details: decodeMessage(headers["grpc-message"]),
      };
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]) || 0;
      takeStatus(headers);
    });
    stream.on("trailers", (headers) => takeStatus(headers));
    stream.on("data", (chunk: Uint8Array) => {
      if (this.#finished) return;
      let messages: Buffer[];
      try {
        messages = reader.push(chunk);
      } catch (err) {
        this.#fail(grpc.status.INTERNAL, (err as Error).message);
        reset(stream);
        return;
      }
      for (const bytes of messages) {
        let response: Res;
        try {
          response = this.#deserialize(bytes);
        } catch (err) {
          this.#fail(grpc.status.INTERNAL, `could not parse a response: ${(err as Error).message}`);
          reset(stream);
          return;
        }
        this.emit("data", response);
        if (this.#finished) return;
      }
    });
    stream.on("error", (err: Error) => {
      streamError = err;
    });
    // The server's end of the stream with a status settles the call at once: the stream itself
    // closes only once this side ended too, which a failed call may never do.
    stream.on("end", () => {
      if (this.#finished || !grpcStatus) return;
      settle();
      if (!this.#endSent) reset(stream);
    });
    stream.on("close", () => settle());
    // Deno's node:http2 may end a stream whose session the peer destroyed with 'aborted' and
    // no 'close' (seen with grpc-js's forceShutdown); the session's end fails such calls too.
    stream.on("aborted", () => settle());
    const settle = () => {
      if (this.#finished) return;
      if (grpcStatus) {
        if (grpcStatus.code === grpc.status.OK) {
          this.#finish();
          this.emit("end");
        } else this.#fail(grpcStatus.code, grpcStatus.details);
      } else if (httpStatus === 0) {
        // No answer at all: the connection failed, or the stream was refused or reset before
        // the server took it (grpc-js never starts a call on a connection that is not up).
        const why = streamError?.message ?? `Stream reset with code ${stream.rstCode ?? 0}`;
        this.#fail(grpc.status.UNAVAILABLE, why);
      } else if (httpStatus !== 200) {
        this.#fail(httpStatusToGrpc(httpStatus), `Received HTTP status code ${httpStatus}`);
      } else if (stream.rstCode) {
        this.#fail(rstCodeToGrpc(stream.rstCode), `Stream reset with code ${stream.rstCode}`);
      } else {
        const why = streamError?.message ?? "stream closed without a status";
        this.#fail(grpc.status.UNAVAILABLE, why);
      }
    };
    // Every 'data' handler above keeps the stream flowing.
    this.#flush();
  }

  /** Whether the call has ended (its end was emitted, or it was cancelled). */
  get finished(): boolean {
    return this.#finished;
  }

  /** Fails the call (before it had a stream, too); emitted as `error`. */
  fail(code: grpc.status, details: string): void {
    this.#fail(code, details);
    reset(this.#stream);
  }

  #flush(): void {
    const stream = this.#stream;
    if (!stream || this.#writing || this.#finished) return;
    if (this.#queue.length > 0) {
      const batch = frameMessages(this.#queue);
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#inFlightBytes = batch.length;
      this.#writing = true;
      this.#batches++;
      stream.write(batch, (err?: Error | null) => {
        this.#writing = false;
        this.#inFlightBytes = 0;
        if (err) return; // the stream's close says why
        this.#flush();
      });
      return;
    }
    if (this.#ending && !this.#endSent) {
      this.#endSent = true;
      stream.end();
    }
    if (this.#needDrain && !this.#ending) {
      this.#needDrain = false;
      this.emit("drain");
    }
  }

  #finish(): void {
    this.#finished = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #fail(code: grpc.status, details: string): void {
    if (this.#finished) return;
    this.#finish();
    this.#queue = [];
    // An 'error' without a listener would throw out of the HTTP/2 session's event handler.
    if (this.listenerCount("error") > 0) this.emit("error", new H2StatusError(code, details));
  }
}
