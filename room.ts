/**
 * A room: its named members in join order, its topic and operator, the recent
 * public lines, and delivery to all of them (names are server-wide: see
 * {@linkcode Rooms} in rooms.ts). It
 * knows nothing of sockets: members are {@linkcode Recipient}s with a name,
 * and their output goes to whatever link carries them.
 *
 * @module
 */

import { Delivery, Recipient } from "./delivery.ts";

export { Recipient };

/** A recipient that can be a member: it has a name once it joined. */
export interface Named extends Recipient {
  /** Its nickname while it is a member. */
  name: string | null;
}

/** Where rooms' lasting state is written (the data file), when there is one. */
export interface RoomRecorder {
  /** A public line of `room`, for its history. */
  addLine(room: string, line: string): void;
  /** The topic of `room`; null clears it. */
  setTopic(room: string, topic: string | null): void;
  /** That `room` exists. */
  addRoom(room: string): void;
  /** That `room` is gone, with its topic and history. */
  removeRoom(room: string): void;
}

/** The greeting for a newcomer's history replay, and its end. */
const HISTORY_START = "* Recent messages:\n";
const HISTORY_END = "* End of recent messages\n";

const encoder = new TextEncoder();

/**
 * A room's members, topic and history, and the delivery that reaches them.
 *
 * @example
 * ```ts ignore
 * const room = new Room("lobby", 262144, 20, (member) => console.log(member.name, "is too slow"));
 * room.add(member, "alice");
 * room.broadcast("alice: hi", { public: true });
 * ```
 */
export class Room<M extends Named> {
  /** Named members, in the order they joined. */
  readonly members: Set<M> = new Set();
  #topic: string | null = null;
  /** Its operators while they are connected: whoever created it, and whom they made so. */
  readonly operators: Set<M> = new Set();
  readonly #history: Uint8Array[] = [];
  readonly #delivery: Delivery<M>;
  readonly #recorder: RoomRecorder | null;

  /**
   * A room called `name` whose members may have `maxQueueBytes` waiting,
   * keeping `historyLines` lines; its topic and history also go to `recorder`.
   */
  constructor(
    readonly name: string,
    maxQueueBytes: number,
    readonly historyLines: number,
    onTooSlow: (member: M) => void,
    recorder: RoomRecorder | null = null,
  ) {
    this.#delivery = new Delivery(this.members, maxQueueBytes, onTooSlow);
    this.#recorder = recorder;
  }

  /** What `/topic` shows; a room with one outlives its last member. */
  get topic(): string | null {
    return this.#topic;
  }

  /** Sets the topic (null clears it), and records it. */
  set topic(topic: string | null) {
    this.#topic = topic;
    this.#recorder?.setTopic(this.name, topic);
  }

  /** Puts back the topic and history a restarted server read from its data file. */
  restore(topic: string | null, history: readonly string[]): void {
    this.#topic = topic;
    if (this.historyLines === 0) return;
    for (const line of history.slice(-this.historyLines)) {
      this.#history.push(encoder.encode(line + "\n"));
    }
  }

  /** Whether this turn holds all it may; see {@linkcode Delivery.turnFull}. */
  get turnFull(): boolean {
    return this.#delivery.turnFull;
  }

  /** Resolves in the next turn; see {@linkcode Delivery.nextTurn}. */
  nextTurn(): Promise<void> {
    return this.#delivery.nextTurn();
  }

  /** Makes a connection a member called `name`; it gets broadcasts from now on. */
  add(member: M, name: string): void {
    member.name = name;
    this.#delivery.joined(member);
    this.members.add(member);
  }

  /**
   * Takes a member out of the room; false when it was not in it. It still
   * gets what was broadcast this turn before it left.
   */
  remove(member: M): boolean {
    if (!this.members.delete(member)) return false;
    this.#delivery.left(member);
    return true;
  }

  /** Writes a member that left its part of this turn now, before another room's lines. */
  settle(member: M): void {
    this.#delivery.settle(member);
  }

  /** Whether it keeps recent lines: an empty room with none may go. */
  get hasHistory(): boolean {
    return this.#history.length > 0;
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
      this.#recorder?.addLine(this.name, text);
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
