/**
 * The worker runtime contract: what the scaler and the pipeline executor need from whatever runs
 * workers (processes on this machine, or pods in Kubernetes), and nothing more.
 *
 * ```
 * scaler / pipeline ──start/stop──▶ Runtime ──▶ processes (local) | pods (kube)
 *        ▲                             │
 *        └──── list / watch / logs ◀───┘   (state and numbered log lines)
 * ```
 *
 * @module
 */

/** A worker's phase, as reported on the wire (lowercase). */
export type Phase = "pending" | "running" | "succeeded" | "failed";

/** Every phase, in lifecycle order. */
export const PHASES: readonly Phase[] = ["pending", "running", "succeeded", "failed"];

/** Whether a phase is final: a worker in it never changes again. */
export function isTerminal(phase: Phase): boolean {
  return phase === "succeeded" || phase === "failed";
}

/**
 * Why a worker ended or could not start. `Completed` for success; the rest are failures.
 * `Stopped` marks a worker ended on request (a TERMINATED event), `Lost` one whose end was not
 * observed (its process vanished while Ottoscaler was down).
 */
export type EndReason =
  | "Completed"
  | "Error"
  | "Stopped"
  | "DeadlineExceeded"
  | "Lost"
  | "StartError"
  | "Unschedulable"
  | "ErrImagePull"
  | "ImagePullBackOff"
  | "InvalidImageName"
  | "CreateContainerConfigError"
  | "QuotaExceeded";

/** Everything a runtime needs to start one worker. */
export interface WorkerSpec {
  /** The worker's name, unique in the runtime: `otto-agent-<task>-<index>`. */
  readonly id: string;
  /** The full task id (not only its DNS-safe form). */
  readonly taskId: string;
  /** The worker's index within its task, from 1. */
  readonly index: number;
  /** The container image; ignored by runtimes that run no images. */
  readonly image: string;
  /** A shell script run as `sh -c <command>`; absent: the image's own entrypoint. */
  readonly command?: string;
  /** Environment variables, already including the OTTO_* ones. */
  readonly env: Readonly<Record<string, string>>;
  /** Labels to carry (DNS-safe keys and values). */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations to carry, where the runtime has them (pods); ignored by the local runtime. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Seconds the worker may run before it is stopped and failed as DeadlineExceeded; 0: none. */
  readonly timeoutSeconds: number;
  /**
   * The object the worker belongs to, so that deleting it cleans the worker up (a Kubernetes
   * owner reference: an object in the worker's own namespace). Ignored by runtimes without
   * owners (the local runtime).
   */
  readonly owner?: WorkerOwner;
  /** Whose turn it is when workers wait for room (an admission layer reads it; runtimes ignore it). */
  readonly admission?: AdmissionTicket;
}

/** Where a worker stands in line when workers wait for room (see `mod/admission`). */
export interface AdmissionTicket {
  /** The tenant: the request's `metadata["tenant"]`, else `triggered_by`, else `default`. */
  readonly tenant: string;
  /** Higher goes first within the tenant (`metadata["priority"]`); default 0. */
  readonly priority: number;
}

/** An object that owns workers (see {@linkcode WorkerSpec.owner}). */
export interface WorkerOwner {
  /** Its API version, e.g. `v1`. */
  readonly apiVersion: string;
  /** Its kind, e.g. `ConfigMap`. */
  readonly kind: string;
  /** Its name. */
  readonly name: string;
  /** Its uid: an owner reference names one incarnation of the object. */
  readonly uid: string;
}

/** A worker's observed state. Times are RFC 3339 strings; absent when not reached. */
export interface WorkerStatus {
  /** The worker's name. */
  readonly id: string;
  /** The full task id. */
  readonly taskId: string;
  /** The index within the task, from 1. */
  readonly index: number;
  /** The phase. */
  readonly phase: Phase;
  /** When the worker was created. */
  readonly createdAt: string;
  /** When its command started. */
  readonly startedAt?: string;
  /** When it ended. */
  readonly finishedAt?: string;
  /** The command's exit code, when it exited by itself or was stopped and its code is known. */
  readonly exitCode?: number;
  /** Why it ended (terminal phases only). */
  readonly reason?: EndReason;
  /** A readable explanation of the reason. */
  readonly message?: string;
  /** Where it runs: the node in Kubernetes, the host name locally. */
  readonly nodeName?: string;
  /** The pod's IP, when there is one. */
  readonly podIp?: string;
  /** Its labels. */
  readonly labels: Readonly<Record<string, string>>;
}

