/**
 * Private messages kept for an account while its owner is away, within
 * limits: at most {@linkcode MAX_KEPT} for one account and
 * {@linkcode MAX_KEPT_PER_SENDER} of them from one sender, each for
 * {@linkcode KEPT_FOR_MS}. They are handed over, oldest first, when the owner
 * logs in. {@linkcode Mailbox} keeps them in one process
 * ({@linkcode KeptStore}); a cluster's are in Redis (shared_accounts.ts).
 *
 * @module
 */

import type { KeptMessage, KeptStore } from "./account_book.ts";
import { sameName } from "../protocol.ts";

/** Messages kept for one account: enough for a weekend away, not a way to fill the disk. */
export const MAX_KEPT = 100;
/** Messages kept for one account from one sender, so that one sender cannot fill a mailbox. */
export const MAX_KEPT_PER_SENDER = 20;
/** How long a message is kept: 30 days. */
export const KEPT_FOR_MS = 30 * 24 * 60 * 60_000;

/** The accounts' mailboxes, wherever they are kept. */
export interface Mailboxes {
  /** Keeps `text` from `from` for the account `to`; false when its mailbox is full for that sender. */
  keep(to: string, from: string, text: string): boolean | Promise<boolean>;
  /** The messages kept for `to` and not yet too old, oldest first; they are no longer kept. */
  take(to: string): KeptMessage[] | Promise<KeptMessage[]>;
}

/** The accounts' mailboxes in one process: see the module's description. */
export class Mailbox implements Mailboxes {
  readonly #book: KeptStore;

  /** Mailboxes in `book`; messages already too old are forgotten now. */
  constructor(book: KeptStore, now: number = Date.now()) {
    this.#book = book;
    book.forgetKept(null, now - KEPT_FOR_MS);
  }

  /** Keeps `text` from `from` for the account `to`; false when its mailbox is full for that sender. */
  keep(to: string, from: string, text: string, now: number = Date.now()): boolean {
    const book = this.#book;
    book.forgetKept(to, now - KEPT_FOR_MS);
    const kept = book.kept(to);
    const fromSender = kept.filter((message) => sameName(message.from, from)).length;
    if (kept.length >= MAX_KEPT || fromSender >= MAX_KEPT_PER_SENDER) return false;
    book.keep(to, { from, text, at: now });
    return true;
  }

  /** The messages kept for `to` and not yet too old, oldest first; they are no longer kept. */
  take(to: string, now: number = Date.now()): KeptMessage[] {
    const book = this.#book;
    const kept = book.kept(to).filter((message) => message.at >= now - KEPT_FOR_MS);
    book.forgetKept(to, Number.MAX_SAFE_INTEGER);
    return kept;
  }
}

/** `[12-06 14:02]`: when a kept message was sent, on the server's clock. */
export function keptTime(at: number): string {
  const date = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `[${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}]`;
}
