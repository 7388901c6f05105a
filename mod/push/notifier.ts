/**
 * Push delivery of one worker's state changes to otto-handler over `NotifyWorkerStatus`: each
 * change once acknowledged (RECEIVED or IGNORED), in order, starting after the last one the
 * handler received. An ERROR answer or a failed call is retried by the caller with backoff.
 *
 * @module
 */

import type { DeliveryStore } from "./delivery_store.ts";
import type { Pulse } from "../async/pulse.ts";
import { isTerminal, type WorkerStatus } from "../worker/types.ts";
import { transitionsOf, type WorkerEvent } from "../events/transitions.ts";

/** The handler's answer: RECEIVED, IGNORED or ERROR. */
export type AckStatus = "RECEIVED" | "IGNORED" | "ERROR";

/** Options for {@linkcode notifyWorkerEvents}. */
export interface NotifyOptions {
  /**
   * The worker's latest state (undefined once the runtime forgot it): the status its runtime's
   * watch last published, so a wake-up costs no list of every worker.
   */
  readonly status: () => WorkerStatus | undefined;
  /** Delivery progress. */
  readonly store: DeliveryStore;
  /** Sends one event; resolves with the handler's answer, rejects on a failed call. */
  readonly notify: (event: WorkerEvent) => Promise<{ status: AckStatus; message: string }>;
  /** Signals that the worker's state may have changed. */
  readonly changed: Pulse;
}

/** Thrown when the handler answers ERROR; the caller retries. */
export class NotifyRefusedError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "NotifyRefusedError";
  }
}

/** Delivers a worker's state changes until its last one is acknowledged. */
export async function notifyWorkerEvents(
  workerId: string,
  options: NotifyOptions,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const generation = options.changed.generation;
    const status = options.status();
    if (!status) return;
    const events = transitionsOf(status);
    // Ordinals are fixed by kind (transitions.ts): an event at or below the acknowledged one was
    // received (or passed over, as a RUNNING learnt after the end) and is never sent again.
    const acked = options.store.get(workerId).eventsAcked;
    for (const event of events.filter((e) => e.ordinal > acked)) {
      if (signal.aborted) return;
      const answer = await options.notify(event);
      if (answer.status === "ERROR") {
        throw new NotifyRefusedError(`handler answered ERROR for ${event.type}: ${answer.message}`);
      }
      options.store.update(workerId, { eventsAcked: event.ordinal });
    }
    if (isTerminal(status.phase)) return;
    await options.changed.wait(generation, 60_000, signal);
  }
}
