/**
 * Ottoscaler's Prometheus metrics: one registry per process (made by `main.ts` and handed to the
 * parts that count), never prom-client's global one.
 *
 * prom-client's default collectors read Node's internals, which Deno does not all have, so the
 * process's memory (`Deno.memoryUsage()`) and CPU (`process.cpuUsage()`) are collected here.
 * Gauges that describe state (workers by phase, push backlog, leadership) are read at scrape time
 * from a source a part registers ({@linkcode Metrics.observeWorkers}, {@linkcode Metrics.observePush}),
 * so they are never stale and nothing has to keep them in step.
 *
 * | metric                                       | type      | labels           |
 * | -------------------------------------------- | --------- | ---------------- |
 * | `ottoscaler_grpc_requests_total`             | counter   | `method`, `code` |
 * | `ottoscaler_grpc_request_duration_seconds`   | histogram | `method`         |
 * | `ottoscaler_workers`                         | gauge     | `phase`          |
 * | `ottoscaler_worker_starts_total`             | counter   |                  |
 * | `ottoscaler_worker_failures_total`           | counter   | `reason`         |
 * | `ottoscaler_worker_start_duration_seconds`   | histogram |                  |
 * | `ottoscaler_push_unacknowledged_lines`       | gauge     |                  |
 * | `ottoscaler_push_connected`                  | gauge     |                  |
 * | `ottoscaler_kube_requests_total`             | counter   | `verb`, `code`   |
 * | `ottoscaler_kube_watch_restarts_total`       | counter   |                  |
 * | `ottoscaler_pipeline_stages_total`           | counter   | `type`, `result` |
 * | `ottoscaler_leader`                          | gauge     |                  |
 * | `process_resident_memory_bytes` and others   | gauge     |                  |
 * | `process_cpu_seconds_total`                  | counter   |                  |
 *
 * @module
 */

import process from "node:process";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The phases workers are counted by, as on the wire. */
export const WORKER_PHASES = ["pending", "running", "succeeded", "failed"] as const;

