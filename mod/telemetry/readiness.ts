/**
 * Readiness: whether this instance should be sent traffic, as named checks that each say why not.
 * `/readyz` and the gRPC health service both answer from one {@linkcode Readiness}, so they never
 * disagree. Liveness is not here: a process whose event loop answers `/healthz` is alive.
 *
 * A check is a function returning undefined when fine, else a short reason ("not the leader; the
 * leader is ottoscaler-7d9c-abc"). Checks must be cheap: they run on every probe.
 *
 * @module
 */

/** One check: undefined when fine, else why not. */
export type ReadinessCheck = () => string | undefined;

/** The outcome of {@linkcode Readiness.check}. */
export interface ReadinessResult {
  /** Whether every check passed. */
  readonly ready: boolean;
  /** `name: reason` of every failing check, in the order they were added. */
  readonly reasons: readonly string[];
}

/** Named readiness checks; see the module doc. */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  #closed = false;

  /** Adds (or replaces) the check called `name`. */
  add(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /** Makes this instance not ready for good (shutdown under way). */
  close(): void {
    this.#closed = true;
  }

  /** Runs every check; a check that throws fails with its message. */
  check(): ReadinessResult {
    if (this.#closed) return { ready: false, reasons: ["shutdown: shutting down"] };
    const reasons: string[] = [];
    for (const [name, check] of this.#checks) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (err) {
        reason = `check failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (reason !== undefined) reasons.push(`${name}: ${reason}`);
    }
    return { ready: reasons.length === 0, reasons };
  }
}
