/**
 * Limits how many new rooms one address may make. A room is cheap to make
 * and outlives its maker once it has a topic or history, and the rooms share
 * one cap (`--max-rooms`): without a limit one stranger could take every
 * free place in a few seconds. The limit is a count within a sliding window,
 * kept for a bounded number of addresses, as guesses.ts keeps wrong passwords.
 *
 * @module
 */

import { MAX_ADDRESSES } from "./guesses.ts";

/** New rooms one address may make within {@linkcode NEW_ROOMS_WINDOW_MS}: a person makes a few. */
export const NEW_ROOMS_PER_ADDRESS = 10;

/** The window the count is over: an hour, so that ten rooms are a tenth of the default cap. */
export const NEW_ROOMS_WINDOW_MS = 60 * 60_000;

/**
 * New rooms by address, bounded in size: at most `limit` within any
 * `windowMs`, counted only when a room is made.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RoomQuota } from "./room_quota.ts";
 *
 * const quota = new RoomQuota(2, 1000);
 * quota.take("192.0.2.7", 0);
 * quota.take("192.0.2.7", 10);
 * assert.equal(quota.allows("192.0.2.7", 500), false);
 * assert.equal(quota.allows("192.0.2.8", 500), true);
 * assert.equal(quota.allows("192.0.2.7", 1000), true);
 * ```
 */
export class RoomQuota {
  /** When each address made its newest rooms, oldest first; at most `limit` times each. */
  readonly #made = new Map<string, number[]>();

  /** At most `limit` new rooms an address within `windowMs` milliseconds. */
  constructor(
    readonly limit: number = NEW_ROOMS_PER_ADDRESS,
    readonly windowMs: number = NEW_ROOMS_WINDOW_MS,
  ) {}

  /** Addresses remembered now. */
  get size(): number {
    return this.#made.size;
  }

  /** Whether `address` may make a room at `now` (milliseconds); counts nothing. */
  allows(address: string, now: number): boolean {
    const times = this.#made.get(address);
    if (times === undefined || times.length < this.limit) return true;
    return now - (times[0] as number) >= this.windowMs;
  }

  /** Counts a room `address` made at `now`. */
  take(address: string, now: number): void {
    const times = this.#made.get(address) ?? [];
    times.push(now);
    if (times.length > this.limit) times.shift();
    // Newest last, so that the address quiet longest is first to go when the table is full.
    this.#made.delete(address);
    this.#made.set(address, times);
    if (this.#made.size > MAX_ADDRESSES) {
      this.#made.delete(this.#made.keys().next().value as string);
    }
  }
}
