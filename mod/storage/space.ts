/**
 * A full disk under the state directory, told apart from other I/O errors: the caller keeps what
 * it holds, says so clearly (in the log, on the RPC as RESOURCE_EXHAUSTED, in /readyz) and tries
 * again once there is room, instead of failing workers or crashing.
 *
 * @module
 */

/** What {@linkcode SpaceWatch} logs with (a telemetry Logger is one; storage sits below it). */
export interface SpaceLog {
  /** Logs an error. */
  error(message: string, fields?: Record<string, unknown>): void;
  /** Logs an event. */
  info(message: string, fields?: Record<string, unknown>): void;
}

/** Whether `err` is the operating system saying there is no space (ENOSPC) or quota (EDQUOT). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    (err instanceof Error && /\(os error (28|122)\)/.test(err.message));
}

/** The state directory has no room left: nothing was changed by what failed. */
export class StateDirFullError extends Error {
  /** The state directory. */
  readonly stateDir: string;
  /** Creates the error; the message names the directory and what could not be written. */
  constructor(stateDir: string, what: string, options?: ErrorOptions) {
    super(
      `the state directory ${stateDir} is full (no space left on device): could not write ${what}`,
      options,
    );
    this.name = "StateDirFullError";
    this.stateDir = stateDir;
  }
}

/**
 * Tracks whether the state directory is full: set by a write that failed for want of space,
 * cleared by the next one that succeeded (or, while nothing else writes, by a small probe file
 * written every few seconds). It logs the change both ways, once each; {@linkcode problem} is a
 * readiness check's answer.
 */
export class SpaceWatch {
  readonly #stateDir: string;
  readonly #log: SpaceLog;
  readonly #probeMs: number;
  readonly #settleMs: number;
  #fullSince: number | undefined;
  #lastFailure = 0;
  #what = "";
  #probe: ReturnType<typeof setInterval> | undefined;

  /**
   * Watches `stateDir`; while it is full, a probe checks for room every `probeMs` (2 s). It is
   * taken as having room again only once `settleMs` (2 s) passed with no write failing: a write
   * cut off after a partial failure frees a page or two for a moment, which is no room.
   */
  constructor(
    stateDir: string,
    logger: SpaceLog,
    options: { probeMs?: number; settleMs?: number } = {},
  ) {
    this.#stateDir = stateDir;
    this.#log = logger;
    this.#probeMs = options.probeMs ?? 2000;
    this.#settleMs = options.settleMs ?? 2000;
  }

  /** Whether the last write found the directory full. */
  get full(): boolean {
    return this.#fullSince !== undefined;
  }

  /** Why the server is not ready, or undefined. */
  problem(): string | undefined {
    if (this.#fullSince === undefined) return undefined;
    const seconds = Math.round((Date.now() - this.#fullSince) / 1000);
    return `the state directory ${this.#stateDir} is full (no space left on device) for ` +
      `${seconds} s; could not write ${this.#what}`;
  }

  /**
   * Runs one write: a failure for want of space is recorded and thrown as
   * {@linkcode StateDirFullError} naming the directory and `what`; others are thrown as they are.
   */
  async once<T>(what: string, write: () => Promise<T>): Promise<T> {
    try {
      const result = await write();
      this.#succeeded();
      return result;
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.#failed(what);
      throw new StateDirFullError(this.#stateDir, what, { cause: err });
    }
  }

  /**
   * Runs a write until it does not fail for want of space, trying again every second: what it
   * holds waits (in memory or in the files it reads from) instead of being lost. Other errors,
   * and `signal` aborting while it waits, end it with the error. `waiting` is called each time
   * before it waits.
   */
  async untilStored<T>(
    what: string,
    write: () => Promise<T>,
    signal: AbortSignal,
    waiting?: () => void,
  ): Promise<T> {
    for (;;) {
      try {
        return await this.once(what, write);
      } catch (err) {
        if (!(err instanceof StateDirFullError) || signal.aborted) throw err;
        waiting?.();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 1000);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
        if (signal.aborted) throw err;
      }
    }
  }

  /** Stops the probe. */
  close(): void {
    if (this.#probe !== undefined) clearInterval(this.#probe);
    this.#probe = undefined;
  }

  #failed(what: string): void {
    this.#what = what;
    this.#lastFailure = Date.now();
    if (this.#fullSince !== undefined) return;
    this.#fullSince = Date.now();
    this.#log.error("the state directory is full; writes wait for room", {
      stateDir: this.#stateDir,
      write: what,
    });
    const probe = setInterval(() => {
      const path = `${this.#stateDir}/.space-probe`;
      Deno.writeFile(path, new Uint8Array(4096))
        .then(() => Deno.remove(path))
        .then(() => this.#succeeded(), () => Deno.remove(path).catch(() => {}));
    }, this.#probeMs);
    Deno.unrefTimer(probe);
    this.#probe = probe;
  }

  #succeeded(): void {
    if (this.#fullSince === undefined || Date.now() - this.#lastFailure < this.#settleMs) return;
    this.#log.info("the state directory has room again", {
      stateDir: this.#stateDir,
      fullForMs: Date.now() - this.#fullSince,
    });
    this.#fullSince = undefined;
    this.close();
  }
}
