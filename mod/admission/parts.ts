/**
 * Pieces of the admitting runtime (`mod/admission/runtime.ts`) that need none of its state: the
 * room it asks about ({@linkcode Capacity}), what runs now, per tenant, and waiting until a
 * waiting worker has started (for its logs).
 *
 * @module
 */

import { isTerminal, type WorkerSpec, type WorkerStatus } from "../worker/types.ts";
import { TENANT_LABEL } from "./line.ts";
import type { Usage } from "./queue.ts";

/** Room in the namespace beyond the caps (ResourceQuotas); see `mod/admission/quota.ts`. */
export interface Capacity {
  /**
   * Re-reads what the room depends on, unless it was read less than `maxAgeMs` ago; called
   * before each admission round (and, with a small age, before a start that finds no line).
   */
  refresh(maxAgeMs?: number): Promise<void>;
  /** Why `specs` (admitted together) could never fit, naming the limit; undefined if they can. */
  neverFits(specs: readonly WorkerSpec[]): string | undefined;
  /**
   * A check of what fits now next to the runtime's unfinished workers and `starting` (admitted,
   * not yet seen by the runtime); made once per decision, as it reads the runtime's state once.
   */
  check(starting: readonly WorkerSpec[]): FitCheck;
}

/** Why `specs` (with `extra` admitted before them) do not fit, or undefined when they do. */
export type FitCheck = (
  specs: readonly WorkerSpec[],
  extra?: readonly WorkerSpec[],
) => string | undefined;

/** What runs now: the runtime's unfinished `workers` plus the `starting` ones (by id). */
export function usageOf(
  workers: readonly WorkerStatus[],
  starting: ReadonlyMap<string, { readonly spec: WorkerSpec }>,
): Usage {
  const perTenant = new Map<string, number>();
  let running = 0;
  const count = (labels: Readonly<Record<string, string>>) => {
    const tenant = labels[TENANT_LABEL] ?? "default";
    perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
    running++;
  };
  for (const w of workers) {
    if (!isTerminal(w.phase) && !starting.has(w.id)) count(w.labels);
  }
  for (const { spec } of starting.values()) count(spec.labels);
  return { running, perTenant };
}

/**
 * Resolves true once `started()` holds, false once `gone()` does (it ended while waiting, or the
 * runtime closed) or `signal` aborts; both are asked again on every change `watch` reports.
 */
export function untilStarted(o: {
  readonly started: () => boolean;
  readonly gone: () => boolean;
  readonly watch: (listener: () => void) => () => void;
  readonly signal?: AbortSignal;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const check = () => {
      if (o.started()) return done(true);
      if (o.gone() || o.signal?.aborted) done(false);
    };
    const done = (value: boolean) => {
      unwatch();
      o.signal?.removeEventListener("abort", check);
      resolve(value);
    };
    const unwatch = o.watch(check);
    o.signal?.addEventListener("abort", check);
    check();
  });
}
