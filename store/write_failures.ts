/**
 * What the data file's failed writes are worth saying. A full disk fails
 * every batch, a few hundred a minute on a busy server: the log gets the
 * first failure at once, then at most one line a minute with how many
 * failed since, and one when writes work again; the operator is told when
 * the trouble starts and when it ends.
 *
 * @module
 */

/** How often a run of failures is logged: each line then stands for a minute's worth. */
export const REPORT_EVERY_MS = 60_000;

/** What to say about a write that just failed or succeeded; null fields say nothing. */
export interface FailureNews {
  /** A line for the log. */
  log: string | null;
  /** A line for the operator (the console). */
  alert: string | null;
}

const QUIET: FailureNews = { log: null, alert: null };

/**
 * The failed writes to one data file, counted between log lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WriteFailures } from "./write_failures.ts";
 *
 * const failures = new WriteFailures("chat.db");
 * assert.equal(failures.failed("database or disk is full", 0).alert,
 *   "Cannot write the data file chat.db: database or disk is full");
 * assert.equal(failures.failed("database or disk is full", 1000).log, null);
 * assert.equal(failures.succeeded(2000).alert, "The data file chat.db is written again");
 * ```
 */
export class WriteFailures {
  /** Whether the last write failed. */
  #failing = false;
  /** The reason the last write failed. */
  #reason = "";
  /** Failures since the last line logged. */
  #unreported = 0;
  /** When the last line was logged, in ms. */
  #reportedAt = 0;

  /** Failures of the data file `path`, as the messages name it. */
  constructor(readonly path: string) {}

  /** Whether the last write failed. */
  get failing(): boolean {
    return this.#failing;
  }

  /** A write failed at `now` (ms, any monotonic clock) for `reason`. */
  failed(reason: string, now: number): FailureNews {
    this.#reason = reason;
    if (!this.#failing) {
      this.#failing = true;
      this.#unreported = 0;
      this.#reportedAt = now;
      return {
        log: `Cannot save to data file ${this.path}: ${reason} (its last changes are lost)`,
        alert: `Cannot write the data file ${this.path}: ${reason}`,
      };
    }
    this.#unreported++;
    if (now - this.#reportedAt < REPORT_EVERY_MS) return QUIET;
    return { log: this.#summary(now), alert: null };
  }

  /** A write succeeded at `now`: news only when writes failed before it. */
  succeeded(now: number): FailureNews {
    if (!this.#failing) return QUIET;
    this.#failing = false;
    const count = this.#unreported === 0 ? "" : ` (${this.#count(now)})`;
    return {
      log: `Data file ${this.path} is written again${count}`,
      alert: `The data file ${this.path} is written again`,
    };
  }

  /** The line for failures not yet logged, at the end (the store closes); null if none. */
  closing(now: number): string | null {
    return this.#failing && this.#unreported > 0 ? this.#summary(now) : null;
  }

  /** The minute's line: the reason, and how many failed since the last line. */
  #summary(now: number): string {
    return `Cannot save to data file ${this.path}: ${this.#reason} (${this.#count(now)})`;
  }

  /** `12 more writes failed in 61 s; their changes are lost`, and starts counting afresh. */
  #count(now: number): string {
    const count = this.#unreported;
    const seconds = Math.round((now - this.#reportedAt) / 1000);
    this.#unreported = 0;
    this.#reportedAt = now;
    const writes = count === 1 ? "1 more write" : `${count} more writes`;
    return `${writes} failed in ${seconds} s; ${count === 1 ? "its" : "their"} changes are lost`;
  }
}
