/**
 * A live stream of worker events for one subscriber: first every change so far of the matching
 * workers (so a subscriber that comes late, or before the workers exist, misses nothing), then
 * each new change as the runtime reports it, in order per worker, each once.
 *
 * @module
 */

import { Channel } from "../async/channel.ts";
import type { Runtime, WorkerStatus } from "../worker/types.ts";
import { transitionsOf, type WorkerEvent } from "./transitions.ts";

/** Which workers a subscriber wants; every field is optional. */
export interface EventFilter {
  /** Only this task. */
  readonly taskId?: string;
  /** Only this worker. */
  readonly workerId?: string;
  /**
   * Only workers in this phase at the time of the change; a worker's events are sent while it is
   * in the phase (the wire's status_filter).
   */
  readonly phase?: WorkerStatus["phase"];
}

/** Streams events until `signal` aborts; see the module doc. */
export function watchEvents(
  runtime: Runtime,
  filter: EventFilter,
  signal: AbortSignal,
): AsyncIterable<WorkerEvent> {
  // Unbounded: the runtime's listener cannot wait. Events per worker are few (at most three), so
  // the queue is bounded by the number of workers.
  const channel = Channel.unbounded<WorkerEvent>();
  const sent = new Map<string, number>();
  const offer = (status: WorkerStatus) => {
    if (filter.taskId && status.taskId !== filter.taskId) return;
    if (filter.workerId && status.id !== filter.workerId) return;
    if (filter.phase && status.phase !== filter.phase) return;
    const events = transitionsOf(status);
    const already = sent.get(status.id) ?? 0;
    for (const event of events.filter((e) => e.ordinal > already)) channel.send(event);
    sent.set(status.id, Math.max(already, ...events.map((e) => e.ordinal)));
  };
  // Subscribe before listing, so no change falls between the two.
  const unwatch = runtime.watch(offer);
  for (const status of runtime.list(filter.taskId ? { taskId: filter.taskId } : {})) offer(status);
  const stop = () => {
    unwatch();
    channel.close();
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  return channel;
}
