/**
 * Process plumbing for the local runtime: spawning a worker in its own process group behind a
 * tiny shell wrapper, checking whether a process is still the one we started, and signalling
 * a whole group.
 *
 * The wrapper writes the worker's output straight to files and its exit code to a file, so a
 * worker keeps running, keeps its output and records its result even while Ottoscaler is down;
 * a restarted Ottoscaler re-adopts it from those files.
 *
 * @module
 */

/**
 * The wrapper, run as `sh -c WRAPPER otto-worker <dir> <argv...>`. It records its own pid (the
 * process group id) first, runs argv with stdout and stderr appended to raw files, then records
 * the exit code. The TERM/INT/HUP trap is a handler (not an ignore, which children would
 * inherit), so the wrapper outlives a group-wide SIGTERM long enough to record the code.
 *
 * Both files are written with the shell's builtin `printf` alone: no `mv` (a fork and an exec
 * at the worker's start and again at its end, which on a busy machine delayed the end being
 * seen). Nothing is lost by not renaming: each file is one `write` of a few bytes, read once the
 * wrapper has gone on past it (`pid`: when Ottoscaler finds no pid in `state.json`, after a
 * restart) or once it holds a whole line (`exit`); one cut short by a crash of the machine reads
 * as absent, as a temporary file that was never renamed did.
 */
export const WRAPPER_SCRIPT = [
  "dir=$1; shift",
  "trap ':' TERM INT HUP",
  'printf "%s\\n" "$$" >"$dir/pid"',
  '"$@" </dev/null >>"$dir/stdout.raw" 2>>"$dir/stderr.raw"',
  "code=$?",
  'printf "%s\\n" "$code" >"$dir/exit"',
].join("\n");

/** Options for {@linkcode spawnWrapped}. */
export interface SpawnOptions {
  /** The worker's state directory (pid, exit and raw output files go here). */
  readonly stateDir: string;
  /** The worker's working directory. */
  readonly cwd: string;
  /** The argv to run. */
  readonly argv: readonly string[];
  /** The complete environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
}

/** Where setsid(1) is on this machine, if it is: looked up once. */
let setsidPath: string | null | undefined;

function findSetsid(): string | null {
  if (setsidPath !== undefined) return setsidPath;
  setsidPath = null;
  for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      if (Deno.statSync(path).isFile) return setsidPath = path;
    } catch { /* not there */ }
  }
  return setsidPath;
}

/**
 * Starts the wrapper in a new session and process group whose id is the returned child's pid.
 *
 * Through setsid(1) where the machine has it: Deno then starts the child with `posix_spawn`,
 * which does not copy Ottoscaler's address space, and setsid execs the wrapper in the same
 * process (it is no group leader, so it does not fork). `detached: true` does the same with a
 * `fork` of Ottoscaler itself, which takes the JavaScript thread 3 to 25 ms per worker on this
 * project's machine (10 times a plain spawn): twenty workers started at once held up every
 * other event, acknowledgements from otto-handler included, for hundreds of milliseconds. It
 * is the fallback where there is no setsid.
 */
export function spawnWrapped(options: SpawnOptions): Deno.ChildProcess {
  const setsid = findSetsid();
  const wrapper = ["-c", WRAPPER_SCRIPT, "otto-worker", options.stateDir, ...options.argv];
  return new Deno.Command(setsid ?? "/bin/sh", {
    args: setsid ? ["/bin/sh", ...wrapper] : wrapper,
    cwd: options.cwd,
    env: { ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: setsid === null,
  }).spawn();
}

/**
 * A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`), which tells
 * a live process from a later one that reused its pid. Undefined if the process does not exist,
 * is a zombie, or `/proc` is unavailable.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}

/** Whether `pid` is alive and, when `startTime` is given, still the same process. */
export function isAlive(pid: number, startTime?: string): boolean {
  const current = processStartTime(pid);
  if (current !== undefined) return startTime === undefined || current === startTime;
  // Without /proc (not Linux), fall back to signal 0.
  if (Deno.build.os === "linux") return false;
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to every process of the group led by `pgid`; false if the group is gone. */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
