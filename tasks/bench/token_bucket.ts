/**
 * client-go's default client-side rate limit (`flowcontrol.NewTokenBucketRateLimiter(qps, burst)`,
 * QPS 5 and burst 10 when a rest.Config sets neither): a bucket of `burst` tokens, full at the
 * start, refilled at `qps` tokens a second; every request takes one, waiting for it if need be.
 *
 * @module
 */

/** A token bucket; see the module doc. */
export class TokenBucket {
  #tokens: number;
  #last = performance.now();

  /** A bucket refilled at `qps` a second, holding at most `burst` tokens (full at the start). */
  constructor(readonly qps: number, readonly burst: number) {
    this.#tokens = burst;
  }

  /** Takes one token, waiting until there is one. Reserves in call order, like rate.Limiter. */
  async take(): Promise<void> {
    const t = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.qps);
    this.#last = t;
    this.#tokens -= 1;
    if (this.#tokens < 0) {
      await new Promise((r) => setTimeout(r, (-this.#tokens / this.qps) * 1000));
    }
  }
}
