/**
 * Which connections the web server reads, and which it turns away: it counts
 * the requests under way, in all and per address, with no sockets. A
 * connection is let in while fewer than `maxPending` requests are under way
 * and fewer than `maxPerIp` from its address; beyond that it is refused
 * (503, or 429 for its address), and an address whose refusals, still open,
 * reach `maxPerIp` too has its further connections closed unanswered, so
 * that refusing costs no more than serving would.
 *
 * ```ts
 * import { Admission } from "./web_admission.ts";
 * const admission = new Admission({ maxPending: 10, maxPerIp: 1 });
 * const first = admission.admit("192.0.2.1");
 * console.assert(first?.refusal === null);
 * console.assert(admission.admit("192.0.2.1")?.refusal?.status === 429);
 * console.assert(admission.admit("192.0.2.1") === null); // closed unanswered
 * admission.release(first!);
 * ```
 *
 * @module
 */

import { checkInteger } from "./net_helpers.ts";
import { isLoopback } from "../core/session.ts";

/**
 * Connections under way at once (sending their request or getting their
 * response) when the owner sets no other limit: each holds a descriptor and
 * at most `MAX_HEAD_BYTES` of head, and a page load needs a few.
 */
export const MAX_PENDING = 256;

/** Why a connection is turned away before it is read, and what it is told. */
export interface Refusal {
  /** The response's status. */
  readonly status: number;
  /** The response's body, as text. */
  readonly body: string;
  /** For the log. */
  readonly why: string;
}

/** Its address has `maxPerIp` requests under way already. */
const PER_ADDRESS_REFUSAL: Refusal = {
  status: 429,
  body: "Too many requests under way from your address; try again in a moment.\n",
  why: "too many requests under way from this address",
};

/** The server has `maxPending` requests under way already. */
const SERVER_REFUSAL: Refusal = {
  status: 503,
  body: "The server has too many requests under way; try again in a moment.\n",
  why: "too many requests under way",
};

/** What one address has under way, when it is held to the per-address limit. */
export interface AddressCount {
  /** The address. */
  readonly address: string;
  /** Its connections under way: sending their request or getting the response. */
  requests: number;
  /** Its connections still getting a refusal. */
  refusals: number;
  /** Whether the log said that its further connections are closed without a response. */
  silenced: boolean;
}

/** What an admitted connection counts as, until {@linkcode Admission.release} gives it back. */
export interface Ticket {
  /** The refusal it is to get, or null: its request is read. */
  readonly refusal: Refusal | null;
  /** Its address's counts, when the address is held to the per-address limit. */
  readonly from: AddressCount | null;
  /** What it counts as until it is closed or upgraded; null once it counts no more. */
  holds: "request" | "refusal" | null;
}

/** Settings of an {@linkcode Admission}. */
export interface AdmissionOptions {
  /** Requests under way at once, at most. @default {256} */
  maxPending?: number;
  /** Requests under way from one address, at most; loopback is exempt unless `limitLoopback`. @default {Infinity} */
  maxPerIp?: number;
  /** Holds loopback addresses to `maxPerIp` too. @default {false} */
  limitLoopback?: boolean;
  /** Receives a line when an address's further connections start being closed unanswered. */
  log?(event: string): void;
}

/** Counts the requests under way, in all and per address, and decides whom to let in. */
export class Admission {
  readonly #maxPending: number;
  readonly #maxPerIp: number;
  readonly #limitLoopback: boolean;
  readonly #log: ((event: string) => void) | undefined;
  /** The requests under way, which `maxPending` bounds. */
  #requests = 0;
  /** What each address held to the per-address limit has under way; none, it is not here. */
  readonly #perAddress = new Map<string, AddressCount>();

  /** Checks the limits. */
  constructor(options: AdmissionOptions = {}) {
    this.#maxPending = checkInteger("maxPending", options.maxPending ?? MAX_PENDING, 1);
    this.#maxPerIp = options.maxPerIp === undefined
      ? Infinity
      : checkInteger("maxPerIp", options.maxPerIp, 1);
    this.#limitLoopback = options.limitLoopback ?? false;
    this.#log = options.log;
  }

  /**
   * Counts a connection from `ip`: its ticket says whether it is read or
   * refused, and what it holds until it is released. Null when it is to be
   * closed unanswered (it holds nothing).
   */
  admit(ip: string): Ticket | null {
    const from = this.#limitLoopback || !isLoopback(ip) ? this.#countOf(ip) : null;
    const refusal = from !== null && from.requests >= this.#maxPerIp
      ? PER_ADDRESS_REFUSAL
      : this.#requests >= this.#maxPending
      ? SERVER_REFUSAL
      : null;
    if (refusal !== null && from !== null && from.refusals >= this.#maxPerIp) {
      // Its refusals take as much as its requests may already: this one costs nothing more.
      if (!from.silenced) {
        from.silenced = true;
        this.#log?.(`${ip} refused: ${refusal.why}; closing its further connections unanswered`);
      }
      return null;
    }
    if (refusal !== null) {
      if (from !== null) from.refusals++;
    } else {
      this.#requests++;
      if (from !== null) from.requests++;
    }
    return { refusal, from, holds: refusal === null ? "request" : "refusal" };
  }

  /** Gives back what a ticket counts as: its connection was closed or upgraded. Safe to call twice. */
  release(ticket: Ticket): void {
    const from = ticket.from;
    if (ticket.holds === "request") {
      this.#requests--;
      if (from !== null) from.requests--;
    } else if (ticket.holds === "refusal" && from !== null) {
      from.refusals--;
    }
    ticket.holds = null;
    if (from !== null && from.requests === 0 && from.refusals === 0) {
      this.#perAddress.delete(from.address);
    }
  }

  /** The counts of an address held to the per-address limit, made when it has none. */
  #countOf(address: string): AddressCount {
    let count = this.#perAddress.get(address);
    if (count === undefined) {
      count = { address, requests: 0, refusals: 0, silenced: false };
      this.#perAddress.set(address, count);
    }
    return count;
  }
}
