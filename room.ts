/**
 * The room: the named members in join order, their names (unique by the
 * nickname rules), the recent public lines, and delivery to all of them. It
 * knows nothing of sockets: members are {@linkcode Recipient}s with a name,
 * and their output goes to whatever link carries them.
 *
 * @module
 */

import { Delivery, Recipient } from "./delivery.ts";
import { nameKeys } from "./protocol.ts";

export { Recipient };

/** A recipient that can be a member: it has a name once it joined. */
export interface Named extends Recipient {
  /** Its nickname while it is a member. */
  name: string | null;
}

/** The greeting for a newcomer's history replay, and its end. */
const HISTORY_START = "* Recent messages:\n";
const HISTORY_END = "* End of recent messages\n";

const encoder = new TextEncoder();

/**
 * The room's members, names and history, and the delivery that reaches them.
 *
 * @example
 * ```ts ignore
 * const room = new Room(262144, 20, (member) => console.log(member.name, "is too slow"));
 * room.add(member, "alice");
 * room.broadcast("alice: hi", { public: true });
 * ```
 */
export class Room<M extends Named> {
  /** Named members, in the order they joined. */
  readonly members: Set<M> = new Set();
  /** Each member under both of its {@linkcode nameKeys}; no two members share a key. */
  readonly #byKey = new Map<string, M>();
  readonly #history: Uint8Array[] = [];
  readonly #delivery: Delivery<M>;

  /** A room whose members may have `maxQueueBytes` waiting, keeping `historyLines` lines. */
  constructor(
    maxQueueBytes: number,
    readonly historyLines: number,
    onTooSlow: (member: M) => void,
  ) {
    this.#delivery = new Delivery(this.members, maxQueueBytes, onTooSlow);
  }

  /** Whether this turn holds all it may; see {@linkcode Delivery.turnFull}. */
  get turnFull(): boolean {
    return this.#delivery.turnFull;
  }

  /** Resolves in the next turn; see {@linkcode Delivery.nextTurn}. */
  nextTurn(): Promise<void> {
    return this.#delivery.nextTurn();
  }

  /** Whether a name, or one that counts as the same (by {@linkcode nameKeys}), is taken. */
  isTaken = (name: string): boolean => this.find(name) !== undefined;

  /** The member, other than `except`, called `name` or a name that counts as the same. */
  find(name: string, except?: M): M | undefined {
    for (const key of nameKeys(name)) {
      const member = this.#byKey.get(key);
      if (member !== undefined && member !== except) return member;
    }
    return undefined;
  }

  /** Makes a connection a member called `name`; it gets broadcasts from now on. */
  add(member: M, name: string): void {
    member.name = name;
    this.#delivery.joined(member);
    this.members.add(member);
    for (const key of nameKeys(name)) this.#byKey.set(key, member);
  }

  /** Gives a member a new name. */
  rename(member: M, name: string): void {
    for (const key of nameKeys(member.name as string)) this.#byKey.delete(key);
    member.name = name;
    for (const key of nameKeys(name)) this.#byKey.set(key, member);
  }

  /**
   * Takes a member out of the room; false when it was not in it. It still
   * gets what was broadcast this turn before it left.
   */
  remove(member: M): boolean {
    if (!this.members.delete(member)) return false;
    for (const key of nameKeys(member.name as string)) this.#byKey.delete(key);
    this.#delivery.left(member);
    return true;
  }

  /** Queues encoded lines for one connection, member or not. */
  sendBytes(recipient: M, lines: Uint8Array): void {
    this.#delivery.send(recipient, lines);
  }

  /** Queues lines for one connection, member or not. */
  sendTo(recipient: M, ...lines: string[]): void {
    this.#delivery.send(recipient, encoder.encode(lines.join("\n") + "\n"));
  }

  /**
   * Queues one line for every member but `except`; never waits for a link.
   * A `public` line is kept for newcomers.
   */
  broadcast(text: string, options: { except?: M; public?: boolean } = {}): void {
    const line = encoder.encode(text + "\n");
    this.#delivery.broadcast(line, options.except);
    if (options.public && this.historyLines > 0) {
      if (this.#history.length === this.historyLines) this.#history.shift();
      this.#history.push(line);
    }
  }

  /** Queues the recent public lines, as they were first sent, between two notices. */
  sendHistory(member: M): void {
    if (this.#history.length === 0) return;
    this.#delivery.send(member, encoder.encode(HISTORY_START));
    for (const line of this.#history) this.#delivery.send(member, line);
    this.#delivery.send(member, encoder.encode(HISTORY_END));
  }
}
