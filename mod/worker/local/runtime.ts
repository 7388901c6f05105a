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
 * resumes numbering their output, and fails those that vanished unseen with reason `Lost`.
 *
 * @module
 */

import { resolve } from "node:path";
import type { Logger } from "../../telemetry/logger.ts";
import { Pulse } from "../../async/pulse.ts";
import {
  type AgentLine,
  type AgentLogSink,
  type EndReason,
  isTerminal,
  type LogLine,
  type LogReadOptions,
  type Phase,
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
import { isAlive, processStartTime, signalGroup, spawnWrapped } from "./process.ts";
import { readJson, writeJsonAtomic } from "../../storage/json_file.ts";

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
}

/** What state.json holds. */
interface WorkerRecord {
  phase: Phase;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: EndReason;
  message?: string;
  pid?: number;
  pidStartTime?: string;
  /** Set when Ottoscaler asked the worker to end, and why. */
  stopReason?: "Stopped" | "DeadlineExceeded";
}

/** One worker as the runtime tracks it in memory. */
interface TrackedWorker {
  readonly spec: WorkerSpec;
  readonly dir: string;
  record: WorkerRecord;
  /** Wakes the capture loop: output written, process exited. */
  readonly wake: Pulse;
  /** Signals appends to the numbered log, for followers. */
  readonly logPulse: Pulse;
  /** Set when our own child (the wrapper) has exited. */
  childExited: boolean;
  /** Resolves once the worker is terminal and its log complete. */
  readonly ended: Promise<void>;
  markEnded: () => void;
  deadline?: ReturnType<typeof setTimeout>;
  /** The running capture loop, if any. */
  loop?: Promise<void>;
  /** The open capture while the worker can still take lines. */
  capture?: OutputCapture;
}

const SAFE_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Runs workers as local process groups; see the module doc. */
export class LocalRuntime implements Runtime, AgentLogSink {
  /** The runtime's name. */
  readonly name = "local";
  /** Local workers run commands, not images, so they need a command. */
  readonly requiresCommand = true;

