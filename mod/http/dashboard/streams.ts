/**
 * The live data of the dashboard as Server-Sent Events, bridged from the same streams the gRPC
 * API serves: a worker's numbered log (`id:` = the line's sequence, so a reconnect sending
 * Last-Event-ID gets exactly the lines after it), worker events (`id:` = `<worker>:<ordinal>`,
 * each event's fixed place in its worker's history), a pipeline's stage progress (a snapshot,
 * then each transition), every pipeline's (the same, for the overview) and the workers' states.
 *
 * The overview's streams carry state, not history: each (re)connection starts with the whole
 * list (`workers`, `pipelines`), which replaces what the page had, then sends each change. A
 * reconnect so misses nothing and shows nothing twice, whatever was lost in between.
 *
 * @module
 */

import { TENANT_LABEL } from "../../admission/line.ts";
import { Channel } from "../../async/channel.ts";
import { watchEvents } from "../../events/watch.ts";
import type { PipelineExecutor } from "../../pipeline/executor.ts";
import { followTransitions, type PipelineRun, type StageProgress } from "../../pipeline/run.ts";
import { taskPart } from "../../worker/naming.ts";
import type { Runtime, WorkerStatus } from "../../worker/types.ts";
import type { SseEvent } from "./sse.ts";

/** A worker as the dashboard shows it. */
export function workerView(w: WorkerStatus): Record<string, unknown> {
  return {
    id: w.id,
    taskId: w.taskId,
    tenant: w.labels[TENANT_LABEL] ?? "default",
    index: w.index,
    phase: w.phase,
    reason: w.reason ?? "",
    message: w.message ?? "",
    node: w.nodeName ?? "",
    exitCode: w.exitCode ?? null,
    createdAt: w.createdAt ?? "",
    startedAt: w.startedAt ?? "",
    finishedAt: w.finishedAt ?? "",
  };
}

/** A pipeline's shape: its stages and their dependencies (drawn as the graph). */
export function pipelineView(run: PipelineRun): Record<string, unknown> {
  const d = run.state.definition;
  return {
    id: d.id,
    name: d.name,
    // As on its workers' label (DNS-safe), so one filter matches both.
    tenant: taskPart(run.state.admission?.tenant || "default"),
    createdAt: run.state.createdAt,
    cancelled: run.state.cancelled,
    finished: run.finished,
    stages: d.stages.map((s) => ({
      id: s.id,
      name: s.name,
      type: s.type,
      dependsOn: s.dependsOn,
      workerCount: s.workerCount,
      maxAttempts: s.maxAttempts,
    })),
    progress: run.snapshot().map((p) => stageView(run, p)),
  };
}

/** One stage's progress as the dashboard shows it (with its attempt, from the run). */
export function stageView(
  run: PipelineRun,
  p: StageProgress,
): Record<string, unknown> {
  return {
    stageId: p.stageId,
    attempt: run.state.stages[p.stageId]?.attempt ?? 0,
    type: p.stageType,
    status: p.status,
    message: p.message,
    errorMessage: p.errorMessage,
    workers: p.workers,
    startedAt: p.startedAt,
    completedAt: p.completedAt,
    durationSeconds: p.metrics.durationSeconds,
    successful: p.metrics.successfulWorkers,
    failed: p.metrics.failedWorkers,
    total: p.metrics.totalWorkers,
    progress: p.progressPercentage,
  };
}

/** A worker's log after line `after`, following it until the worker ended. */
export async function* logEvents(
  runtime: Runtime,
  workerId: string,
  after: number,
  signal: AbortSignal,
): AsyncGenerator<SseEvent> {
  for await (
    const line of runtime.logs(workerId, { after, follow: true, signal })
  ) {
    yield {
      id: String(line.sequence),
      event: "line",
      data: {
        n: line.sequence,
        t: line.timestamp,
        s: line.source,
        m: line.message,
      },
    };
  }
}

/** Every worker event so far, then each new one (the state-change timeline). */
export async function* workerEvents(
  runtime: Runtime,
  taskId: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<SseEvent> {
  for await (const e of watchEvents(runtime, { taskId }, signal)) {
    yield {
      id: `${e.workerId}:${e.ordinal}`,
      event: "event",
      data: {
        workerId: e.workerId,
        taskId: e.taskId,
        type: e.type,
        timestamp: e.timestamp,
        reason: e.reason,
        ordinal: e.ordinal,
        node: e.metadata.node_name ?? "",
        exitCode: e.metadata.exit_code ?? "",
      },
    };
  }
}

/** The state of every worker, then each change (the overview's table). */
export function workerStates(
  runtime: Runtime,
  signal: AbortSignal,
): AsyncIterable<SseEvent> {
  // Unbounded: the runtime's listener cannot wait; a change replaces a row, so it is small.
  const channel = Channel.unbounded<SseEvent>();
  const send = (w: WorkerStatus) => channel.send({ event: "worker", data: workerView(w) });
  const unwatch = runtime.watch(send);
  // The whole list first: it replaces the page's (a worker removed while it was away goes).
  channel.send({ event: "workers", data: runtime.list().map(workerView) });
  const stop = () => {
    unwatch();
    channel.close();
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  return channel;
}

/** A pipeline's shape and every stage's state, then each transition until it is finished. */
export async function* pipelineEvents(
  run: PipelineRun,
  signal: AbortSignal,
): AsyncGenerator<SseEvent> {
  // Follow before the snapshot, so no transition falls between the two.
  using live = followTransitions(run, signal);
  yield { event: "pipeline", data: pipelineView(run) };
  for await (const p of live) {
    yield { event: "stage", data: stageView(run, p) };
  }
  yield { event: "pipeline", data: pipelineView(run) };
}

/**
 * Every pipeline (its shape and stages), then each new pipeline and each stage transition
 * (`stage`, with its `pipelineId`), until `signal` aborts: the overview's list.
 */
export function pipelinesEvents(
  pipelines: PipelineExecutor,
  signal: AbortSignal,
): AsyncIterable<SseEvent> {
  // Unbounded: the runs' listeners cannot wait. Transitions are bounded by stages x attempts x 3.
  const channel = Channel.unbounded<SseEvent>();
  const unsubscribes = new Set<() => void>();
  const follow = (run: PipelineRun) => {
    if (run.finished) return;
    const unsubscribe = run.subscribe((p) =>
      channel.send({ event: "stage", data: { pipelineId: run.id, ...stageView(run, p) } })
    );
    unsubscribes.add(unsubscribe);
    run.done.then(() => {
      unsubscribe();
      unsubscribes.delete(unsubscribe);
      // Its final shape (finished), after its last transition.
      if (!signal.aborted) channel.send({ event: "pipeline", data: pipelineView(run) });
    });
  };
  // Subscribed before the list is taken (all in this turn): no run or transition falls between.
  const unwatch = pipelines.watchRuns((run) => {
    follow(run);
    channel.send({ event: "pipeline", data: pipelineView(run) });
  });
  const runs = pipelines.list();
  for (const run of runs) follow(run);
  channel.send({ event: "pipelines", data: runs.map(pipelineView) });
  const stop = () => {
    unwatch();
    for (const unsubscribe of unsubscribes) unsubscribe();
    unsubscribes.clear();
    channel.close();
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  return channel;
}
