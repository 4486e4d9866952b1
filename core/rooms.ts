/**
 * The rooms of a server and the names that are unique across all of them:
 * one hub creates a room on its first join and removes it when the last
 * member leaves (unless it has a topic), as ergo's ChannelManager does.
 * `#lobby` always exists and is where everyone starts. An empty room kept
 * for its topic or history gives way to a new one at the cap only when a
 * server operator makes it: nobody else can erase another's room.
 *
 * @module
 */

import { isSingleScript, nameKeys } from "../protocol.ts";
import { type Named, type Relay, Room, type RoomRecorder } from "./room.ts";

/** The room everyone starts in; it is never removed. */
export const LOBBY = "lobby";

/** Longest room name in characters: room names are typed, and listed in `/rooms`. */
export const MAX_ROOM_NAME_LENGTH = 32;

/** Rooms at once, `#lobby` included: each holds a delivery and history. */
export const MAX_ROOMS = 100;

/** A member that is in one room at a time. */
export interface Placed<M extends Named> extends Named {
  /** The room it is in; null until it has a name. */
  room: Room<M> | null;
}

const ROOM_NAME = /^[\p{L}\p{N}_.\-]+$/u;

/**
 * The room name typed as `typed` (`#` optional): by the nickname rules but
 * never cleaned, so null when any character is not a letter, digit, `_`,
 * `-` or `.`, when it is longer than {@linkcode MAX_ROOM_NAME_LENGTH} or
 * mixes scripts.
 */
export function roomName(typed: string): string | null {
  const name = (typed.startsWith("#") ? typed.slice(1) : typed).normalize("NFKC");
  if (!ROOM_NAME.test(name) || [...name].length > MAX_ROOM_NAME_LENGTH) return null;
  return isSingleScript(name) ? name : null;
}

/** The server's rooms and the member names, which are unique across them. */
export class Rooms<M extends Placed<M>> {
  /** Where everyone starts; it always exists. */
  readonly lobby: Room<M>;
  /** Each room under both {@linkcode nameKeys} of its name. */
  readonly #rooms = new Map<string, Room<M>>();
  /** Every room once, in the order they were made. */
  readonly #all: Room<M>[] = [];
  /** Each member under both of its {@linkcode nameKeys}; no two members share a key. */
  readonly #byKey = new Map<string, M>();
  #memberCount = 0;
  #relay: Relay<M> | null = null;
  /** Hears of an empty room removed at the cap to make a new one, for the log. */
  onEvicted: ((room: Room<M>) => void) | null = null;

  /**
   * Rooms at most `maxRooms` at once, each with the delivery and history
   * settings given; with a `recorder`, the rooms, their topics and history
   * are recorded, and an empty room with history stays as one with a topic does.
   */
  constructor(
    readonly maxRooms: number,
    readonly maxQueueBytes: number,
    readonly historyLines: number,
    readonly onTooSlow: (member: M) => void,
    readonly recorder: RoomRecorder | null = null,
  ) {
    this.lobby = this.#make(LOBBY);
  }

