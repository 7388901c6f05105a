/**
 * A supervisor for `serve`: runs it as a child process of the same executable and starts it again
 * at once when it dies abnormally, so an abort that no JavaScript can catch (Deno's `node:http2`
 * inside nghttp2, denoland/deno#36788) costs a restart of a second or two, not the service. Every
 * state Ottoscaler keeps is durable (worker output and results on disk or in pods, delivery
 * progress, pipelines), so the restarted child re-adopts its workers and resumes delivery.
 *
 * - SIGTERM and SIGINT are passed to the child, whose exit is then final: the supervisor exits
 *   with the child's code (0 when the child died of that very signal, e.g. while still starting,
 *   and 0 when it aborted (SIGABRT, SIGSEGV) while stopping: the same nghttp2 abort can strike as
 *   the server sends its GOAWAYs, and everything it held is durable, so the stop was clean).
 * - A child that exits with 0 (done) or 2 (bad configuration) is not restarted.
 * - A crash loop is not hidden: more than `maxRestarts` restarts within `windowMs` and the
 *   supervisor gives up, exiting with the child's code.
 * - The child's stdin is a pipe from the supervisor: if the supervisor itself is killed, the pipe
 *   closes and the child exits at once ({@linkcode exitWhenSupervisorGone}), so no orphan keeps
 *   the port or the state directory.
 *
 * @module
 */

import type { Logger } from "../telemetry/logger.ts";

/** The environment variable that marks a supervised child. */
export const SUPERVISED_CHILD_ENV = "OTTOSCALER_SUPERVISED_CHILD";

/** Options for {@linkcode supervise}. */
export interface SuperviseOptions {
  /** The child's command line: the executable, then its arguments. */
  readonly command: readonly [string, ...string[]];
  /** The logger. */
  readonly logger: Logger;
  /** The most restarts within {@linkcode windowMs} before giving up; default 5. */
  readonly maxRestarts?: number;
  /** The window of {@linkcode maxRestarts}; default 60 s. */
  readonly windowMs?: number;
  /** Called with each child's pid as it starts (for tests and figures). */
  readonly onStart?: (pid: number) => void;
}

/** How a child ended. */
export interface ChildEnd {
  /** Its exit code (128 + the signal number when killed by a signal). */
  readonly code: number;
  /** The signal that killed it, if one did. */
  readonly signal: Deno.Signal | null;
}

/**
 * The command line that runs this program again with `args`: the executable itself when it is
 * compiled, else `deno run` on the main module with this project's configuration.
 */
export function selfCommand(args: readonly string[]): [string, ...string[]] {
  const exe = Deno.execPath();
  if (Deno.build.standalone) return [exe, ...args];
  const main = new URL(Deno.mainModule);
  const config = new URL("deno.json", main);
  let configArgs: string[] = [];
  try {
    Deno.statSync(config);
    configArgs = [`--config=${config.pathname}`];
  } catch {
    // No configuration beside the main module: run it as it is.
  }
  return [exe, "run", "--allow-all", ...configArgs, main.href, ...args];
}

/** Runs the child until it ends for good; resolves with the exit code to end with. */
export async function supervise(options: SuperviseOptions): Promise<number> {
  const log = options.logger.with({ component: "supervisor" });
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const restarts: number[] = [];
  let stopping: Deno.Signal | undefined;
  let child: Deno.ChildProcess | undefined;
  const forward = (signal: Deno.Signal) => () => {
    stopping = signal;
    try {
      child?.kill(signal);
    } catch {
      // Already gone.
    }
  };
  const handlers = (["SIGTERM", "SIGINT"] as const).map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    for (;;) {
      if (stopping !== undefined) return 128 + (stopping === "SIGINT" ? 2 : 15);
      const [exe, ...args] = options.command;
      child = new Deno.Command(exe, {
        args,
        env: { [SUPERVISED_CHILD_ENV]: "1" },
        stdin: "piped",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      options.onStart?.(child.pid);
      const status = await child.status;
      const end: ChildEnd = { code: status.code, signal: status.signal };
      // A child ended by the signal we passed on (before its handler was set up) was stopped;
      // one that aborted inside the runtime while stopping lost nothing either (module doc).
      if (stopping !== undefined) {
        if (end.signal === stopping) return 0;
        if (end.signal === "SIGABRT" || end.signal === "SIGSEGV") {
          log.warn("serve aborted while stopping (denoland/deno#36788); its state is durable", {
            ...end,
          });
          return 0;
        }
        return end.code;
      }
      if (end.code === 0 || end.code === 2) return end.code;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && now - restarts[0] > windowMs) restarts.shift();
      if (restarts.length > maxRestarts) {
        log.error("serve keeps dying; giving up", { ...end, restarts: restarts.length, windowMs });
        return end.code;
      }
      log.error("serve died; starting it again", { ...end, pid: child.pid });
    }
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

/**
 * In a supervised child: exits at once when the supervisor's pipe on stdin closes (the supervisor
 * was killed), as the supervisor's own death would have ended it in a single process.
 */
export function exitWhenSupervisorGone(logger: Logger): void {
  (async () => {
    const buffer = new Uint8Array(64);
    try {
      while (await Deno.stdin.read(buffer) !== null) {
        // Nothing is sent on the pipe; it only tells that the supervisor lives.
      }
    } catch {
      // A read error means the same.
    }
    logger.error("the supervisor is gone; exiting");
    Deno.exit(1);
  })();
}
