/**
 * Push mode: every worker's log lines and state changes delivered to otto-handler, each worker on
 * its own ForwardWorkerLogs stream and its own ordered sequence of NotifyWorkerStatus calls.
 *
 * A failed stream or call is retried with capped exponential backoff and jitter, resuming from
 * the last acknowledged point kept in the {@linkcode DeliveryStore}; a handler that is down for
 * minutes only delays delivery. On start, every worker whose delivery is not complete (also those
 * from before a restart) is picked up.
 *
 * @module
 */

import { backoffDelay, type BackoffOptions, sleep } from "../async/backoff.ts";
import { type AckStatus, notifyWorkerEvents } from "./notifier.ts";
import type { WorkerEvent } from "../events/transitions.ts";
import type { Logger } from "../telemetry/logger.ts";
import { Pulse } from "../async/pulse.ts";
import type { LogLine, Runtime, WorkerStatus } from "../worker/types.ts";
import type { DeliveryStore } from "./delivery_store.ts";
import { type ForwardCall, forwardWorkerLogs, type WireLogEntry } from "./forwarder.ts";

/** How push delivery reaches the handler (implemented over gRPC in mod/grpc). */
export interface HandlerTransport {
  /** Opens a ForwardWorkerLogs stream. */
  openLogStream(): ForwardCall;
  /** Turns a line into the wire entry. */
  logEntry(line: LogLine, worker: WorkerStatus): WireLogEntry;
  /** Sends one state change. */
  notify(event: WorkerEvent): Promise<{ status: AckStatus; message: string }>;
  /** Closes the connection. */
  close(): void;
  /** Whether the connection is up now (a metric); absent: unknown, reported as down. */
  connected?(): boolean;
}

/** Options for {@linkcode PushDelivery}. */
export interface PushDeliveryOptions {
  /** Where workers run. */
  readonly runtime: Runtime;
  /** Delivery progress. */
  readonly store: DeliveryStore;
  /** The way to the handler. */
  readonly transport: HandlerTransport;
  /** The logger. */
  readonly logger: Logger;
  /** Lines in flight per worker; default 1000. */
  readonly window?: number;
  /** How long to wait for an acknowledgement before reconnecting; default 30 s. */
  readonly ackTimeoutMs?: number;
  /** Reconnect backoff; default 250 ms doubling to 30 s. */
  readonly backoff?: BackoffOptions;
}

/** Runs push delivery for every worker; see the module doc. */
export class PushDelivery {
  readonly #opts: PushDeliveryOptions;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #workers = new Map<
    string,
    { changed: Pulse; done: Promise<void>; latest: WorkerStatus }
  >();
  readonly #inFlight = new Map<string, number>();
  #unwatch?: () => void;

  private constructor(options: PushDeliveryOptions) {
    this.#opts = options;
    this.#log = options.logger.with({ component: "push" });
  }

  /** Starts delivering for every known and every new worker; {@linkcode close} stops it. */
  static open(options: PushDeliveryOptions): PushDelivery {
    const push = new PushDelivery(options);
    push.#unwatch = push.#opts.runtime.watch((status) => push.#ensure(status));
    for (const status of push.#opts.runtime.list()) push.#ensure(status);
    return push;
  }

  /** Resolves once every worker known now has been delivered completely (for tests and bench). */
  async idle(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((w) => w.done));
  }

  /**
   * Whether every line and state change of a worker was acknowledged by otto-handler, its end
   * included; until then the Kubernetes runtime keeps the worker's pod (its log is the buffer).
   */
  isDelivered(workerId: string): boolean {
    return this.#opts.store.get(workerId).complete === true;
  }

  /** Lines sent to otto-handler and not acknowledged yet, over every worker. */
  unacknowledgedLines(): number {
    let total = 0;
    for (const n of this.#inFlight.values()) total += n;
    return total;
  }

  /** Whether the connection to otto-handler is up. */
  connected(): boolean {
    return this.#opts.transport.connected?.() ?? false;
  }

  /**
   * Forgets a worker the runtime removed (after its retention): its progress and what delivery
   * held for it. A worker still being delivered is never removed, so nothing is cut short.
   */
  forget(workerId: string): void {
    this.#workers.delete(workerId);
    this.#inFlight.delete(workerId);
    this.#opts.store.forget(workerId);
  }

  /** Stops delivery (progress is kept for the next start); safe to call more than once. */
  async close(): Promise<void> {
    this.#unwatch?.();
    this.#stopping.abort();
    await Promise.allSettled([...this.#workers.values()].map((w) => w.done));
    await this.#opts.store.flush();
    this.#opts.transport.close();
  }

  #ensure(status: WorkerStatus): void {
    const existing = this.#workers.get(status.id);
    if (existing) {
      existing.latest = status;
      existing.changed.notify();
      return;
    }
    if (this.#opts.store.get(status.id).complete || this.#stopping.signal.aborted) return;
    const changed = new Pulse();
    const entry = { changed, done: Promise.resolve(), latest: status };
    this.#workers.set(status.id, entry);
    entry.done = this.#deliver(status.id, changed);
  }

  async #deliver(workerId: string, changed: Pulse): Promise<void> {
    const signal = this.#stopping.signal;
    const { runtime, store, transport } = this.#opts;
    await Promise.all([
      this.#retrying(workerId, "logs", () =>
        forwardWorkerLogs(workerId, {
          runtime,
          store,
          open: () => transport.openLogStream(),
          toWire: (line, worker) => transport.logEntry(line, worker),
          window: this.#opts.window ?? 1000,
          ackTimeoutMs: this.#opts.ackTimeoutMs ?? 30_000,
          inFlight: (n) =>
            n > 0 ? this.#inFlight.set(workerId, n) : this.#inFlight.delete(workerId),
        }, signal)),
      this.#retrying(workerId, "events", () =>
        notifyWorkerEvents(workerId, {
          status: () => this.#workers.get(workerId)?.latest,
          store,
          changed,
          notify: (event) => transport.notify(event),
        }, signal)),
    ]);
    if (!signal.aborted) {
      store.update(workerId, { complete: true });
      this.#log.debug("delivery complete", { worker: workerId });
    }
  }

  /** Lines and state changes of a worker acknowledged so far. */
  #progress(workerId: string): number {
    const state = this.#opts.store.get(workerId);
    return state.logsAcked + state.eventsAcked;
  }

  async #retrying(workerId: string, what: string, fn: () => Promise<void>): Promise<void> {
    const signal = this.#stopping.signal;
    const backoff = this.#opts.backoff ?? { initialMs: 250, maxMs: 30_000 };
    let attempt = 0;
    while (!signal.aborted) {
      const started = Date.now();
      const before = this.#progress(workerId);
      try {
        await fn();
        return;
      } catch (err) {
        if (signal.aborted) return;
        // A stream that worked for a while, or got anything acknowledged (the handler was back,
        // then went again), starts its backoff over.
        const progressed = this.#progress(workerId) > before;
        attempt = progressed || Date.now() - started > 10_000 ? 1 : attempt + 1;
        const delay = backoffDelay(attempt, backoff);
        this.#log.warn(`${what} delivery failed; retrying`, {
          worker: workerId,
          attempt,
          delay,
          err,
        });
        await sleep(delay, signal);
      }
    }
  }
}