  /**
   * Puts back a room a restarted server read from its data file, with its
   * topic and history; one with neither is not kept. False when there is no
   * room left for it (the `#lobby` is always there: it only gets its own back).
   */
  restore(name: string, topic: string | null, history: readonly string[]): boolean {
    let room = this.get(name);
    if (room === undefined) {
      if (topic === null && (history.length === 0 || this.historyLines === 0)) {
        this.recorder?.removeRoom(name);
        return true;
      }
      if (this.#all.length >= this.maxRooms) return false;
      room = this.#make(name);
    }
    room.restore(topic, history);
    return true;
  }

  /** Sends every room's broadcasts through the cluster (see {@linkcode Relay}), from now on. */
  set relay(relay: Relay<M> | null) {
    this.#relay = relay;
    for (const room of this.#all) room.relay = relay;
  }

  /**
   * The room called `name`, made (empty, with no operator) if there is none
   * and there is room for it; null when there is not. At the cap an empty
   * room that holds nothing gives way; failing that, with `evictKept` (a
   * server operator makes it), the oldest empty room kept for its topic or
   * history does, and is gone with them.
   */
  ensure(name: string, evictKept = false): Room<M> | null {
    const room = this.get(name);
    if (room !== undefined) return room;
    if (this.#all.length >= this.maxRooms && !this.#evictEmpty(evictKept)) return null;
    return this.#make(name);
  }

  /** Named members in all rooms. */
  get memberCount(): number {
    return this.#memberCount;
  }

  /** How many rooms exist, `#lobby` included. */
  get size(): number {
    return this.#all.length;
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

  /** The room called `name` (as {@linkcode roomName} gives it) or one that counts as the same. */
  get(name: string): Room<M> | undefined {
    for (const key of nameKeys(name)) {
      const room = this.#rooms.get(key);
      if (room !== undefined) return room;
    }
    return undefined;
  }

  /** Every room, busiest first; rooms as busy stay in the order they were made. */
  busiestFirst(): Room<M>[] {
    return [...this.#all].sort((a, b) => b.members.size - a.members.size);
  }

  /** Makes a connection a member called `name`, in `#lobby`. */
  admit(member: M, name: string): void {
    for (const key of nameKeys(name)) this.#byKey.set(key, member);
    this.#memberCount++;
    this.#enter(member, this.lobby, name);
  }

  /** Gives a member a new name, wherever it is. */
  rename(member: M, name: string): void {
    for (const key of nameKeys(member.name as string)) this.#byKey.delete(key);
    member.name = name;
    for (const key of nameKeys(name)) this.#byKey.set(key, member);
  }

  /**
   * Moves a member to the room called `name`, made for it (it is its operator)
   * when there is none: the room it left, or null when there are
   * {@linkcode Rooms.maxRooms} already and none of them may give way (see
   * {@linkcode Rooms.ensure}; `evictKept` as there). What the old room sent
   * it this turn is written before anything the new one sends.
   */
  move(member: M, name: string, evictKept = false): Room<M> | null {
    const made = this.get(name) === undefined;
    const room = this.ensure(name, evictKept);
    if (room === null) return null;
    if (made) room.operators.add(member);
    const old = member.room as Room<M>;
    this.#leaveRoom(member, old);
    old.settle(member);
    this.#enter(member, room, member.name as string);
    return old;
  }

  /**
   * Takes a member out of its room and the names; false when it was not a
   * member. It still gets what its room sent this turn before it left.
   */
  remove(member: M): boolean {
    const room = member.room;
    if (room === null || !room.members.has(member)) return false;
    for (const key of nameKeys(member.name as string)) this.#byKey.delete(key);
    this.#memberCount--;
    this.#leaveRoom(member, room);
    // Its lines still go through that room's delivery, which keeps its turn.
    for (const other of this.#all) other.operators.delete(member);
    return true;
  }

  /**
   * Puts a seat (seats.ts: an IRC member's place in a further room) in the
   * room called `name`, made for it (it is its operator) when there is none;
   * the names are its owner's. Null when there is no room for a new room.
   */
  seat(seat: M, name: string, evictKept = false): Room<M> | null {
    const made = this.get(name) === undefined;
    const room = this.ensure(name, evictKept);
    if (room === null) return null;
    if (made) room.operators.add(seat);
    this.#enter(seat, room, seat.name as string);
    return room;
  }

  /** Takes a seat out of its room; false when it was not in it. */
  unseat(seat: M): boolean {
    const room = seat.room;
    if (room === null || !room.members.has(seat)) return false;
    room.operators.delete(seat);
    this.#leaveRoom(seat, room);
    return true;
  }

  #enter(member: M, room: Room<M>, name: string): void {
    member.room = room;
    room.add(member, name);
  }

  #leaveRoom(member: M, room: Room<M>): void {
    room.remove(member);
    if (room === this.lobby || room.members.size > 0 || room.topic !== null) return;
    // History on disk outlives the members, as a topic does.
    if (this.recorder !== null && room.hasHistory) return;
    this.#forget(room);
  }

  /**
   * Removes the oldest empty room other than `#lobby` that holds no topic and
   * no history, else, with `evictKept`, the oldest empty one; false when there is none.
   */
  #evictEmpty(evictKept: boolean): boolean {
    const empty = this.#all.filter((other) => other !== this.lobby && other.members.size === 0);
    const bare = empty.find((other) => other.topic === null && !other.hasHistory);
    const evicted = bare ?? (evictKept ? empty[0] : undefined);
    if (evicted === undefined) return false;
    this.#forget(evicted);
    this.onEvicted?.(evicted);
    return true;
  }

  /** Removes an empty room, with its topic and history. */
  #forget(room: Room<M>): void {
    for (const key of nameKeys(room.name)) this.#rooms.delete(key);
    this.#all.splice(this.#all.indexOf(room), 1);
    this.recorder?.removeRoom(room.name);
  }

  #make(name: string): Room<M> {
    const room = new Room<M>(
      name,
      this.maxQueueBytes,
      this.historyLines,
      this.onTooSlow,
      this.recorder,
    );
    room.relay = this.#relay;
    for (const key of nameKeys(name)) this.#rooms.set(key, room);
    this.#all.push(room);
    this.recorder?.addRoom(name);
    return room;
  }
}
