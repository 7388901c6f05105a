/**
 * The on-disk side of the local runtime: a worker's record (`state.json`), the `pid` and `exit`
 * files its wrapper writes, the state directory's owner lock, and the file watcher that wakes a
 * worker's capture loop when its directory changes. The layout is drawn in `runtime.ts`.
 *
 * @module
 */

import type { Logger } from "../../telemetry/logger.ts";
import { Pulse } from "../../async/pulse.ts";
import {
  readJsonOrSetAside,
  writeJsonAtomic,
  writeJsonFilesAtomic,
} from "../../storage/json_file.ts";
import type { EndReason, Phase, WorkerSpec, WorkerStatus } from "../types.ts";
import type { OutputCapture } from "./capture.ts";
import { isAlive, processStartTime } from "./process.ts";

/** What state.json holds. */
export interface WorkerRecord {
  /** The worker's phase. */
  phase: Phase;
  /** When it was created. */
  createdAt: string;
  /** When its process started. */
  startedAt?: string;
  /** When it ended. */
  finishedAt?: string;
  /** Its exit code, once ended by exiting. */
  exitCode?: number;
  /** Why it ended, when not by succeeding. */
  reason?: EndReason;
  /** A readable account of the end. */
  message?: string;
  /** The wrapper's process id (the process group). */
  pid?: number;
  /** The wrapper's start time, so a reused pid is not taken for it. */
  pidStartTime?: string;
  /** Set when Ottoscaler asked the worker to end, and why. */
  stopReason?: "Stopped" | "DeadlineExceeded";
}

/** One worker as the runtime tracks it in memory. */
export interface TrackedWorker {
  /** What it runs. */
  readonly spec: WorkerSpec;
  /** Its directory. */
  readonly dir: string;
  /** Its record, saved with {@linkcode saveRecord}. */
  record: WorkerRecord;
  /** Wakes the capture loop: output written, process exited. */
  readonly wake: Pulse;
  /** Signals appends to the numbered log, for followers. */
  readonly logPulse: Pulse;
  /** Set when our own child (the wrapper) has exited. */
  childExited: boolean;
  /**
   * Set when the file watcher saw the wrapper's `exit` file change: the command has ended (once
   * the file holds its code, {@linkcode exitCodeWritten}), whether or not the wrapper is reaped.
   */
  exitFileChanged: boolean;
  /** Resolves once the worker is terminal and its log complete. */
  readonly ended: Promise<void>;
  /** Resolves {@linkcode ended}. */
  markEnded: () => void;
  /** The timer of its deadline, if it has one. */
  deadline?: ReturnType<typeof setTimeout>;
  /** The running capture loop, if any. */
  loop?: Promise<void>;
  /** The open capture while the worker can still take lines. */
  capture?: OutputCapture;
}

/** A worker as the runtime starts tracking it: not ended, no process seen exiting yet. */
export function trackedWorker(spec: WorkerSpec, dir: string, record: WorkerRecord): TrackedWorker {
  let markEnded = () => {};
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  return {
    spec,
    dir,
    record,
    wake: new Pulse(),
    logPulse: new Pulse(),
    childExited: false,
    exitFileChanged: false,
    ended,
    markEnded,
  };
}

/** Worker directory names: the DNS-safe worker ids. */
export const SAFE_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Creates a new worker's directory with its `spec.json` and a pending `state.json`; when that
 * fails (a full disk), removes the directory again, so nothing is left half made.
 */
export async function createWorkerDir(dir: string, spec: WorkerSpec): Promise<TrackedWorker> {
  await Deno.mkdir(dir);
  try {
    const worker = trackedWorker(spec, dir, {
      phase: "pending",
      createdAt: new Date().toISOString(),
    });
    // Both at once: a crash that keeps the record and loses the spec leaves a directory that is
    // removed at start-up (nothing ran), as one that lost both.
    await writeJsonFilesAtomic(dir, { "spec.json": spec, "state.json": worker.record });
    return worker;
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}

/** A worker whose wrapper started but was never recorded: adopted from its own pid file. */
export async function adoptFromPidFile(worker: TrackedWorker, pid: number): Promise<void> {
  const stat = await Deno.stat(`${worker.dir}/pid`);
  worker.record = {
    ...worker.record,
    phase: "running",
    pid,
    pidStartTime: processStartTime(pid),
    startedAt: (stat.mtime ?? new Date()).toISOString(),
  };
  await saveRecord(worker);
}

/** Writes a worker's record to its `state.json`, atomically. */
export async function saveRecord(worker: TrackedWorker): Promise<void> {
  await writeJsonAtomic(`${worker.dir}/state.json`, worker.record);
}

/** A worker's status, as the runtime reports it. */
export function statusOf(worker: TrackedWorker, hostname: string): WorkerStatus {
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
    nodeName: hostname,
    labels: spec.labels,
  };
}

/**
 * Takes the state directory for this process (`owner.json`), creating `workers/` in it; throws if
 * another live Ottoscaler holds it.
 */
export async function lockStateDir(stateDir: string): Promise<void> {
  await Deno.mkdir(`${stateDir}/workers`, { recursive: true });
  const lockPath = `${stateDir}/owner.json`;
  const { value: owner } = await readJsonOrSetAside<{ pid: number; startTime?: string }>(
    lockPath,
    (v) => typeof (v as { pid?: unknown })?.pid === "number",
  );
  if (owner && owner.pid !== Deno.pid && isAlive(owner.pid, owner.startTime)) {
    throw new Error(
      `State directory "${stateDir}" is in use by another Ottoscaler (pid ${owner.pid})`,
    );
  }
  await writeJsonAtomic(lockPath, { pid: Deno.pid, startTime: processStartTime(Deno.pid) });
}