/** One line a worker printed, numbered within its worker from 1 with no gaps. */
export interface LogLine {
  /** The worker that printed it. */
  readonly workerId: string;
  /** The line's number within the worker, from 1. */
  readonly sequence: number;
  /** When it was printed (or read, where the runtime cannot tell), RFC 3339 with a fraction. */
  readonly timestamp: string;
  /** `stdout` or `stderr`, or `agent` for a line an agent in the worker sent. */
  readonly source: LogSource;
  /** The text, without its newline. */
  readonly message: string;
  /** The level an agent gave the line (output lines have none). */
  readonly level?: string;
  /** Attributes an agent gave the line. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Where a line came from. */
export type LogSource = "stdout" | "stderr" | "agent";

/** A structured line an agent inside a worker sends (LogStreamingService). */
export interface AgentLine {
  /** The text. */
  readonly message: string;
  /** Its level (info, warn, error, ...). */
  readonly level: string;
  /** When the agent says it happened, RFC 3339; default now. */
  readonly timestamp?: string;
  /** Attributes. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * The agent's own number for the line (from 1, growing); a line numbered at or below the
   * highest stored for the worker is a resend and is not stored again. Absent: always stored.
   */
  readonly agentSequence?: number;
}

/**
 * An optional runtime capability: lines an agent inside a worker pushes join that worker's
 * numbered stream, between its output lines.
 */
export interface AgentLogSink {
  /**
   * Numbers and stores `lines` for a running worker; resolves with the sequence of the last one
   * stored, or 0 when every line was a resend already stored (see
   * {@linkcode AgentLine.agentSequence}). Throws {@linkcode WorkerNotFoundError} for unknown
   * workers and {@linkcode WorkerEndedError} for ended ones.
   */
  appendAgentLines(workerId: string, lines: readonly AgentLine[]): Promise<number>;
  /** The highest {@linkcode AgentLine.agentSequence} stored for a worker; 0 if none. */
  lastAgentSequence?(workerId: string): number;
}

/** Whether a runtime accepts agent lines. */
export function acceptsAgentLines(runtime: Runtime): runtime is Runtime & AgentLogSink {
  return typeof (runtime as Partial<AgentLogSink>).appendAgentLines === "function";
}

/**
 * An optional runtime capability: starting several workers together, all or none at a time (a
 * pipeline stage's workers, so two stages never each hold half of what they need). Resolves with
 * their states once they are accepted (started, or waiting for room together).
 */
export interface GangStarter {
  /** Starts `specs` together; idempotent per spec id like {@linkcode Runtime.start}. */
  startTogether(specs: readonly WorkerSpec[]): Promise<WorkerStatus[]>;
}

/** Whether a runtime starts workers together. */
export function startsTogether(runtime: Runtime): runtime is Runtime & GangStarter {
  return typeof (runtime as Partial<GangStarter>).startTogether === "function";
}

/** Options for {@linkcode Runtime.logs}. */
export interface LogReadOptions {
  /** Send only lines with a sequence above this; 0 (the default) sends from the first line. */
  readonly after?: number;
  /** Keep waiting for new lines until the worker has ended and its last line was sent. */
  readonly follow?: boolean;
  /** Ends the read early. */
  readonly signal?: AbortSignal;
}

/** A listener for state changes; called with the new state of one worker. */
export type StatusListener = (status: WorkerStatus) => void;

/**
 * Runs workers. Every implementation passes `tests/support/conformance.ts`.
 *
 * Contract:
 * - `start` is idempotent by `spec.id`: starting an existing worker creates nothing and returns
 *   its current state; concurrent starts of one id create one worker.
 * - `stop` is safe for an unknown or already finished worker (it does nothing); a stopped worker
 *   ends `failed` with reason `Stopped`, after SIGTERM and, past a grace period, SIGKILL.
 * - `list` answers from memory (a cache fed by the runtime's own watch), never by polling.
 * - `watch` listeners see every phase change of every worker, in order per worker; a worker's
 *   terminal state is published only after its last log line is readable through `logs`.
 * - `logs` numbers lines per worker from 1 with no gaps; reading again yields the same numbers.
 * - State lives outside the process (files, or the Kubernetes API): a runtime opened again after
 *   a restart reports every worker it had started, re-adopting those still running.
 * - `close` stops watching and releases resources but leaves workers running.
 */
export interface Runtime {
  /** The runtime's name: `local` or `kubernetes`. */
  readonly name: string;
  /** Whether workers must have a `command` (a runtime that runs no images needs one). */
  readonly requiresCommand: boolean;
  /**
   * Whether `start` bounds its own concurrency (the Kubernetes runtime adapts its creates in
   * flight to the API server); the scaler then hands it every start at once.
   */
  readonly boundsStarts?: boolean;
  /** Starts a worker, or returns the state of the existing worker with that id. */
  start(spec: WorkerSpec): Promise<WorkerStatus>;
  /** Stops a worker; resolves once it has ended. Does nothing for unknown or ended workers. */
  stop(id: string): Promise<void>;
  /** The current state of the workers, optionally of one task, ordered by task and index. */
  list(filter?: { readonly taskId?: string }): WorkerStatus[];
  /** Calls `listener` on every state change until the returned function is called. */
  watch(listener: StatusListener): () => void;
  /** A worker's numbered log lines. Throws {@linkcode WorkerNotFoundError} for unknown ids. */
  logs(id: string, options?: LogReadOptions): AsyncIterable<LogLine>;
  /** Stops watching and frees resources; workers keep running. */
  close(): Promise<void>;
}

/** Base of the errors about one worker; carries the worker's id. */
export class WorkerError extends Error {
  /** The worker's id. */
  readonly workerId: string;
  /** Creates the error for `workerId`. */
  constructor(workerId: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.workerId = workerId;
  }
}

/** Thrown when a worker id is not known to the runtime. */
export class WorkerNotFoundError extends WorkerError {
  /** Creates the error for `workerId`. */
  constructor(workerId: string) {
    super(workerId, `Worker "${workerId}" not found`);
  }
}

/** Thrown when a worker has ended and can take no more lines. */
export class WorkerEndedError extends WorkerError {
  /** Creates the error for `workerId`. */
  constructor(workerId: string) {
    super(workerId, `Worker "${workerId}" has ended`);
  }
}

/** Thrown when an existing worker with the requested id belongs to another task. */
export class WorkerConflictError extends WorkerError {
  /** Creates the error for `workerId`, saying which task holds it. */
  constructor(workerId: string, heldBy: string) {
    super(workerId, `Worker "${workerId}" already exists for task "${heldBy}"`);
  }
}

/**
 * Thrown by a runtime asked (by an admission layer) to report a start refused for quota instead of
 * failing the worker: the worker was not created and may be started again later.
 */
export class QuotaRefusedError extends WorkerError {
  /** Creates the error for `workerId` with the refusal's text. */
  constructor(workerId: string, message: string) {
    super(workerId, message);
  }
}
