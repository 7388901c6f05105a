/**
 * Push delivery of one worker's log lines to otto-handler over `ForwardWorkerLogs`.
 *
 * ```
 * worker's log (disk) ──read after acked──▶ window (≤ N unacknowledged) ──▶ ForwardWorkerLogs
 *        ▲                                                                      │
 *        └──────── ACK n / DROP n (acked = n) · RETRY n (resend from n) ◀───────┘
 * ```
 *
 * Lines wait in the worker's own log, never in memory: at most `window` lines are in flight, and
 * after a lost connection (or a restart of Ottoscaler) sending resumes after the last
 * acknowledged sequence, so the handler sees duplicates only as the same (worker_id, sequence).
 * A response's `throttle_ms` pauses sending; gRPC flow control (write returning false) is
 * respected. A DROP of sequence n is taken as "done with everything up to n".
 *
 * A response whose `sequence` is 0 comes from a handler that cannot see the entries' sequence
 * (otto-handler's own proto has no field 9): it refers to the oldest entry sent on this stream
 * and not yet acknowledged, so ACK and DROP move the acknowledged point on by one and RETRY
 * resends from that entry.
 *
 * @module
 */

import { sleep } from "../async/backoff.ts";
import { Pulse } from "../async/pulse.ts";
import { isTerminal, type LogLine, type Runtime, type WorkerStatus } from "../worker/types.ts";
import type { DeliveryStore } from "./delivery_store.ts";

/** What the forwarder sends: a log line as the wire's WorkerLogEntry (snake_case). */
export type WireLogEntry = Record<string, unknown>;

/** A response from the handler (snake_case, enums as strings, int64 as strings). */
export interface WireForwardResponse {
  /** ACK, RETRY or DROP. */
  readonly status: string;
  /** The sequence the status refers to. */
  readonly sequence: string | number;
  /** Pause sending for this long. */
  readonly throttle_ms: number;
}

/**
 * The duplex call `ForwardWorkerLogs` returns: the part of grpc-js's `ClientDuplexStream` used
 * here (mod/grpc/h2_stream.ts implements it for the handler). `write` returning false means
 * wait for `drain`; `end` is the server ending the call with OK, `error` any other end.
 */
export interface ForwardCall {
  /** Sends an entry; false when the caller should wait for `drain`. */
  write(entry: WireLogEntry): boolean;
  /** Half-closes the call. */
  end(): void;
  /** Cancels the call. */
  cancel(): void;
  /** Subscribes to a response, the call's failure, its end, or room to write again. */
  on(event: "data", listener: (response: WireForwardResponse) => void): this;
  /** See above. */
  on(event: "error", listener: (err: Error) => void): this;
  /** See above. */
  on(event: "end" | "drain", listener: () => void): this;
  /** Unsubscribes. */
  off(event: "drain", listener: () => void): this;
}

/** Options for {@linkcode forwardWorkerLogs}. */
export interface ForwardOptions {
  /** Reads the worker's log and state. */
  readonly runtime: Runtime;
  /** Delivery progress. */
  readonly store: DeliveryStore;
  /** Opens a new ForwardWorkerLogs call. */
  readonly open: () => ForwardCall;
  /** Turns a line into a wire entry. */
  readonly toWire: (line: LogLine, worker: WorkerStatus) => WireLogEntry;
  /** The most lines sent but not yet acknowledged. */
  readonly window: number;
  /** How long to wait for an acknowledgement before reconnecting. */
  readonly ackTimeoutMs: number;
  /** Told the lines sent and not yet acknowledged whenever that changes (a metric). */
  readonly inFlight?: (lines: number) => void;
}

/** Why a stream was given up; the caller reconnects with backoff. */
export class StreamBrokenError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StreamBrokenError";
  }
}

/**
 * Runs one ForwardWorkerLogs stream for `workerId`, from the last acknowledged line. Resolves
 * once the worker has ended and every line was acknowledged; throws {@linkcode StreamBrokenError}
 * when the stream fails (the caller retries).
 */
