/**
 * Deadlines that are all the same length, under one timer: idle connections
 * are many, and a timer each adds up.
 *
 * @module
 */

/**
 * Connections that each have the same time to do something, under one timer
 * for all of them: idle connections are many. Since the limit is the same,
 * they expire in the order they were added.
 */
export class Deadlines<K> {
  /** Each waiting connection and when its time is up, oldest first. */
  readonly #waiting = new Map<K, number>();
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** Deadlines `ms` from when each is added; `onExpired` hears of each that passes. */
  constructor(readonly ms: number, readonly onExpired: (key: K) => void) {}

  /** Starts a connection's time. */
  add(key: K): void {
    this.#waiting.set(key, Math.ceil(performance.now()) + this.ms);
    this.#arm();
  }

  /** Stops a connection's time: it did what it had to, or it is gone. */
  delete(key: K): void {
    if (!this.#waiting.delete(key) || this.#waiting.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sets the timer for the oldest deadline, unless it is set or none is left. */
  #arm(): void {
    const oldest = this.#waiting.values().next();
    if (this.#timer !== undefined || oldest.done) return;
    this.#timer = setTimeout(this.#expire, Math.max(0, oldest.value - performance.now()));
  }

  #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [key, deadline] of this.#waiting) {
      if (deadline > now) break;
      this.#waiting.delete(key);
      this.onExpired(key);
    }
    this.#arm();
  };
}
