/**
 * Capped exponential backoff with "equal jitter" (half the cap fixed, half random, so a retry
 * never comes at once and retries still spread out), and an abortable sleep.
 *
 * @module
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** The first delay's upper bound, in milliseconds. */
  readonly initialMs: number;
  /** The largest delay, in milliseconds. */
  readonly maxMs: number;
}

/**
 * The delay before retry `attempt` (from 1): with `cap = min(max, initial * 2^(attempt-1))`, a
 * random value in [cap / 2, cap].
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random = Math.random,
): number {
  const cap = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Sleeps `ms` milliseconds, or less if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
