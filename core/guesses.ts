/**
 * Limits how fast one address may guess a password. The first few guesses
 * are free; after that each wrong one makes the address wait longer before
 * its next guess, up to a ceiling, so that an address gets a handful of
 * guesses a minute however many connections it opens at once.
 *
 * @module
 */

/** Wrong guesses an address may make before it has to wait. */
export const FREE_GUESSES = 3;
/** The first wait; each further wrong guess doubles it. */
export const FIRST_WAIT_MS = 5_000;
/** The longest wait: a person who mistyped is never shut out for long. */
export const MAX_WAIT_MS = 60_000;
/** An address that has not guessed wrong for this long starts afresh. */
export const FORGET_AFTER_MS = 15 * 60_000;
/** Addresses remembered at once; the one that guessed longest ago goes first. */
export const MAX_ADDRESSES = 10_000;

/** One address's wrong guesses, and when it may guess next. */
interface Record {
  wrong: number;
  nextAt: number;
  lastAt: number;
}

/**
 * Wrong guesses by address, bounded in size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const guesses = new GuessLimiter();
 * for (let i = 0; i < 3; i++) assert.equal(guesses.take("192.0.2.7", 0), 0);
 * assert.equal(guesses.take("192.0.2.7", 0), 5000);
 * ```
 */
export class GuessLimiter {
  readonly #records = new Map<string, Record>();

  /** Addresses remembered now. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Asks whether `address` may guess at `now` (milliseconds). Returns 0 and
   * counts the guess as wrong until {@linkcode GuessLimiter.right} says
   * otherwise, or returns how many milliseconds the address must still wait.
   * A guess is counted when it is made, not when it is judged, so that many
   * guesses sent at once cannot all get through before the first is judged.
   */
  take(address: string, now: number): number {
    let record = this.#records.get(address);
    if (record !== undefined && now - record.lastAt > FORGET_AFTER_MS) record = undefined;
    if (record !== undefined && now < record.nextAt) return record.nextAt - now;
    record ??= { wrong: 0, nextAt: 0, lastAt: 0 };
    record.wrong++;
    record.lastAt = now;
    record.nextAt = now + waitAfter(record.wrong);
    // Newest last, so that the oldest is first to go when the table is full.
    this.#records.delete(address);
    this.#records.set(address, record);
    if (this.#records.size > MAX_ADDRESSES) {
      this.#records.delete(this.#records.keys().next().value as string);
    }
    return 0;
  }

  /** Forgets an address's wrong guesses: it knew the password. */
  right(address: string): void {
    this.#records.delete(address);
  }
}

/** How long an address waits after its `wrong`-th wrong guess. */
function waitAfter(wrong: number): number {
  if (wrong < FREE_GUESSES) return 0;
  return Math.min(FIRST_WAIT_MS * 2 ** (wrong - FREE_GUESSES), MAX_WAIT_MS);
}
