/**
 * Names people own: `/register`, `/login`, `/password`, `/unregister`,
 * `/whois`, and the operators' `/accounts` and `/drop`. A registered name is
 * taken while its owner is away (naming.ts and renames.ts ask
 * {@linkcode Accounts.reservedFor}); a private message to an owner who is
 * away is kept for the next login (mailbox.ts). Passwords are hashed off the
 * event loop (passwords.ts) and never written anywhere, the log included.
 * On a cluster the accounts and mailboxes are the cluster's
 * (shared_accounts.ts), and a login takes its name over from any process.
 *
 * @module
 */

import type { Account, AccountBook, LocalAccountBook } from "./account_book.ts";
import { isLoopback } from "./addresses.ts";
import { describe } from "./helpers.ts";
import type { Hub } from "./hub.ts";
import { GuessLimiter } from "./guesses.ts";
import type { ChatCluster } from "./cluster_port.ts";
import { listAccounts, takeOverInCluster, whois } from "./account_info.ts";
import { keptTime, Mailbox, type Mailboxes } from "./mailbox.ts";
import { plainAddress } from "./moderation.ts";
import {
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  needsRehash,
  passwordLength,
  SCRYPT_COST,
  verifyPassword,
} from "./passwords.ts";
import { DEFAULT_NAME, nameKeys, sameName, WRONG_PASSWORD_DELAY_MS } from "../protocol.ts";
import { RoomQuota } from "./room_quota.ts";
import { roomsOf } from "./seats.ts";
import { type Member, pauseReading } from "./session.ts";
import { ClusterMailbox, SharedAccounts } from "./shared_accounts.ts";

/** Registrations one address may make in {@linkcode REGISTRATION_WINDOW_MS}. */
export const REGISTRATIONS_PER_ADDRESS = 3;
/** The window of {@linkcode REGISTRATIONS_PER_ADDRESS}: a day. */
export const REGISTRATION_WINDOW_MS = 24 * 60 * 60_000;
/** Accounts a server takes by default (`--max-accounts`). */
export const MAX_ACCOUNTS = 10_000;

/** The account commands, which {@linkcode Accounts.run} runs. */
export type AccountCommand =
  | "register"
  | "login"
  | "password"
  | "unregister"
  | "whois"
  | "accounts"
  | "drop";

/** What {@linkcode Accounts} is given. */
export interface AccountsOptions {
  /** Where the accounts live, until the chat joins a cluster. */
  book: LocalAccountBook;
  /** Accounts at most (`--max-accounts`). */
  maxAccounts: number;
  /** Whether loopback addresses count toward the registrations an address may make. */
  limitLoopback: boolean;
  /** Ends a connection whose `leaving` is set (a login elsewhere took it over). */
  leave: (member: Member) => void;
  /** scrypt's cost for new hashes; tests lower it. */
  hashCost?: number;
}

/** Splits `a b` at the first space. */
function firstWord(rest: string): [string, string] {
  const space = rest.indexOf(" ");
  return space === -1 ? [rest, ""] : [rest.slice(0, space), rest.slice(space + 1)];
}

/** Whether `name` is one the server makes up (`guest`, `guest2`, …), which cannot be registered. */
function isGuestName(name: string): boolean {
  const lower = name.normalize("NFKC").toLowerCase();
  return lower.startsWith(DEFAULT_NAME) && /^\d*$/.test(lower.slice(DEFAULT_NAME.length));
}

/** Accounts and what members do with them: see the module's description. */
/** The lines that tell a member the messages kept for it while it was away. */
function keptLines(kept: readonly { at: number; from: string; text: string }[]): string[] {
  return [
    `* ${kept.length} ${kept.length === 1 ? "message" : "messages"} while you were away:`,
    ...kept.map((message) => `${keptTime(message.at)} (private) ${message.from}: ${message.text}`),
    "* End of messages while you were away",
  ];
}