/** What push delivery reports at scrape time. */
export interface PushGauges {
  /** Lines sent to otto-handler and not acknowledged yet, over all workers. */
  unacknowledgedLines(): number;
  /** Whether the connection to otto-handler is up. */
  connected(): boolean;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const START_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/** The process's metrics; see the module doc. */
export class Metrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  /** gRPC calls answered, by RPC name and status code name. */
  readonly grpcRequests: Counter<"method" | "code">;
  /** Time to answer a unary call or to end a stream, by RPC name. */
  readonly grpcDuration: Histogram<"method">;
  /** Workers that began to run (seen `running` for the first time by this process). */
  readonly workerStarts: Counter;
  /** Workers that ended failed, by reason. */
  readonly workerFailures: Counter<"reason">;
  /** From a worker's creation (the request) to it running. */
  readonly workerStartDuration: Histogram;
  /** Requests to the Kubernetes API, by HTTP verb and status code (0: no answer). */
  readonly kubeRequests: Counter<"verb" | "code">;
  /** Watches of the pod cache that ended and were opened again (relists included). */
  readonly kubeWatchRestarts: Counter;
  /** Pipeline stages that reached a final state, by stage type and result. */
  readonly pipelineStages: Counter<"type" | "result">;
  /** What the scrape-time gauges read; set by the observe* methods. */
  readonly #sources: {
    workers: () => Iterable<{ readonly phase: string }>;
    push?: PushGauges;
    leader: () => boolean;
  } = { workers: () => [], leader: () => false };

  /** Creates every metric on a fresh registry. */
  constructor() {
    const registers = [this.registry];
    this.grpcRequests = new Counter({
      name: "ottoscaler_grpc_requests_total",
      help: "gRPC calls answered, by method (RPC name) and code (gRPC status name).",
      labelNames: ["method", "code"],
      registers,
    });
    this.grpcDuration = new Histogram({
      name: "ottoscaler_grpc_request_duration_seconds",
      help: "Seconds from a call's arrival to its answer (unary) or its end (streams), by method.",
      labelNames: ["method"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    const sources = this.#sources;
    new Gauge({
      name: "ottoscaler_workers",
      help: "Workers known to this instance, by phase (pending, running, succeeded, failed).",
      labelNames: ["phase"],
      registers,
      collect() {
        const counts = new Map<string, number>(WORKER_PHASES.map((p) => [p, 0]));
        for (const w of sources.workers()) counts.set(w.phase, (counts.get(w.phase) ?? 0) + 1);
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    this.workerStarts = new Counter({
      name: "ottoscaler_worker_starts_total",
      help: "Workers seen running for the first time by this instance.",
      registers,
    });
    this.workerFailures = new Counter({
      name: "ottoscaler_worker_failures_total",
      help: "Workers that ended failed, by reason (Error, Stopped, Unschedulable, Lost, ...).",
      labelNames: ["reason"],
      registers,
    });
    this.workerStartDuration = new Histogram({
      name: "ottoscaler_worker_start_duration_seconds",
      help: "Seconds from a worker's creation (the request) to it running.",
      buckets: START_BUCKETS,
      registers,
    });
    new Gauge({
      name: "ottoscaler_push_unacknowledged_lines",
      help: "Log lines sent to otto-handler and not yet acknowledged (0 without push delivery).",
      registers,
      collect() {
        this.set(sources.push?.unacknowledgedLines() ?? 0);
      },
    });
    new Gauge({
      name: "ottoscaler_push_connected",
      help: "1 while the connection to otto-handler is up (0 when down or without push delivery).",
      registers,
      collect() {
        this.set(sources.push?.connected() ? 1 : 0);
      },
    });
    this.kubeRequests = new Counter({
      name: "ottoscaler_kube_requests_total",
      help: "Requests to the Kubernetes API, by verb and HTTP code (0: no answer).",
      labelNames: ["verb", "code"],
      registers,
    });
    this.kubeWatchRestarts = new Counter({
      name: "ottoscaler_kube_watch_restarts_total",
      help: "Pod watches that ended (server timeout, error, silence, 410 Gone) and were reopened.",
      registers,
    });
    this.pipelineStages = new Counter({
      name: "ottoscaler_pipeline_stages_total",
      help: "Pipeline stages that reached a final state, by type and result.",
      labelNames: ["type", "result"],
      registers,
    });
    new Gauge({
      name: "ottoscaler_leader",
      help: "1 while this instance holds the leader lease (always 1 without leader election).",
      registers,
      collect() {
        this.set(sources.leader() ? 1 : 0);
      },
    });
    registerProcessMetrics(this.registry);
  }

  /** Counts workers by phase at scrape time from `source` (the runtime's list). */
  observeWorkers(source: () => Iterable<{ readonly phase: string }>): void {
    this.#sources.workers = source;
  }

  /** Reads push delivery's gauges at scrape time. */
  observePush(source: PushGauges): void {
    this.#sources.push = source;
  }

  /** Reads whether this instance leads at scrape time. */
  observeLeader(source: () => boolean): void {
    this.#sources.leader = source;
  }

  /** The metrics in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@linkcode text}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Process memory and CPU, read from Deno rather than by prom-client's Node collectors. */
function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  const memory = (name: string, help: string, read: (m: Deno.MemoryUsage) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(Deno.memoryUsage()));
      },
    });
  memory("process_resident_memory_bytes", "Resident memory size in bytes.", (m) => m.rss);
  memory("process_heap_used_bytes", "V8 heap in use, in bytes.", (m) => m.heapUsed);
  memory("process_heap_total_bytes", "V8 heap allocated, in bytes.", (m) => m.heapTotal);
  memory(
    "process_external_memory_bytes",
    "Memory of objects outside the V8 heap.",
    (m) => m.external,
  );
  new Counter({
    name: "process_cpu_seconds_total",
    help: "User and system CPU time spent, in seconds.",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  const startSeconds = Math.round(Date.now() / 1000 - performance.now() / 1000);
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds.",
    registers,
    collect() {
      this.set(startSeconds);
    },
  });
}
