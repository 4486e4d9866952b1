/**
 * Accounts on a cluster: every process keeps a copy of the accounts, so
 * that asking whether a name is registered stays a quick lookup while a
 * connection is named, and each change goes to the cluster first (through
 * {@linkcode ChatCluster.saveAccount}) and reaches every copy as an
 * `account` event. The messages kept for accounts stay in the cluster
 * ({@linkcode ClusterMailbox}), so they are handed over on whichever process
 * the owner logs in.
 *
 * @module
 */

import { type Account, type AccountBook, MemoryAccounts } from "./account_book.ts";
import type { ChatCluster } from "./cluster_port.ts";
import { KEPT_FOR_MS, type Mailboxes, MAX_KEPT, MAX_KEPT_PER_SENDER } from "./mailbox.ts";
import type { KeptMessage } from "./account_book.ts";

/** The cluster's accounts, as this process knows them: see the module's description. */
export class SharedAccounts implements AccountBook {
  /** Redis keeps them for every process, whichever stops. */
  readonly lasting = true;
  readonly #cluster: ChatCluster;
  readonly #copy = new MemoryAccounts();

  /** The accounts of `cluster`, starting from `accounts` (as {@linkcode ChatCluster.loadAccounts} gave them). */
  constructor(cluster: ChatCluster, accounts: readonly Account[]) {
    this.#cluster = cluster;
    const byAge = [...accounts].sort((a, b) => a.registeredAt - b.registeredAt);
    for (const account of byAge) this.#copy.add(account);
  }

  get count(): number {
    return this.#copy.count;
  }

  find(name: string): Account | undefined {
    return this.#copy.find(name);
  }

  names(limit: number): string[] {
    return this.#copy.names(limit);
  }

  async add(account: Account): Promise<void> {
    await this.#cluster.saveAccount(account.name, account);
    this.changed(account.name, account);
  }

  async setHash(name: string, hash: string): Promise<void> {
    const account = this.#copy.find(name);
    if (account === undefined || account.name !== name) return;
    await this.#cluster.saveAccount(name, { ...account, hash });
    this.changed(name, { ...account, hash });
  }

  async remove(name: string): Promise<void> {
    await this.#cluster.saveAccount(name, null);
    this.changed(name, null);
  }

  /** Takes on a change to the account called exactly `name` that a process (this one too) made. */
  changed(name: string, account: Account | null): void {
    const known = this.#copy.find(name);
    if (account === null) {
      if (known?.name === name) this.#copy.remove(name);
    } else if (known?.name === name) {
      this.#copy.setHash(name, account.hash);
    } else {
      this.#copy.add(account);
    }
  }
}

/** The accounts' mailboxes in the cluster, within the limits {@linkcode Mailbox} keeps. */
export class ClusterMailbox implements Mailboxes {
  readonly #cluster: ChatCluster;

  /** Mailboxes kept by `cluster`. */
  constructor(cluster: ChatCluster) {
    this.#cluster = cluster;
  }

  keep(to: string, from: string, text: string): Promise<boolean> {
    const now = Date.now();
    return this.#cluster.keepMessage(to, { from, text, at: now }, {
      max: MAX_KEPT,
      perSender: MAX_KEPT_PER_SENDER,
      since: now - KEPT_FOR_MS,
      lifeMs: KEPT_FOR_MS,
    });
  }

  take(to: string): Promise<KeptMessage[]> {
    return this.#cluster.takeKept(to, Date.now() - KEPT_FOR_MS);
  }
}