  readonly #opts: Required<Omit<LocalRuntimeOptions, "logger">>;
  readonly #log: Logger;
  readonly #workersDir: string;
  readonly #workers = new Map<string, TrackedWorker>();
  readonly #starting = new Map<string, Promise<WorkerStatus>>();
  readonly #listeners = new Set<StatusListener>();
  readonly #hostname: string;
  #watcher?: Deno.FsWatcher;
  #closed = false;
  readonly #closing = new AbortController();

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
  }

  /**
   * Opens the runtime on `stateDir`: takes ownership of the directory (refusing one that another
   * live Ottoscaler holds), then recovers every worker found there.
   */
  static async open(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const runtime = new LocalRuntime(options);
    await runtime.#lockStateDir();
    await runtime.#recover();
    runtime.#watch();
    return runtime;
  }

  async #lockStateDir(): Promise<void> {
    await Deno.mkdir(this.#workersDir, { recursive: true });
    const lockPath = `${this.#opts.stateDir}/owner.json`;
    const owner = await readJson<{ pid: number; startTime?: string }>(lockPath);
    if (owner && owner.pid !== Deno.pid && isAlive(owner.pid, owner.startTime)) {
      throw new Error(
        `State directory "${this.#opts.stateDir}" is in use by another Ottoscaler (pid ${owner.pid})`,
      );
    }
    await writeJsonAtomic(lockPath, { pid: Deno.pid, startTime: processStartTime(Deno.pid) });
  }

  async #recover(): Promise<void> {
    const ids: string[] = [];
    for await (const entry of Deno.readDir(this.#workersDir)) {
      if (entry.isDirectory && SAFE_ID.test(entry.name)) ids.push(entry.name);
    }
    for (const id of ids.sort()) {
      const dir = `${this.#workersDir}/${id}`;
      const spec = await readJson<WorkerSpec>(`${dir}/spec.json`);
      if (!spec) {
        // Created but never described: a crash mid-create. Nothing ran; remove it.
        await Deno.remove(dir, { recursive: true });
        continue;
      }
      const record = await readJson<WorkerRecord>(`${dir}/state.json`) ??
        { phase: "pending", createdAt: new Date().toISOString() };
      const worker = this.#track(spec, record);
      if (isTerminal(record.phase)) {
        worker.markEnded();
        continue;
      }
      const pid = record.pid ?? await readPidFile(dir);
      if (pid === undefined) {
        this.#log.info("starting worker that was created but not started", { worker: id });
        await this.#launch(worker);
        continue;
      }
      if (record.pid === undefined) {
        // The wrapper started but we never recorded it: adopt it from its own pid file.
        const stat = await Deno.stat(`${dir}/pid`);
        worker.record = {
          ...record,
          phase: "running",
          pid,
          pidStartTime: processStartTime(pid),
          startedAt: (stat.mtime ?? new Date()).toISOString(),
        };
        await this.#save(worker);
      }
      this.#log.info("re-adopting worker", { worker: id, pid });
      this.#scheduleDeadline(worker);
      worker.loop = this.#captureLoop(
        worker,
        await OutputCapture.open(dir, this.#opts.maxLineBytes),
      );
    }
  }

  #watch(): void {
    try {
      this.#watcher = Deno.watchFs(this.#workersDir, { recursive: true });
    } catch (err) {
      this.#log.warn("file watching unavailable; output is picked up every 500 ms", { err });
      return;
    }
    const prefix = this.#workersDir.replace(/\/+$/, "") + "/";
    (async () => {
      try {
        for await (const event of this.#watcher!) {
          for (const path of event.paths) {
            const rel = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
            const id = rel?.split("/", 1)[0];
            if (id) this.#workers.get(id)?.wake.notify();
          }
        }
      } catch (err) {
        if (!this.#closed) this.#log.warn("file watcher ended", { err });
      }
    })();
  }

  #track(spec: WorkerSpec, record: WorkerRecord): TrackedWorker {
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const worker: TrackedWorker = {
      spec,
      dir: `${this.#workersDir}/${spec.id}`,
      record,
      wake: new Pulse(),
      logPulse: new Pulse(),
      childExited: false,
      ended,
      markEnded,
    };
    this.#workers.set(spec.id, worker);
    return worker;
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
      return pending ?? Promise.resolve(this.#status(existing));
    }
    if (pending) return pending;
    if (!SAFE_ID.test(spec.id)) {
      return Promise.reject(new Error(`Worker id "${spec.id}" is not a DNS-safe name`));
    }
    const started = this.#create(spec).finally(() => this.#starting.delete(spec.id));
    this.#starting.set(spec.id, started);
    return started;
  }

  async #create(spec: WorkerSpec): Promise<WorkerStatus> {
    const dir = `${this.#workersDir}/${spec.id}`;
    await Deno.mkdir(dir);
    await writeJsonAtomic(`${dir}/spec.json`, spec);
    const worker = this.#track(spec, { phase: "pending", createdAt: new Date().toISOString() });
    await this.#save(worker);
    this.#publish(worker);
    await this.#launch(worker);
    return this.#status(worker);
  }

  async #launch(worker: TrackedWorker): Promise<void> {
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
      capture?.close();
      this.#log.error("worker could not start", { worker: spec.id, err });
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
    await this.#save(worker);
    this.#publish(worker);
    this.#log.debug("worker started", { worker: spec.id, pid: child.pid });
    child.status.then(() => {
      worker.childExited = true;
      worker.wake.notify();
    });
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
        const exited = worker.childExited || this.#processGone(worker);
        if (await capture.pump() > 0) worker.logPulse.notify();
        if (exited) break;
        await worker.wake.wait(generation, this.#watcher ? 1000 : 500, this.#closing.signal);
      }
      worker.capture = undefined;
      await capture.finish();
      worker.logPulse.notify();
      // Anything the worker left running in its group ends with it, as in a container.
      if (worker.record.pid) signalGroup(worker.record.pid, "SIGKILL");
      await this.#end(worker, await this.#outcome(worker));
    } catch (err) {
      worker.capture = undefined;
      capture.close();
      if (this.#closed) return;
      this.#log.error("capturing worker output failed", { worker: worker.spec.id, err });
      await this.#end(worker, { reason: "Lost", message: `output capture failed: ${err}` });
    }
  }

  #processGone(worker: TrackedWorker): boolean {
    const { pid, pidStartTime } = worker.record;
    return pid === undefined || !isAlive(pid, pidStartTime);
  }

  async #outcome(worker: TrackedWorker): Promise<Partial<WorkerRecord>> {
    const exit = await readExitFile(worker.dir);
    const exitCode = exit?.code;
    const finishedAt = exit?.at;
    const stopReason = worker.record.stopReason;
    if (stopReason === "DeadlineExceeded") {
      return {
        exitCode,
        finishedAt,
        reason: "DeadlineExceeded",
        message: `timed out after ${worker.spec.timeoutSeconds}s and was stopped`,
      };
    }
    if (stopReason === "Stopped") {
      return { exitCode, finishedAt, reason: "Stopped", message: "stopped on request" };
    }
    if (exitCode === 0) {
      return { exitCode, finishedAt, reason: "Completed", message: "exited with code 0" };
    }
    if (exitCode !== undefined) {
      return { exitCode, finishedAt, reason: "Error", message: `exited with code ${exitCode}` };
    }
    return {
      finishedAt,
      reason: "Lost",
      message: "the worker's process ended unseen and left no exit code " +
        "(killed outright, or the machine restarted)",
    };
  }

  async #end(worker: TrackedWorker, outcome: Partial<WorkerRecord>): Promise<void> {
    if (worker.deadline !== undefined) clearTimeout(worker.deadline);
    worker.record = {
      ...worker.record,
      ...outcome,
      finishedAt: outcome.finishedAt ?? new Date().toISOString(),
      phase: outcome.reason === "Completed" ? "succeeded" : "failed",
    };
    await this.#save(worker);
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
      await this.#save(worker);
    }
    const pid = worker.record.pid;
    if (pid === undefined || !worker.loop) {
      await this.#end(worker, await this.#outcome(worker));
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
        out.push(this.#status(worker));
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
    const sequence = await worker.capture.appendAgent(lines);
    worker.logPulse.notify();
    return sequence;
  }

  /** Stops watching and capturing; workers keep running. See {@linkcode Runtime.close}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    this.#watcher?.close();
    for (const worker of this.#workers.values()) {
      if (worker.deadline !== undefined) clearTimeout(worker.deadline);
      worker.wake.notify();
      worker.logPulse.notify();
    }
    await Promise.allSettled([...this.#workers.values()].map((w) => w.loop));
    await Deno.remove(`${this.#opts.stateDir}/owner.json`).catch(() => {});
  }

  #status(worker: TrackedWorker): WorkerStatus {
    const { spec, record } = worker;
    return {
      id: spec.id,
      taskId: spec.taskId,
      index: spec.index,
      phase: record.phase,
      createdAt: record.createdAt,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      exitCode: record.exitCode,
      reason: record.reason,
      message: record.message,
      nodeName: this.#hostname,
      labels: spec.labels,
    };
  }

  async #save(worker: TrackedWorker): Promise<void> {
    await writeJsonAtomic(`${worker.dir}/state.json`, worker.record);
  }

  #publish(worker: TrackedWorker): void {
    const status = this.#status(worker);
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch (err) {
        this.#log.error("status listener threw", { worker: status.id, err });
      }
    }
  }
}

async function readPidFile(dir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await Deno.readTextFile(`${dir}/pid`), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function readExitFile(dir: string): Promise<{ code: number; at: string } | undefined> {
  try {
    const path = `${dir}/exit`;
    const code = Number.parseInt(await Deno.readTextFile(path), 10);
    const { mtime } = await Deno.stat(path);
    if (!Number.isFinite(code)) return undefined;
    return { code, at: (mtime ?? new Date()).toISOString() };
  } catch {
    return undefined;
  }
}
