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
import { RoomModes } from "./room_modes.ts";

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

/** Options of a line sent to a room. */
export interface LineOptions<M> {
  /** A member who does not get it. */
  except?: M;
  /** Kept in the history, for newcomers. */
  public?: boolean;
  /** Whose line it is, to be told if it cannot be sent (in a cluster). */
  from?: M;
}

/**
 * Sends a room's line through the cluster instead of to the room's members:
 * every process, this one included, then delivers it ({@linkcode Room.deliver}).
 */
export type Relay<M> = (room: Room<M & Named>, text: string, options: LineOptions<M>) => void;

/** Compares two stream entry ids (`ms-seq`): negative when `a` comes first. */
function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/** The greeting for a newcomer's history replay, and its end. */
const HISTORY_START = "* Recent messages:\n";
const HISTORY_END = "* End of recent messages\n";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** When a line was said: the time in its cluster id (`ms-seq`), or now for one said here. */
function timeOf(id: string | undefined): number {
  const ms = id === undefined || id === "" ? NaN : Number(id.split("-")[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : Date.now();
}

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
  /** The cluster's id of each history line, when the room is part of one ("" otherwise). */
  readonly #historyIds: string[] = [];
  /** When each history line was said, in ms since the epoch (0: not known, a restart read it back). */
  readonly #historyTimes: number[] = [];
  /** Its modes (`+iklmnst`, bans) and the invitations it holds: see room_modes.ts. */
  readonly modes: RoomModes<M> = new RoomModes<M>();
  /** When it was made (here: a room a restart read back was made again then). */
  readonly created: Date = new Date();
  /** Sends broadcasts through the cluster; null delivers them here at once. */
  relay: Relay<M> | null = null;
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
      this.#historyIds.push("");
      this.#historyTimes.push(0);
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

  /**
   * Makes a connection a member called `name`; it gets broadcasts from now
   * on. An invitation it held to this room is used up.
   */
  add(member: M, name: string): void {
    member.name = name;
    this.modes.entered(member);
    this.#delivery.joined(member);
    this.members.add(member);
  }

  /**
   * Takes a member out of the room; false when it was not in it. It still
   * gets what was broadcast this turn before it left.
   */
  remove(member: M): boolean {
    if (!this.members.delete(member)) return false;
    this.modes.left(member);
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
  broadcast(text: string, options: LineOptions<M> = {}): void {
    if (this.relay !== null) this.relay(this, text, options);
    else this.deliver(text, options);
  }

  /**
   * Queues one line for every member here but `except`, now; a `public`
   * one goes into the history (`id`: its place in the cluster's order).
   */
  deliver(text: string, options: { except?: M; public?: boolean; id?: string } = {}): void {
    const line = encoder.encode(text + "\n");
    this.#delivery.broadcast(line, options.except);
    if (options.public && this.historyLines > 0) {
      if (this.#history.length === this.historyLines) {
        this.#history.shift();
        this.#historyIds.shift();
        this.#historyTimes.shift();
      }
      this.#history.push(line);
      this.#historyIds.push(options.id ?? "");
      this.#historyTimes.push(timeOf(options.id));
      this.#recorder?.addLine(this.name, text);
    }
  }

  /**
   * Puts the cluster's recent lines of this room (oldest first) before those
   * delivered here since it was made, each once, in the cluster's order.
   */
  prime(entries: readonly { id: string; text: string }[]): void {
    if (this.historyLines === 0) return;
    const seen = new Set(this.#historyIds);
    const lines: { id: string; line: Uint8Array; at: number }[] = entries
      .filter((entry) => !seen.has(entry.id))
      .map((entry) => ({
        id: entry.id,
        line: encoder.encode(entry.text + "\n"),
        at: timeOf(entry.id),
      }));
    this.#history.forEach((line, i) =>
      lines.push({
        id: this.#historyIds[i] as string,
        line,
        at: this.#historyTimes[i] as number,
      })
    );
    lines.sort((a, b) => compareIds(a.id, b.id));
    const kept = lines.slice(-this.historyLines);
    this.#history.splice(0, Infinity, ...kept.map((entry) => entry.line));
    this.#historyIds.splice(0, Infinity, ...kept.map((entry) => entry.id));
    this.#historyTimes.splice(0, Infinity, ...kept.map((entry) => entry.at));
  }

  /** The recent public lines, oldest first, with when each was said (0: not known). */
  historyWithTimes(): { text: string; at: number }[] {
    return this.#history.map((line, i) => ({
      text: decoder.decode(line.subarray(0, line.length - 1)),
      at: this.#historyTimes[i] as number,
    }));
  }

  /** Queues the recent public lines, as they were first sent, between two notices. */
  sendHistory(member: M): void {
    if (this.#history.length === 0) return;
    this.#delivery.send(member, encoder.encode(HISTORY_START));
    for (const line of this.#history) this.#delivery.send(member, line);
    this.#delivery.send(member, encoder.encode(HISTORY_END));
  }
}
