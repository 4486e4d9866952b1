/**
 * Where accounts live, as the core sees them: {@linkcode AccountBook} holds
 * the accounts (name, password hash, when registered), {@linkcode KeptStore}
 * the private messages kept for them while they are away.
 * {@linkcode MemoryAccounts} keeps both in memory, until the server stops;
 * the store (store/accounts.ts) keeps them in the data file; on a cluster,
 * shared_accounts.ts keeps them in the cluster. Names are found as the chat
 * finds them: a name and its lookalikes ({@linkcode sameName}) are one
 * account.
 *
 * Lookups are synchronous: the core asks whether a name is registered while
 * it names a connection, and a lookup in memory or in SQLite is quick (a
 * cluster's process keeps a copy). A change may be asynchronous: a cluster's
 * is done once Redis has it.
 *
 * @module
 */

import { nameKeys } from "../protocol.ts";

/** One account. */
export interface Account {
  /** Its name as registered (and shown). */
  name: string;
  /** The password's hash with its parameters (see passwords.ts); never the password. */
  hash: string;
  /** When it was registered, in milliseconds since the epoch. */
  registeredAt: number;
}

/** A private message kept for an account that was away. */
export interface KeptMessage {
  /** Who sent it, by the name it had then. */
  from: string;
  text: string;
  /** When it was sent, in milliseconds since the epoch. */
  at: number;
}

/** Where accounts live: see the module's description. */
export interface AccountBook {
  /** Whether accounts outlive the server (a data file) or are gone when it stops. */
  readonly lasting: boolean;
  /** How many accounts there are. */
  readonly count: number;
  /** The account called `name`, or one whose name counts as the same. */
  find(name: string): Account | undefined;
  /** The first `limit` account names, in the order they were registered. */
  names(limit: number): string[];
  /** Adds an account; its name counts as no other's (the caller made sure). */
  add(account: Account): void | Promise<void>;
  /** Gives the account called exactly `name` a new hash. */
  setHash(name: string, hash: string): void | Promise<void>;
  /** Deletes the account called exactly `name`, with its kept messages. */
  remove(name: string): void | Promise<void>;
}

/** Where the messages kept for accounts live, in one process: see the module's description. */
export interface KeptStore {
  /** Keeps a message for the account called exactly `to`. */
  keep(to: string, message: KeptMessage): void;
  /** The messages kept for the account called exactly `to`, oldest first. */
  kept(to: string): KeptMessage[];
  /** Forgets the messages kept for `to` (every account when null) sent before `before`. */
  forgetKept(to: string | null, before: number): void;
}

/** Accounts and their kept messages in one process: in memory or in the data file. */
export type LocalAccountBook = AccountBook & KeptStore;

/**
 * Accounts in memory, gone when the server stops.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const book = new MemoryAccounts();
 * book.add({ name: "alice", hash: "h", registeredAt: 0 });
 * assert.equal(book.find("ALICE")?.name, "alice");
 * ```
 */
export class MemoryAccounts implements AccountBook, KeptStore {
  readonly lasting = false;
  /** Accounts by every key of their names (see {@linkcode nameKeys}). */
  readonly #byKey = new Map<string, Account>();
  /** Accounts by exact name, in the order they were registered. */
  readonly #byName = new Map<string, Account>();
  readonly #kept = new Map<string, KeptMessage[]>();

  get count(): number {
    return this.#byName.size;
  }

  find(name: string): Account | undefined {
    for (const key of nameKeys(name)) {
      const account = this.#byKey.get(key);
      if (account !== undefined) return account;
    }
    return undefined;
  }

  names(limit: number): string[] {
    return [...this.#byName.keys()].slice(0, limit);
  }

  add(account: Account): void {
    this.#byName.set(account.name, { ...account });
    for (const key of nameKeys(account.name)) {
      this.#byKey.set(key, this.#byName.get(account.name) as Account);
    }
  }

  setHash(name: string, hash: string): void {
    const account = this.#byName.get(name);
    if (account !== undefined) account.hash = hash;
  }

  remove(name: string): void {
    if (!this.#byName.delete(name)) return;
    for (const key of nameKeys(name)) this.#byKey.delete(key);
    this.#kept.delete(name);
  }

  keep(to: string, message: KeptMessage): void {
    const list = this.#kept.get(to) ?? [];
    list.push({ ...message });
    this.#kept.set(to, list);
  }

  kept(to: string): KeptMessage[] {
    return [...(this.#kept.get(to) ?? [])];
  }

  forgetKept(to: string | null, before: number): void {
    for (const name of to === null ? [...this.#kept.keys()] : [to]) {
      const list = (this.#kept.get(name) ?? []).filter((message) => message.at >= before);
      if (list.length > 0) this.#kept.set(name, list);
      else this.#kept.delete(name);
    }
  }
}
