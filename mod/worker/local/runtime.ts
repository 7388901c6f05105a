/**
 * The local runtime: each worker is a process group on this machine, with its own working
 * directory and its state, output and numbered log on disk under `<stateDir>/workers/<id>/`:
 *
 * ```
 * spec.json    what to run (written before anything starts)
 * state.json   phase, times, pid, exit code, reason (rewritten atomically on every change)
 * pid, exit    written by the worker's wrapper itself, so they are true even while we are down
 * stdout.raw   the worker's output, appended by the worker itself
 * stderr.raw
 * log.jsonl    the numbered log every consumer reads (see log_file.ts)
 * work/        the worker's working directory and HOME
 * ```
 *
 * Because the worker writes its own output and exit code, Ottoscaler can stop and start again at
 * any moment: on open it reports finished workers with their results, re-adopts live ones and
 * resumes numbering their output, and fails those that vanished unseen with reason `Lost`. Ended,
 * delivered workers are removed after their retention (retention.ts).
 *
 * A full disk fails no worker: a new worker is refused with `StateDirFullError`
 * (nothing left behind), an agent's line with it (to be sent again), and output waits in the
 * worker's raw files until there is room to number it (../../storage/space.ts).
 *
 * @module
 */

import { resolve } from "node:path";
import type { Logger } from "../../telemetry/logger.ts";
import {
  type AgentLine,
  type AgentLogSink,
  isTerminal,
  type LogLine,
  type LogReadOptions,
  type Runtime,
  type StatusListener,
  WorkerConflictError,
  WorkerEndedError,
  WorkerNotFoundError,
  type WorkerSpec,
  type WorkerStatus,
} from "../types.ts";
import { OutputCapture } from "./capture.ts";
import { readLogFile } from "./log_file.ts";
import { processStartTime, signalGroup, spawnWrapped } from "./process.ts";
import { emptyTrash, WorkerReaper } from "./retention.ts";
import { SpaceWatch } from "../../storage/space.ts";
import { Permits } from "../../async/permits.ts";
import {
  adoptFromPidFile,
  commandEnded,
  createWorkerDir,
  lockStateDir,
  readOutcome,
  readPidFile,
  readWorkerFiles,
  SAFE_ID,
  saveRecord,
  statusOf,
  type TrackedWorker,
  trackedWorker,
  wakeOnChildExit,
  wakeOnWorkerFile,
  watchWorkerDirs,
  type WorkerRecord,
} from "./worker_dir.ts";

/** Options for {@linkcode LocalRuntime.open}. */
export interface LocalRuntimeOptions {
  /** Where state, output and logs live; created if missing. */
  readonly stateDir: string;
  /** The logger. */
  readonly logger: Logger;
  /** How long a stopped worker gets between SIGTERM and SIGKILL; default 10 s. */
  readonly stopGraceMs?: number;
  /** Longer output lines are split into pieces of this many bytes; default 64 KiB. */
  readonly maxLineBytes?: number;
  /** The PATH workers get; default Ottoscaler's own PATH. */
  readonly workerPath?: string;
  /** How long an ended, delivered worker is kept before it is removed; default 24 h. */
  readonly retentionMs?: number;
  /** Whether a worker was delivered (push mode); default: always. See retention.ts. */
  readonly isDelivered?: (workerId: string) => boolean;
  /** Called once a worker was removed after its retention. */
  readonly onRemoved?: (workerId: string) => void;
}

/** Runs workers as local process groups; see the module doc. */
export class LocalRuntime implements Runtime, AgentLogSink {
  /** The runtime's name. */
  readonly name = "local";
  /** Local workers run commands, not images, so they need a command. */
  readonly requiresCommand = true;

  readonly #opts: Required<
    Omit<LocalRuntimeOptions, "logger" | "isDelivered" | "onRemoved" | "retentionMs">
  >;
  #reaper?: WorkerReaper;
  readonly #log: Logger;
  readonly #workersDir: string;
  readonly #workers = new Map<string, TrackedWorker>();
  readonly #starting = new Map<string, Promise<WorkerStatus>>();
  readonly #listeners = new Set<StatusListener>();
  readonly #hostname: string;
  #watcher?: Deno.FsWatcher;
  #closed = false;
  readonly #closing = new AbortController();
  readonly #space: SpaceWatch;
  /** Starts at once: more starve Deno's event loop of socket reads (docs/performance.md). */
  readonly #startPermits = new Permits(4);