export async function forwardWorkerLogs(
  workerId: string,
  options: ForwardOptions,
  signal: AbortSignal,
): Promise<void> {
  const { runtime, store } = options;
  const worker = runtime.list().find((w) => w.id === workerId);
  if (!worker) return;
  let acked = store.get(workerId).logsAcked;
  let sent = acked;
  let retryFrom: number | undefined;
  let throttleUntil = 0;
  let broken: Error | undefined;
  let serverDone = false;
  const progress = new Pulse();
  let reader = new AbortController();
  const report = () => options.inFlight?.(Math.max(0, sent - acked));

  const call = options.open();
  const interrupt = () => {
    reader.abort();
    progress.notify();
  };
  call.on("data", (res: WireForwardResponse) => {
    const raw = Number(res.sequence) || 0;
    // Sequence 0 (a handler that cannot see field 9) names the oldest entry sent on this stream
    // and not yet acknowledged. Never let a response acknowledge, or skip past, lines not sent.
    const sequence = raw === 0 ? Math.min(acked + 1, sent) : Math.min(raw, sent);
    if (res.throttle_ms > 0) throttleUntil = Math.max(throttleUntil, Date.now() + res.throttle_ms);
    if (res.status === "RETRY") {
      retryFrom = raw === 0 ? acked + 1 : Math.max(1, Math.min(raw, sent + 1));
      acked = Math.max(acked, retryFrom - 1);
      interrupt();
    } else if (sequence > acked) {
      acked = sequence;
      store.update(workerId, { logsAcked: acked });
      progress.notify();
    }
    report();
  });
  call.on("error", (err: Error) => {
    broken = err;
    interrupt();
  });
  call.on("end", () => {
    serverDone = true;
    interrupt();
  });
  const onAbort = () => {
    call.cancel();
    interrupt();
  };
  signal.addEventListener("abort", onAbort, { once: true });

  const check = () => {
    if (signal.aborted) throw new StreamBrokenError("delivery stopped");
    if (broken) throw new StreamBrokenError(`stream failed: ${broken.message}`, { cause: broken });
    if (serverDone) throw new StreamBrokenError("handler ended the stream");
  };

  /** Waits for acknowledgements until `ready()`; throws if none come in time. */
  const awaitAcks = async (ready: () => boolean) => {
    while (!ready()) {
      check();
      if (retryFrom !== undefined) return;
      const generation = progress.generation;
      const before = acked;
      await progress.wait(generation, options.ackTimeoutMs);
      if (acked === before && progress.generation === generation) {
        throw new StreamBrokenError(`no acknowledgement for ${options.ackTimeoutMs} ms`);
      }
    }
  };

  try {
    let from = acked;
    for (;;) {
      reader = new AbortController();
      sent = from;
      for await (
        const line of runtime.logs(workerId, { after: from, follow: true, signal: reader.signal })
      ) {
        if (throttleUntil > Date.now()) await sleep(throttleUntil - Date.now(), reader.signal);
        await awaitAcks(() => sent - acked < options.window);
        if (retryFrom !== undefined) break;
        check();
        const flowing = call.write(options.toWire(line, worker));
        // Counted as sent at once: its acknowledgement may come before the drain.
        sent = line.sequence;
        report();
        if (!flowing) {
          await new Promise<void>((resolve) => {
            const done = () => {
              call.off("drain", done);
              reader.signal.removeEventListener("abort", done);
              resolve();
            };
            call.on("drain", done);
            reader.signal.addEventListener("abort", done, { once: true });
          });
        }
      }
      check();
      if (retryFrom === undefined) {
        // The reader ended: the worker ended and every line was sent. Wait for the last acks.
        const latest = runtime.list().find((w) => w.id === workerId);
        if (!latest || !isTerminal(latest.phase)) {
          throw new StreamBrokenError("log reader ended early");
        }
        await awaitAcks(() => acked >= sent);
      }
      if (retryFrom !== undefined) {
        from = retryFrom - 1;
        retryFrom = undefined;
        continue;
      }
      break;
    }
    store.update(workerId, { logsAcked: acked });
    call.end();
  } catch (err) {
    call.cancel();
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.abort();
    options.inFlight?.(0);
  }
}
