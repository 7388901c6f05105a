/**
 * A task's log lines for one subscriber (pull mode): every line of every worker of the task (or
 * of one worker), each worker's lines in sequence order, resuming after what the subscriber
 * already holds. Following, it also picks up workers created later, and ends by itself once
 * every worker of the task has ended and its last line was sent.
 *
 * Each worker is read from its own log (files locally, the pod's log in Kubernetes) at the
 * subscriber's pace, through a small bounded channel: a slow subscriber slows only itself.
 *
 * @module
 */

import { Channel } from "../async/channel.ts";
import { isTerminal, type LogLine, type Runtime, type WorkerStatus } from "../worker/types.ts";

/** A subscription to a task's lines. */
export interface TaskLogQuery {
  /** The task. */
  readonly taskId: string;
  /** Only this worker. */
  readonly workerId?: string;
  /** Keep going until every worker of the task has ended. */
  readonly follow?: boolean;
  /** Per worker, the last sequence the subscriber holds. */
  readonly resumeAfter?: Readonly<Record<string, number>>;
}

/** A line with the state of the worker that printed it (for the entry's metadata). */
export interface TaskLogLine {
  /** The line. */
  readonly line: LogLine;
  /** The worker's state when its reader started. */
  readonly worker: WorkerStatus;
}

/** Streams a task's lines; see the module doc. */
export async function* watchTaskLogs(
  runtime: Runtime,
  query: TaskLogQuery,
  signal: AbortSignal,
): AsyncGenerator<TaskLogLine> {
  const matches = (w: WorkerStatus) =>
    w.taskId === query.taskId && (!query.workerId || w.id === query.workerId);
  const after = (id: string) => query.resumeAfter?.[id] ?? 0;

  if (!query.follow) {
    for (const worker of runtime.list({ taskId: query.taskId }).filter(matches)) {
      for await (const line of runtime.logs(worker.id, { after: after(worker.id), signal })) {
        yield { line, worker };
      }
    }
    return;
  }

  const channel = new Channel<TaskLogLine>(64);
  const readers = new Map<string, Promise<void>>();
  let active = 0;
  const maybeEnd = () => {
    const workers = runtime.list({ taskId: query.taskId }).filter(matches);
    if (active === 0 && workers.length > 0 && workers.every((w) => isTerminal(w.phase))) {
      channel.close();
    }
  };
  const startReader = (worker: WorkerStatus) => {
    if (readers.has(worker.id)) return;
    active++;
    const reader = (async () => {
      for await (
        const line of runtime.logs(worker.id, { after: after(worker.id), follow: true, signal })
      ) {
        if (!await channel.send({ line, worker })) return;
      }
    })().then(
      () => {
        active--;
        maybeEnd();
      },
      (err) => channel.close(err),
    );
    readers.set(worker.id, reader);
  };
  const unwatch = runtime.watch((status) => {
    if (matches(status)) startReader(status);
  });
  const abort = () => channel.close();
  signal.addEventListener("abort", abort, { once: true });
  try {
    for (const worker of runtime.list({ taskId: query.taskId }).filter(matches)) {
      startReader(worker);
    }
    maybeEnd();
    yield* channel;
  } finally {
    unwatch();
    signal.removeEventListener("abort", abort);
    channel.close();
  }
}
