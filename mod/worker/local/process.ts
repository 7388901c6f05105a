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
 * the exit code atomically. The TERM/INT/HUP trap is a handler (not an ignore, which children
 * would inherit), so the wrapper outlives a group-wide SIGTERM long enough to record the code.
 */
export const WRAPPER_SCRIPT = [
  "dir=$1; shift",
  "trap ':' TERM INT HUP",
  'printf "%s\\n" "$$" >"$dir/pid.tmp" && mv -f "$dir/pid.tmp" "$dir/pid"',
  '"$@" </dev/null >>"$dir/stdout.raw" 2>>"$dir/stderr.raw"',
  "code=$?",
  'printf "%s\\n" "$code" >"$dir/exit.tmp" && mv -f "$dir/exit.tmp" "$dir/exit"',
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

/** Starts the wrapper detached, in a new process group whose id is the returned child's pid. */
export function spawnWrapped(options: SpawnOptions): Deno.ChildProcess {
  return new Deno.Command("/bin/sh", {
    args: ["-c", WRAPPER_SCRIPT, "otto-worker", options.stateDir, ...options.argv],
    cwd: options.cwd,
    env: { ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
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
