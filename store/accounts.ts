/**
 * Accounts and the messages kept for them, in the data file: the store's
 * {@linkcode AccountBook}. Unlike rooms' lines, which are batched, each
 * change is written at once in its own statement: registrations, logins and
 * kept messages are few, and a registration must not be lost to a crash a
 * moment after the member was told it is done.
 *
 * A name is stored with its two keys ({@linkcode nameKeys}), each unique,
 * so that a lookalike finds the account in one indexed query.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Account, AccountBook, KeptMessage, KeptStore } from "../core/account_book.ts";
import { nameKeys } from "../protocol.ts";

/** The tables, as schema 2 added them to the data file. */
export const ACCOUNTS_SCHEMA = `
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    typed_key TEXT NOT NULL UNIQUE,
    lower_key TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    registered_ms INTEGER NOT NULL
  );
  CREATE TABLE kept (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    at_ms INTEGER NOT NULL
  );
  CREATE INDEX kept_by_account ON kept (account, id);
`;

/** The statements, prepared once. */
function prepare(db: DatabaseSync) {
  return {
    count: db.prepare("SELECT count(*) AS n FROM accounts"),
    find: db.prepare(
      "SELECT name, hash, registered_ms FROM accounts WHERE typed_key = ? OR lower_key = ?" +
        " OR typed_key = ? OR lower_key = ? LIMIT 1",
    ),
    names: db.prepare("SELECT name FROM accounts ORDER BY id LIMIT ?"),
    add: db.prepare(
      "INSERT INTO accounts (name, typed_key, lower_key, hash, registered_ms) VALUES (?, ?, ?, ?, ?)",
    ),
    setHash: db.prepare("UPDATE accounts SET hash = ? WHERE name = ?"),
    remove: db.prepare("DELETE FROM accounts WHERE name = ?"),
    removeKept: db.prepare("DELETE FROM kept WHERE account = ?"),
    keep: db.prepare("INSERT INTO kept (account, sender, text, at_ms) VALUES (?, ?, ?, ?)"),
    kept: db.prepare("SELECT sender, text, at_ms FROM kept WHERE account = ? ORDER BY id"),
    forget: db.prepare("DELETE FROM kept WHERE account = ? AND at_ms < ?"),
    forgetAll: db.prepare("DELETE FROM kept WHERE at_ms < ?"),
  };
}

/** Accounts in the data file: see the module's description. */
export class StoredAccounts implements AccountBook, KeptStore {
  readonly lasting = true;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #isOpen: () => boolean;

  /** Accounts in `db`, whose schema has the tables already; nothing is done once `isOpen` is false. */
  constructor(db: DatabaseSync, isOpen: () => boolean) {
    this.#sql = prepare(db);
    this.#isOpen = isOpen;
  }

  get count(): number {
    if (!this.#isOpen()) return 0;
    return Number(this.#sql.count.get()?.n ?? 0);
  }

  find(name: string): Account | undefined {
    if (!this.#isOpen()) return undefined;
    const [typed, lower] = nameKeys(name);
    // Either key of the name against either key stored: as sameName compares them.
    const row = this.#sql.find.get(typed, lower, lower, typed);
    if (row === undefined) return undefined;
    return {
      name: String(row.name),
      hash: String(row.hash),
      registeredAt: Number(row.registered_ms),
    };
  }

  names(limit: number): string[] {
    if (!this.#isOpen()) return [];
    return this.#sql.names.all(limit).map((row) => String(row.name));
  }

  add(account: Account): void {
    if (!this.#isOpen()) return;
    const [typed, lower] = nameKeys(account.name);
    this.#sql.add.run(account.name, typed, lower, account.hash, account.registeredAt);
  }

  setHash(name: string, hash: string): void {
    if (this.#isOpen()) this.#sql.setHash.run(hash, name);
  }

  remove(name: string): void {
    if (!this.#isOpen()) return;
    this.#sql.remove.run(name);
    this.#sql.removeKept.run(name);
  }

  keep(to: string, message: KeptMessage): void {
    if (this.#isOpen()) this.#sql.keep.run(to, message.from, message.text, message.at);
  }

  kept(to: string): KeptMessage[] {
    if (!this.#isOpen()) return [];
    return this.#sql.kept.all(to).map((row) => ({
      from: String(row.sender),
      text: String(row.text),
      at: Number(row.at_ms),
    }));
  }

  forgetKept(to: string | null, before: number): void {
    if (!this.#isOpen()) return;
    if (to === null) this.#sql.forgetAll.run(before);
    else this.#sql.forget.run(to, before);
  }
}