export class Accounts {
  readonly #hub: Hub;
  #book: AccountBook;
  #mailbox: Mailboxes;
  readonly #options: AccountsOptions;
  /** Wrong passwords by address and by account, so that guessing is slow either way. */
  readonly #guessesByAddress = new GuessLimiter();
  readonly #guessesByAccount = new GuessLimiter();
  readonly #registrations = new RoomQuota(REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW_MS);

  /** Accounts of `hub`'s members, kept in `options.book`. */
  constructor(hub: Hub, options: AccountsOptions) {
    this.#hub = hub;
    this.#book = options.book;
    this.#mailbox = new Mailbox(options.book);
    this.#options = options;
  }

  /** From now on the accounts and their mailboxes are `cluster`'s: every process's. */
  async joinCluster(cluster: ChatCluster): Promise<void> {
    this.#book = new SharedAccounts(cluster, await cluster.loadAccounts());
    this.#mailbox = new ClusterMailbox(cluster);
  }

  /**
   * Takes on a change to the account called exactly `name` that a process
   * of the cluster made (this one too): deleted (`account` null), whoever is
   * logged in to it here is no longer.
   */
  changedInCluster(name: string, account: Account | null): void {
    if (this.#book instanceof SharedAccounts) this.#book.changed(name, account);
    if (account === null) this.#logOut(name);
  }

  /**
   * The registered name that `name` counts as, when `member` (if given) is
   * not logged in to it: the name is not theirs to take. Null when free.
   */
  reservedFor(name: string, member?: Member): string | null {
    const account = this.#book.find(name);
    if (account === undefined) return null;
    if (member?.account != null && sameName(member.account, account.name)) return null;
    return account.name;
  }

  /** What a member that asked for a registered name is told. */
  static reservedNotice(name: string): string {
    return `* ${name} is registered; /login ${name} PASSWORD to use it`;
  }

  /** `alice+` in `/who` for a member logged in to its account, else the name. */
  static shown(member: Member): string {
    return (member.name as string) + (member.account !== null ? "+" : "");
  }

  /** A member renamed itself to `name`: logged in no more, unless it is its account's name. */
  renamed(member: Member, name: string): void {
    if (member.account === null || sameName(member.account, name)) return;
    this.#hub.setAccount(member, null);
  }

  /**
   * A private message to `toName`, who is not connected: kept when it is an
   * account's name. Resolves with false when there is no such account.
   */
  async keepFor(from: Member, toName: string, text: string): Promise<boolean> {
    const account = this.#book.find(toName);
    if (account === undefined) return false;
    const hub = this.#hub;
    if (await this.#mailbox.keep(account.name, from.name as string, text)) {
      hub.tell(from, `* ${account.name} is away; your message will be delivered when they log in`);
    } else {
      hub.tell(from, `! ${account.name}'s mailbox is full`);
    }
    return true;
  }

  /** Runs an account command for `member`. */
  run(member: Member, command: AccountCommand, rest: string): void {
    switch (command) {
      case "whois":
        return whois(this.#hub, this.#book, member, rest.trim());
      case "accounts":
      case "drop":
        if (!member.serverOperator) {
          return this.#hub.tell(member, `! Only server operators can /${command}`);
        }
        if (command === "accounts") return listAccounts(this.#hub, this.#book, member);
    }
    const done = (() => {
      switch (command) {
        case "register":
          return this.#register(member, rest);
        case "login":
          return this.#login(member, rest);
        case "password":
          return this.#changePassword(member, rest);
        case "unregister":
          return this.#unregister(member, rest);
        case "drop":
          return this.#drop(member, rest.trim());
      }
    })();
    member.busy = done.catch((error) => {
      this.#hub.log?.(`${member.label} /${command} failed: ${describe(error)}`);
      this.#hub.tell(member, `! /${command} failed; try again later`);
    });
  }

  /** The error for a password out of bounds, or null when it may be used. */
  #badPassword(password: string): string | null {
    // One word, so that `/password OLD NEW` can always be split.
    if (password.includes(" ")) return "! A password cannot contain spaces";
    const length = passwordLength(password);
    if (length < MIN_PASSWORD_LENGTH) {
      return `! Password too short (at least ${MIN_PASSWORD_LENGTH} characters)`;
    }
    if (length > MAX_PASSWORD_LENGTH) {
      return `! Password too long (at most ${MAX_PASSWORD_LENGTH} characters)`;
    }
    return null;
  }

  #hash(password: string): Promise<string> {
    return hashPassword(password, { cost: this.#options.hashCost });
  }

  /** `/register PASSWORD`. */
  async #register(member: Member, password: string): Promise<void> {
    const hub = this.#hub;
    const name = member.name as string;
    if (password === "") return hub.tell(member, "! Usage: /register PASSWORD");
    if (isGuestName(name)) {
      return hub.tell(member, "! Choose a name with /nick before you register");
    }
    const bad = this.#badPassword(password);
    if (bad !== null) return hub.tell(member, bad);
    const taken = () => this.#book.find(name) !== undefined;
    if (taken()) return hub.tell(member, `! ${name} is already registered`);
    const address = plainAddress(member.ip);
    const exempt = member.serverOperator || (!this.#options.limitLoopback && isLoopback(member.ip));
    if (!exempt && !this.#registrations.allows(address, performance.now())) {
      hub.log?.(`${member.peer} ${name} refused: too many registrations from ${address}`);
      return hub.tell(member, "! Too many registrations from your address; try again later");
    }
    const full = () => this.#book.count >= this.#options.maxAccounts;
    if (full()) return hub.tell(member, "! This server takes no more registrations");
    const hash = await this.#hash(password);
    if (member.closed || member.name !== name) return;
    // Asked again: another registration may have finished while this one hashed.
    if (taken()) return hub.tell(member, `! ${name} is already registered`);
    if (full()) return hub.tell(member, "! This server takes no more registrations");
    if (!exempt) this.#registrations.take(address, performance.now());
    await this.#book.add({ name, hash, registeredAt: Date.now() });
    if (member.closed || member.name !== name) return;
    hub.setAccount(member, name);
    hub.log?.(`${member.peer} ${name} registered`);
    hub.tell(
      member,
      this.#book.lasting
        ? `* Registered ${name}: only you can use this name from now on`
        : `* Registered ${name}: only you can use this name until the server restarts (it keeps no data)`,
    );
  }

  /**
   * Checks `password` against `account` with the guess limits; a wrong one
   * is answered after {@linkcode WRONG_PASSWORD_DELAY_MS}. True when right.
   */
  async #proves(member: Member, account: Account, password: string): Promise<boolean> {
    const hub = this.#hub;
    const now = performance.now();
    const key = nameKeys(account.name)[1];
    const waitAddress = this.#guessesByAddress.take(plainAddress(member.ip), now);
    const wait = waitAddress > 0 ? waitAddress : this.#guessesByAccount.take(key, now);
    if (wait > 0) {
      const whose = waitAddress > 0 ? "from your address" : `for ${account.name}`;
      hub.log?.(`${member.peer} ${member.label} refused: too many wrong passwords ${whose}`);
      hub.tell(
        member,
        `! Too many wrong passwords ${whose}; try again in ${Math.ceil(wait / 1000)} s`,
      );
      return false;
    }
    if (await verifyPassword(password, account.hash)) {
      this.#guessesByAddress.right(plainAddress(member.ip));
      this.#guessesByAccount.right(key);
      return true;
    }
    hub.log?.(`${member.peer} ${member.label} gave a wrong password for ${account.name}`);
    await pauseReading(member, WRONG_PASSWORD_DELAY_MS);
    hub.tell(member, `! Wrong password for ${account.name}`);
    return false;
  }

  /**
   * Logs a connection that has no name yet in to the account `typed` (IRC's
   * SASL), when `password` is its, within the guess limits: its name will
   * be the account's. Tells it nothing (its transport answers); true when
   * logged in.
   */
  async logInBeforeName(member: Member, typed: string, password: string): Promise<boolean> {
    const account = this.#book.find(typed);
    if (account === undefined || member.name !== null || member.account !== null) return false;
    if (passwordLength(password) > MAX_PASSWORD_LENGTH) return false;
    const now = performance.now();
    const key = nameKeys(account.name)[1];
    const address = plainAddress(member.ip);
    if (
      this.#guessesByAddress.take(address, now) > 0 || this.#guessesByAccount.take(key, now) > 0
    ) {
      this.#hub.log?.(`${member.peer} refused: too many wrong passwords (SASL)`);
      return false;
    }
    if (!await verifyPassword(password, account.hash)) {
      this.#hub.log?.(`${member.peer} gave a wrong password for ${account.name} (SASL)`);
      await pauseReading(member, WRONG_PASSWORD_DELAY_MS);
      return false;
    }
    this.#guessesByAddress.right(address);
    this.#guessesByAccount.right(key);
    if (member.closed || member.name !== null) return false;
    this.#rehashIfWeak(account, password);
    member.account = account.name;
    return true;
  }

  /**
   * A member that logged in before it had a name (see
   * {@linkcode Accounts.logInBeforeName}) was welcomed: it gets the messages
   * kept for it; a member that could not have its account's name (another
   * connection holds it) is logged in no more.
   */
  async welcomed(member: Member): Promise<void> {
    const name = member.account;
    if (name === null) return;
    if (!sameName(member.name as string, name)) {
      this.#hub.setAccount(member, null);
      this.#hub.tell(
        member,
        `! ${name} is in use; you are not logged in (/login ${name} PASSWORD)`,
      );
      return;
    }
    this.#hub.sharePresence(member);
    this.#hub.log?.(`${member.peer} ${name} logged in before naming (SASL)`);
    const kept = await this.#mailbox.take(name);
    if (member.closed || member.leaving !== null || kept.length === 0) return;
    this.#hub.tell(member, ...keptLines(kept));
  }

  /** `/login NAME PASSWORD`. */
  async #login(member: Member, rest: string): Promise<void> {
    const hub = this.#hub;
    const [typed, password] = firstWord(rest);
    if (typed === "" || password === "") return hub.tell(member, "! Usage: /login NAME PASSWORD");
    const account = this.#book.find(typed);
    if (account === undefined) return hub.tell(member, `! No such account: ${typed}`);
    if (passwordLength(password) > MAX_PASSWORD_LENGTH) {
      return hub.tell(member, `! Wrong password for ${account.name}`);
    }
    if (!await this.#proves(member, account, password)) return;
    if (member.closed || member.leaving !== null) return;
    const name = account.name;
    this.#rehashIfWeak(account, password);
    const old = member.name as string;
    // The owner wins: whoever holds the name (an older login, most likely) is closed.
    for (const other of [...hub.connections]) {
      if (other === member || other.name === null || other.leaving !== null) continue;
      const holds = sameName(other.name, name) ||
        (other.account !== null && sameName(other.account, name));
      if (!holds) continue;
      hub.tell(other, "* You logged in from elsewhere; closing this connection");
      other.leaving = "elsewhere";
      // Its name is released now, before the claim below: Redis does them in that order.
      this.#options.leave(other);
    }
    const cluster = hub.cluster;
    if (cluster !== null) {
      await takeOverInCluster(cluster, old, name);
      if (member.closed || member.leaving !== null || member.name !== old) return;
    }
    // Taken before anything is told, so that what follows is told in one turn, in one order
    // (on a cluster the room's rename comes back from Redis after it).
    const kept = await this.#mailbox.take(name);
    if (member.closed || member.leaving !== null || member.name !== old) return;
    member.account = name;
    hub.tell(member, `* Logged in as ${name}`);
    if (old !== name) {
      hub.rooms.rename(member, name);
      for (const room of roomsOf(member)) room.broadcast(`* ${old} is now known as ${name}`);
    }
    hub.sharePresence(member);
    hub.tellAccount(member);
    hub.log?.(`${member.peer} ${old} logged in as ${name}`);
    if (kept.length === 0) return;
    hub.tell(member, ...keptLines(kept));
  }

  /**
   * Hashes the password again, in the background, when its stored hash was
   * made with weaker parameters than today's: raising them upgrades each
   * account at its owner's next login.
   */
  #rehashIfWeak(account: Account, password: string): void {
    const cost = this.#options.hashCost ?? SCRYPT_COST;
    if (!needsRehash(account.hash, cost)) return;
    const stored = account.hash;
    void this.#hash(password).then(async (hash) => {
      // Changed meanwhile (a new password, or gone): that one stands.
      if (this.#book.find(account.name)?.hash !== stored) return;
      await this.#book.setHash(account.name, hash);
      this.#hub.log?.(`${account.name}'s password hash was made again with today's parameters`);
    }).catch((error) =>
      this.#hub.log?.(`${account.name}'s password hash was not made again: ${describe(error)}`)
    );
  }

  /** The account `member` is logged in to, or null after telling it that it is not. */
  #ownAccount(member: Member): Account | null {
    const account = member.account === null ? undefined : this.#book.find(member.account);
    if (account === undefined) {
      this.#hub.setAccount(member, null);
      this.#hub.tell(member, "! You are not logged in (/login NAME PASSWORD)");
      return null;
    }
    return account;
  }

  /** `/password OLD NEW`. */
  async #changePassword(member: Member, rest: string): Promise<void> {
    const hub = this.#hub;
    const [old, next] = firstWord(rest);
    if (old === "" || next === "") return hub.tell(member, "! Usage: /password OLD NEW");
    const account = this.#ownAccount(member);
    if (account === null) return;
    const bad = this.#badPassword(next);
    if (bad !== null) return hub.tell(member, bad);
    if (!await this.#proves(member, account, old)) return;
    const hash = await this.#hash(next);
    if (this.#book.find(account.name) === undefined) {
      return hub.tell(member, `! ${account.name} is no longer registered`);
    }
    await this.#book.setHash(account.name, hash);
    hub.log?.(`${member.peer} ${member.label} changed the password of ${account.name}`);
    hub.tell(member, "* Password changed");
  }

  /** `/unregister PASSWORD`. */
  async #unregister(member: Member, password: string): Promise<void> {
    const hub = this.#hub;
    if (password === "") return hub.tell(member, "! Usage: /unregister PASSWORD");
    const account = this.#ownAccount(member);
    if (account === null) return;
    if (!await this.#proves(member, account, password)) return;
    await this.#forget(account.name);
    hub.log?.(`${member.peer} ${member.label} unregistered ${account.name}`);
    hub.tell(member, `* ${account.name} is no longer registered`);
  }

  /** Deletes an account and logs out whoever is logged in to it. */
  async #forget(name: string): Promise<void> {
    await this.#book.remove(name);
    this.#logOut(name);
  }

  /** Whoever is logged in to the account `name` here is no longer. */
  #logOut(name: string): void {
    for (const other of this.#hub.connections) {
      if (other.account === null || !sameName(other.account, name)) continue;
      this.#hub.setAccount(other, null);
    }
  }

  /** `/drop NAME`. */
  async #drop(member: Member, typed: string): Promise<void> {
    const hub = this.#hub;
    if (typed === "") return hub.tell(member, "! Usage: /drop NAME");
    const account = this.#book.find(typed);
    if (account === undefined) return hub.tell(member, `! No such account: ${typed}`);
    await this.#forget(account.name);
    hub.log?.(`${member.label} dropped the account ${account.name}`);
    hub.tell(member, `* Account ${account.name} dropped`);
  }
}
