/**
 * An async channel: producers `send` (waiting while it is full), one consumer iterates. A bounded
 * channel is what lets a slow consumer slow its producers instead of growing memory. Producers
 * that cannot wait (a listener called synchronously) use {@linkcode Channel.unbounded}; each such
 * call site says what bounds its volume instead.
 *
 * @module
 */

/** A many-producer, one-consumer channel, bounded unless made unbounded; see the module doc. */
export class Channel<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #closed = false;
  #error: unknown = undefined;
  #wakeConsumer?: () => void;
  readonly #wakeProducers: (() => void)[] = [];

  /** Creates a channel holding at most `capacity` items. */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /**
   * A channel that never makes a producer wait. Only for producers that cannot wait; the caller
   * must bound the volume some other way (and say how where it calls this).
   */
  static unbounded<T>(): Channel<T> {
    return new Channel<T>(Number.MAX_SAFE_INTEGER);
  }

  /** Whether the channel was closed (no more items are accepted). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues an item, waiting for room; returns false if the channel is closed. */
  async send(item: T): Promise<boolean> {
    while (!this.#closed && this.#items.length >= this.#capacity) {
      await new Promise<void>((resolve) => this.#wakeProducers.push(resolve));
    }
    if (this.#closed) return false;
    this.#items.push(item);
    this.#wakeConsumer?.();
    return true;
  }

  /** Ends the channel: the consumer gets what is queued, then the end (or `error`, if given). */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#wakeConsumer?.();
    for (const wake of this.#wakeProducers.splice(0)) wake();
  }

  /** Yields items until the channel is closed and drained; throws the close error if any. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.#items.length > 0) {
          const item = this.#items.shift()!;
          this.#wakeProducers.shift()?.();
          yield item;
          continue;
        }
        if (this.#closed) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
        this.#wakeConsumer = undefined;
      }
    } finally {
      // The consumer left: release producers.
      this.close();
    }
  }
}