/**
 * Reads a worker's `spec.json` and `state.json` at start-up. A directory without a spec (a crash
 * mid-create: nothing ran) is removed; one whose spec is unreadable is moved whole to
 * `<stateDir>/corrupt/` (nothing can say what it ran) and one whose record is unreadable gets
 * a fresh record (its own `pid` and `exit` files then tell whether it ran and how it ended), each
 * logged as an error, so that no bad file keeps Ottoscaler from starting.
 */
export async function readWorkerFiles(
  stateDir: string,
  id: string,
  logger: Logger,
): Promise<{ spec: WorkerSpec; record: WorkerRecord } | undefined> {
  const dir = `${stateDir}/workers/${id}`;
  const spec = await readJsonOrSetAside<WorkerSpec>(
    `${dir}/spec.json`,
    (v) => typeof (v as WorkerSpec)?.id === "string" && (v as WorkerSpec).id === id,
  );
  if (spec.setAside) {
    await Deno.mkdir(`${stateDir}/corrupt`, { recursive: true });
    const to = `${stateDir}/corrupt/${id}.${Date.now()}`;
    await Deno.rename(dir, to);
    logger.error("a worker's spec.json is unreadable; its directory was set aside", {
      worker: id,
      reason: spec.setAside.reason,
      movedTo: to,
    });
    return undefined;
  }
  if (!spec.value) {
    await Deno.remove(dir, { recursive: true });
    return undefined;
  }
  const record = await readJsonOrSetAside<WorkerRecord>(
    `${dir}/state.json`,
    (v) => typeof (v as WorkerRecord)?.phase === "string",
  );
  if (record.setAside) {
    logger.error("a worker's state.json is unreadable; rebuilt from its pid and exit files", {
      worker: id,
      reason: record.setAside.reason,
      movedTo: record.setAside.path,
    });
  }
  return {
    spec: spec.value,
    record: record.value ?? { phase: "pending", createdAt: new Date().toISOString() },
  };
}

/**
 * Watches the workers' directories and calls `changed` with the worker id and the path within its
 * directory (`exit`, `stdout.raw`, ...; empty for the directory itself) of every path that
 * changes. Returns the watcher (close it to stop), or undefined where file watching is
 * unavailable: then callers pick output up on a timer.
 */
export function watchWorkerDirs(
  workersDir: string,
  changed: (id: string, file: string) => void,
  logger: Logger,
): Deno.FsWatcher | undefined {
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(workersDir, { recursive: true });
  } catch (err) {
    logger.warn("file watching unavailable; output is picked up every 500 ms", { err });
    return undefined;
  }
  const prefix = workersDir.replace(/\/+$/, "") + "/";
  (async () => {
    try {
      for await (const event of watcher) {
        for (const path of event.paths) {
          const rel = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
          if (!rel) continue;
          const [id, ...file] = rel.split("/");
          if (id) changed(id, file.join("/"));
        }
      }
    } catch (err) {
      logger.warn("file watcher ended", { err });
    }
  })();
  return watcher;
}

/** The pid the worker's wrapper wrote, if it did. */
export async function readPidFile(dir: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await Deno.readTextFile(`${dir}/pid`), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The files in a worker's directory whose change wakes its capture loop: what the worker writes. */
const WAKING_FILES: ReadonlySet<string> = new Set(["stdout.raw", "stderr.raw", "exit"]);

/**
 * Wakes a worker's capture loop for a change of `file` (a path within its directory, as
 * {@linkcode watchWorkerDirs} reports it) when the worker wrote it, and notes a written `exit`.
 * Ottoscaler's own writes (state.json, log.jsonl) and the files of the working directory (a
 * build's thousands) wake nothing: each wake-up reads the raw output files again.
 */
export function wakeOnWorkerFile(worker: TrackedWorker | undefined, file: string): void {
  if (!worker || !WAKING_FILES.has(file)) return;
  if (file === "exit") worker.exitFileChanged = true;
  worker.wake.notify();
}

/** Wakes a worker's capture loop when its wrapper, our child, has exited. */
export function wakeOnChildExit(worker: TrackedWorker, child: Deno.ChildProcess): void {
  child.status.then(() => {
    worker.childExited = true;
    worker.wake.notify();
  });
}

/**
 * Whether a worker's command has ended: its wrapper exited (seen as our child's end, or gone from
 * the process table), or it has written the command's exit code ({@linkcode exitCodeWritten}),
 * which the file watcher tells sooner than the wrapper's end is seen on a busy machine.
 */
export async function commandEnded(worker: TrackedWorker): Promise<boolean> {
  const { pid, pidStartTime } = worker.record;
  if (worker.childExited || pid === undefined || !isAlive(pid, pidStartTime)) return true;
  return worker.exitFileChanged && await exitCodeWritten(worker.dir);
}

/**
 * Whether the wrapper has written the command's exit code: `exit` holds a whole line (the wrapper
 * writes it with one `write`, so a line that is there is complete). The command has ended then,
 * and its end can be reported without waiting for the wrapper itself to exit and be reaped.
 */
export async function exitCodeWritten(dir: string): Promise<boolean> {
  try {
    return /^\d+\n$/.test(await Deno.readTextFile(`${dir}/exit`));
  } catch {
    return false;
  }
}

/** The exit code the worker's wrapper wrote, and when, if it did. */
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

/**
 * How a worker whose process has ended ended: from the exit code its wrapper wrote and from why
 * Ottoscaler stopped it, if it did; `Lost` when there is no exit code.
 */
export async function readOutcome(worker: TrackedWorker): Promise<Partial<WorkerRecord>> {
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
