/**
 * A worker pod's numbered log lines, read through `pods/log` with timestamps.
 *
 * The pod's log is the buffer: line N is the N-th line of the container's log, so reading again
 * (or after a restart of Ottoscaler) yields the same numbers, and `after` skips what a reader has.
 * The API merges stdout and stderr into one stream, so every line's source is `stdout`.
 *
 * A follow stream is not trusted to end: KWOK never ends it, and a kubelet may hold it open. The
 * reader ends it itself when the pod reaches a terminal phase, then reads the whole log once more
 * without follow and sends whatever the follow stream had not delivered, so the tail is never lost.
 *
 * @module
 */

import type { LogLine, StatusListener, WorkerStatus } from "../types.ts";
import { type KubeApi, splitLines } from "../../kube/api.ts";
import { WORKER_CONTAINER } from "./pod.ts";

/** How the reader learns a pod's state. */
export interface PodLogSource {
  /** The API. */
  readonly api: KubeApi;
  /** The pod's namespace. */
  readonly namespace: string;
  /** The pod's name (the worker id). */
  readonly name: string;
  /** Resolves once the container has started (or the pod ended); the log can then be read. */
  readonly started: (signal: AbortSignal) => Promise<void>;
  /** Resolves once the pod is in a terminal phase. */
  readonly ended: (signal: AbortSignal) => Promise<void>;
  /** Whether the pod is terminal now. */
  readonly isEnded: () => boolean;
  /** Whether the container ever started (an unscheduled pod has no log to read). */
  readonly hasStarted: () => boolean;
}

/** Splits a `timestamps=true` log line into its time and text. */
export function parseTimestamped(raw: string): { timestamp: string; message: string } {
  const space = raw.indexOf(" ");
  const head = space > 0 ? raw.slice(0, space) : "";
  if (space > 0 && !Number.isNaN(Date.parse(head))) {
    return { timestamp: head, message: raw.slice(space + 1) };
  }
  return { timestamp: new Date().toISOString(), message: raw };
}

function toLine(workerId: string, sequence: number, raw: string): LogLine {
  const { timestamp, message } = parseTimestamped(raw);
  return { workerId, sequence, timestamp, source: "stdout", message };
}

/** Reads the pod's log: once, or following it until the pod ends. */
export async function* readPodLog(
  source: PodLogSource,
  options: { after?: number; follow?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<LogLine> {
  const after = options.after ?? 0;
  const outer = options.signal ?? new AbortController().signal;
  const path = `/api/v1/namespaces/${source.namespace}/pods/${source.name}/log`;
  const query = { container: WORKER_CONTAINER, timestamps: "true" };
  let sequence = 0;

  if (options.follow) {
    await source.started(outer);
    if (outer.aborted) return;
  }
  if (!source.hasStarted()) return;

  if (options.follow && !source.isEnded()) {
    const request = new AbortController();
    const cut = () => request.abort();
    outer.addEventListener("abort", cut);
    // The follow stream is ended by us once the pod is terminal.
    source.ended(request.signal).then(cut, () => {});
    try {
      const body = await source.api.stream(path, { ...query, follow: "true" }, request.signal);
      // Only complete lines come out while following; a cut drops a partial last line, which
      // the final read below then delivers whole.
      for await (const raw of splitLines(body, request.signal)) {
        sequence++;
        if (sequence > after) yield toLine(source.name, sequence, raw);
      }
    } catch (err) {
      if (!request.signal.aborted) throw err;
    } finally {
      outer.removeEventListener("abort", cut);
      request.abort();
    }
    if (outer.aborted) return;
    await source.ended(outer);
    if (outer.aborted) return;
  }

  // One full read: everything (without follow), or the tail the follow stream did not deliver.
  const body = await source.api.stream(path, query, outer);
  let index = 0;
  for await (const raw of splitLines(body, outer)) {
    index++;
    if (index <= sequence || index <= after) continue;
    sequence = index;
    yield toLine(source.name, index, raw);
  }
}

/** What {@linkcode waitForStatus} waits on. */
export interface StatusWait {
  /** Subscribes to status changes; returns the unsubscribe function. */
  readonly watch: (listener: StatusListener) => () => void;
  /** The worker. */
  readonly id: string;
  /** Its status now. */
  readonly current: () => WorkerStatus | undefined;
  /** What to wait for. */
  readonly predicate: (status: WorkerStatus | undefined) => boolean;
  /** Ends the wait early. */
  readonly signal: AbortSignal;
}

/** Resolves once a worker's status satisfies the predicate (at once if it does), or on abort. */
export function waitForStatus(wait: StatusWait): Promise<void> {
  const { id, predicate, signal } = wait;
  return new Promise<void>((resolve) => {
    const done = () => {
      unwatch();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const unwatch = wait.watch((s) => {
      if (s.id === id && predicate(s)) done();
    });
    signal.addEventListener("abort", done, { once: true });
    if (predicate(wait.current()) || signal.aborted) done();
  });
}