  private constructor(options: LocalRuntimeOptions) {
    // Absolute, because workers run in their own directories and the wrapper writes by path.
    const stateDir = resolve(options.stateDir);
    this.#opts = {
      stateDir,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      maxLineBytes: options.maxLineBytes ?? 64 * 1024,
      workerPath: options.workerPath ?? Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    };
    this.#log = options.logger.with({ component: "runtime.local" });
    this.#workersDir = `${stateDir}/workers`;
    this.#hostname = Deno.hostname();
    this.#space = new SpaceWatch(stateDir, this.#log);
  }

  /** Why the state directory takes no writes (it is full), or undefined; for readiness. */
  storageProblem(): string | undefined {
    return this.#space.problem();
  }

  /** Runs a state write, waiting for room while the disk is full (see the module doc). */
  #stored<T>(what: string, write: () => Promise<T>, waiting?: () => void): Promise<T> {
    return this.#space.untilStored(what, write, this.#closing.signal, waiting);
  }

  /**
   * Opens the runtime on `stateDir`: takes ownership of the directory (refusing one that another
   * live Ottoscaler holds), then recovers every worker found there.
   */
  static async open(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const runtime = new LocalRuntime(options);
    await lockStateDir(runtime.#opts.stateDir);
    await emptyTrash(runtime.#opts.stateDir);
    await runtime.#recover();
    const { retentionMs, isDelivered, onRemoved } = options;
    runtime.#reaper = WorkerReaper.start({
      stateDir: runtime.#opts.stateDir,
      workers: runtime.#workers,
      retentionMs: retentionMs ?? 24 * 3600_000,
      isDelivered,
      onRemoved,
      logger: runtime.#log,
    });
    runtime.#watcher = watchWorkerDirs(
      runtime.#workersDir,
      (id, file) => wakeOnWorkerFile(runtime.#workers.get(id), file),
      runtime.#log,
    );
    return runtime;
  }

  async #recover(): Promise<void> {
    const ids: string[] = [];
    for await (const entry of Deno.readDir(this.#workersDir)) {
      if (entry.isDirectory && SAFE_ID.test(entry.name)) ids.push(entry.name);
    }
    for (const id of ids.sort()) {
      const dir = `${this.#workersDir}/${id}`;
      const found = await readWorkerFiles(this.#opts.stateDir, id, this.#log);
      if (!found) continue; // never described (a crash mid-create), or set aside
      const { spec, record } = found;
      const worker = trackedWorker(spec, dir, record);
      this.#workers.set(spec.id, worker);
      if (isTerminal(record.phase)) {
        worker.markEnded();
        continue;
      }
      const pid = record.pid ?? await readPidFile(dir);
      if (pid === undefined) {
        this.#log.info("starting worker that was created but not started", {
          worker: id,
          task: spec.taskId,
        });
        await this.#launch(worker);
        continue;
      }
      if (record.pid === undefined) await adoptFromPidFile(worker, pid);
      this.#log.info("re-adopting worker", { worker: id, task: spec.taskId, pid });
      this.#scheduleDeadline(worker);
      worker.loop = this.#captureLoop(
        worker,
        await OutputCapture.open(dir, this.#opts.maxLineBytes),
      );
    }
  }

  /** Starts a worker, or returns the existing one's state; see {@linkcode Runtime.start}. */
  start(spec: WorkerSpec): Promise<WorkerStatus> {
    if (this.#closed) return Promise.reject(new Error("Runtime is closed"));
    const pending = this.#starting.get(spec.id);
    const existing = this.#workers.get(spec.id);
    if (existing) {
      if (existing.spec.taskId !== spec.taskId) {
        return Promise.reject(new WorkerConflictError(spec.id, existing.spec.taskId));
      }
      return pending ?? Promise.resolve(statusOf(existing, this.#hostname));
    }
    if (pending) return pending;
    if (!SAFE_ID.test(spec.id)) {
      return Promise.reject(new Error(`Worker id "${spec.id}" is not a DNS-safe name`));
    }
    const started = this.#startPermits.with((release) => this.#create(spec, release))
      .finally(() => this.#starting.delete(spec.id));
    this.#starting.set(spec.id, started);
    return started;
  }

  /** Creates a worker; on a full disk, throws `StateDirFullError` leaving nothing. */
  async #create(spec: WorkerSpec, release?: () => void): Promise<WorkerStatus> {
    if (this.#closed) throw new Error("Runtime is closed"); // while it waited for its turn
    const dir = `${this.#workersDir}/${spec.id}`;
    const worker = await this.#space.once(`worker ${spec.id}`, () => createWorkerDir(dir, spec));
    this.#workers.set(spec.id, worker);
    this.#publish(worker);
    await this.#launch(worker, release);
    return statusOf(worker, this.#hostname);
  }

  async #launch(worker: TrackedWorker, release?: () => void): Promise<void> {
    const { spec, dir } = worker;
    const workDir = `${dir}/work`;
    await Deno.mkdir(workDir, { recursive: true });
    let capture: OutputCapture | undefined;
    let child: Deno.ChildProcess;
    try {
      if (spec.command === undefined) throw new Error("the local runtime needs a command");
      capture = await OutputCapture.open(dir, this.#opts.maxLineBytes);
      child = spawnWrapped({
        stateDir: dir,
        cwd: workDir,
        argv: ["/bin/sh", "-c", spec.command],
        env: { PATH: this.#opts.workerPath, HOME: workDir, ...spec.env },
      });
    } catch (err) {
      release?.();
      capture?.close();
      this.#log.error("worker could not start", { worker: spec.id, task: spec.taskId, err });
      await this.#end(worker, {
        reason: "StartError",
        message: `could not start: ${err instanceof Error ? err.message : String(err)}`,
      });
      return;
    }
    worker.record = {
      ...worker.record,
      phase: "running",
      startedAt: new Date().toISOString(),
      pid: child.pid,
      pidStartTime: processStartTime(child.pid),
    };
    // Waiting for room on a full disk, it gives its turn up: other starts are refused meanwhile.
    await this.#stored(`worker ${spec.id}'s state`, () => saveRecord(worker), release);
    this.#publish(worker);
    this.#log.debug("worker started", {
      worker: spec.id,
      task: spec.taskId,
      pid: child.pid,
    });
    wakeOnChildExit(worker, child);
    this.#scheduleDeadline(worker);
    worker.loop = this.#captureLoop(worker, capture);
  }

  /** Numbers output as it is written; after the process ends, drains it and ends the worker. */
  async #captureLoop(worker: TrackedWorker, capture: OutputCapture): Promise<void> {
    worker.capture = capture;
    try {
      for (;;) {
        if (this.#closed) {
          worker.capture = undefined;
          capture.close();
          return;
        }
        const generation = worker.wake.generation;
        if (await commandEnded(worker)) break; // finish() below numbers what is left
        const what = `worker ${worker.spec.id}'s log`;
        if (await this.#stored(what, () => capture.pump()) > 0) worker.logPulse.notify();
        await worker.wake.wait(generation, this.#watcher ? 1000 : 500, this.#closing.signal);
      }
      worker.capture = undefined;
      await this.#stored(`worker ${worker.spec.id}'s log`, () => capture.finish());
      worker.logPulse.notify();
      // Anything the worker left running in its group ends with it, as in a container.
      if (worker.record.pid) signalGroup(worker.record.pid, "SIGKILL");
      await this.#end(worker, await readOutcome(worker));
    } catch (err) {
      worker.capture = undefined;
      capture.close();
      if (this.#closed) return;
      this.#log.error("capturing worker output failed", { worker: worker.spec.id, err });
      await this.#end(worker, { reason: "Lost", message: `output capture failed: ${err}` });
    }
  }

  async #end(worker: TrackedWorker, outcome: Partial<WorkerRecord>): Promise<void> {
    if (worker.deadline !== undefined) clearTimeout(worker.deadline);
    worker.record = {
      ...worker.record,
      ...outcome,
      finishedAt: outcome.finishedAt ?? new Date().toISOString(),
      phase: outcome.reason === "Completed" ? "succeeded" : "failed",
    };
    await this.#stored(`worker ${worker.spec.id}'s state`, () => saveRecord(worker));
    worker.markEnded();
    worker.logPulse.notify();
    this.#publish(worker);
    this.#log.info("worker ended", {
      worker: worker.spec.id,
      phase: worker.record.phase,
      reason: worker.record.reason,
      exitCode: worker.record.exitCode,
    });
  }

  #scheduleDeadline(worker: TrackedWorker): void {
    const seconds = worker.spec.timeoutSeconds;
    if (!seconds || !worker.record.startedAt) return;
    const due = Date.parse(worker.record.startedAt) + seconds * 1000 - Date.now();
    worker.deadline = setTimeout(() => {
      worker.deadline = undefined;
      this.#stop(worker, "DeadlineExceeded").catch((err) =>
        this.#log.error("stopping a timed-out worker failed", { worker: worker.spec.id, err })
      );
    }, Math.max(0, due));
  }

  /** Stops a worker; see {@linkcode Runtime.stop}. */
  async stop(id: string): Promise<void> {
    await this.#starting.get(id)?.catch(() => {});
    const worker = this.#workers.get(id);
    if (!worker) return;
    await this.#stop(worker, "Stopped");
  }

  async #stop(worker: TrackedWorker, why: "Stopped" | "DeadlineExceeded"): Promise<void> {
    if (isTerminal(worker.record.phase)) return;
    if (!worker.record.stopReason) {
      worker.record.stopReason = why;
      await saveRecord(worker);
    }
    const pid = worker.record.pid;
    if (pid === undefined || !worker.loop) {
      await this.#end(worker, await readOutcome(worker));
      return;
    }
    signalGroup(pid, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#opts.stopGraceMs);
    });
    const killed = await Promise.race([worker.ended.then(() => false), graceOver]);
    clearTimeout(timer);
    if (killed) {
      this.#log.warn("worker ignored SIGTERM; sending SIGKILL", { worker: worker.spec.id });
      signalGroup(pid, "SIGKILL");
    }
    worker.wake.notify();
    await worker.ended;
  }

  /** Current state of the workers; see {@linkcode Runtime.list}. */
  list(filter: { readonly taskId?: string } = {}): WorkerStatus[] {
    const out: WorkerStatus[] = [];
    for (const worker of this.#workers.values()) {
      if (filter.taskId === undefined || worker.spec.taskId === filter.taskId) {
        out.push(statusOf(worker, this.#hostname));
      }
    }
    return out.sort((a, b) =>
      a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.index - b.index
    );
  }

  /** Subscribes to state changes; see {@linkcode Runtime.watch}. */
  watch(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A worker's numbered lines; see {@linkcode Runtime.logs}. */
  logs(id: string, options: LogReadOptions = {}): AsyncIterable<LogLine> {
    const worker = this.#workers.get(id);
    if (!worker) throw new WorkerNotFoundError(id);
    return readLogFile(`${worker.dir}/log.jsonl`, id, {
      after: options.after,
      signal: options.signal,
      feed: options.follow
        ? {
          pulse: worker.logPulse,
          complete: () => isTerminal(worker.record.phase) || this.#closed,
        }
        : undefined,
    });
  }

  /** Numbers an agent's lines into a running worker's log; see {@linkcode AgentLogSink}. */
  async appendAgentLines(id: string, lines: readonly AgentLine[]): Promise<number> {
    const worker = this.#workers.get(id);
    if (!worker) throw new WorkerNotFoundError(id);
    if (!worker.capture || isTerminal(worker.record.phase)) throw new WorkerEndedError(id);
    const capture = worker.capture;
    const sequence = await this.#space.once(`worker ${id}'s log`, () => capture.appendAgent(lines));
    worker.logPulse.notify();
    return sequence;
  }

  /** The highest agent number stored for a worker; see {@linkcode AgentLogSink}. */
  lastAgentSequence(id: string): number {
    return this.#workers.get(id)?.capture?.lastAgentSequence ?? 0;
  }

  /** Stops watching and capturing; workers keep running. See {@linkcode Runtime.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    this.#space.close();
    await this.#reaper?.close();
    this.#watcher?.close();
    for (const worker of this.#workers.values()) {
      if (worker.deadline !== undefined) clearTimeout(worker.deadline);
      worker.wake.notify();
      worker.logPulse.notify();
    }
    await Promise.allSettled([...this.#workers.values()].map((w) => w.loop));
    await Deno.remove(`${this.#opts.stateDir}/owner.json`).catch(() => {});
  }

  #publish(worker: TrackedWorker): void {
    const status = statusOf(worker, this.#hostname);
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch (err) {
        this.#log.error("status listener threw", { worker: status.id, err });
      }
    }
  }
}
