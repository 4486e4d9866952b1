/**
 * Seats: a member in several rooms at once, as IRC clients are. A member is
 * in one room (its `room`); a seat is its place in one more: a
 * {@linkcode Member} with its owner's name, rights and account
 * (`seatOf`), over a link of its own that the transport gives it, so
 * that the room's lines reach it through the room's own delivery and the
 * transport knows which room each line is from. What the transport writes
 * to a seat's link is read as the member's lines in that room (its
 * messages, `/me`, `/topic`, `/who`, an operator's `/kick`), paced like any.
 *
 * A seat is not a connection: it is not counted, named or greeted, and it
 * ends with its owner (its room hears the owner's departure), when its
 * transport closes it (`* alice left #dev`), or when it is kicked. On a
 * cluster the member's process holds its seats, and tells the cluster the
 * rooms they are in with the member's presence, so that every process
 * counts, lists and acts on the member in each of its rooms.
 *
 * @module
 */

import type { ChatCluster } from "./cluster_port.ts";
import type { Hub } from "./hub.ts";
import { tellModes } from "./mode_commands.ts";
import type { Link } from "./link.ts";
import type { Room } from "./room.ts";
import type { ClusterEntry } from "./room_commands.ts";
import { roomName } from "./rooms.ts";
import { closeConnection, Member, memberOf } from "./session.ts";

/** Rooms a member may be in at once through seats, besides its own. */
export const MAX_SEATS = 9;

/** What {@linkcode Seats} is given. */
export interface SeatsOptions {
  /** Longest line a seat's link may carry. */
  maxLineBytes: number;
  /** Makes the seat's lines come from `link`, as any member's do. */
  listen(link: Link, seat: Member): void;
  /**
   * Why `member` may not make the new room `name` now (muted, or too many
   * new rooms from its address), or null; a null answer counts the room.
   */
  newRoomRefusal(member: Member, name: string): string | null;
  /** Why `member` may not enter `room` with `key` (its modes), or null. */
  entryRefusal?(room: Room<Member>, member: Member, key: string | undefined): string | null;
  /**
   * On a cluster: lets `owner`'s seat into the room called `name` as a
   * cluster join lets a member in (room_commands.ts's `enterOnCluster`,
   * which `entry` hears from); resolves once done, never rejects.
   */
  enterOnCluster?(
    cluster: ChatCluster,
    owner: Member,
    name: string,
    key: string | undefined,
    entry: ClusterEntry,
  ): Promise<void>;
}

/** The rooms a member is in: its own, then those of its seats. */
export function roomsOf(member: Member): Room<Member>[] {
  const rooms = member.room === null ? [] : [member.room];
  for (const seat of member.seats ?? []) if (seat.room !== null) rooms.push(seat.room);
  return rooms;
}

/** The member as it is in `room`: itself, or its seat there; undefined when it is in neither. */
export function placeOf(member: Member, room: Room<Member>): Member | undefined {
  if (member.room === room) return member;
  for (const seat of member.seats ?? []) if (seat.room === room) return seat;
  return undefined;
}

/** Opens and closes members' seats: see the module's description. */
export class Seats {
  readonly #hub: Hub;
  readonly #options: SeatsOptions;

  /** Seats of `hub`'s members. */
  constructor(hub: Hub, options: SeatsOptions) {
    this.#hub = hub;
    this.#options = options;
  }

  /**
   * Gives `owner` a seat over `link` in the room `typed` names (`key` for a
   * room with one), made for it when new. A refusal is written to `link`
   * as one `! ...` line, and the link closed. On a cluster the room is
   * everyone's: the seat enters it as a cluster join does (see
   * {@linkcode SeatsOptions.enterOnCluster}), its lines meanwhile waiting.
   */
  open(owner: Member, link: Link, typed: string, key?: string): void {
    const hub = this.#hub;
    const seat = new Member(link, owner.ip, owner.port, this.#options.maxLineBytes);
    seat.seatOf = owner;
    seat.stage = "member";
    seat.outputLimit = 0;
    const refuse = (why: string) => {
      link.write(`! ${why.replace(/^! /, "")}\n`);
      seat.left = true;
      closeConnection(seat);
    };
    if (owner.name === null || owner.leaving !== null || owner.closed) return refuse("Not joined");
    const name = roomName(typed);
    if (name === null) return refuse(`Invalid room name: ${typed}`);
    const existing = hub.rooms.get(name);
    const refusal = this.#refusal(owner, existing);
    if (refusal !== null) return refuse(refusal);
    if (existing !== undefined) {
      const refusal = this.#options.entryRefusal?.(existing, owner, key) ?? null;
      if (refusal !== null) return refuse(refusal);
    }
    const cluster = hub.cluster;
    const enterOnCluster = this.#options.enterOnCluster;
    if (cluster !== null && enterOnCluster !== undefined) {
      // What the transport sends for the seat meanwhile waits for it to be in the room.
      this.#options.listen(link, seat);
      seat.busy = enterOnCluster(cluster, owner, existing?.name ?? name, key, {
        wanted: () => {
          if (seat.left || seat.closed) return false;
          if (owner.leaving === null && !owner.closed) return true;
          // Its owner left meanwhile: so does the seat, which no room had heard of.
          seat.left = true;
          closeConnection(seat);
          return false;
        },
        refuse,
        enter: (room, first, count) => {
          // Another seat took this room, or the last place, while the cluster answered.
          const refusal = this.#refusal(owner, room);
          if (refusal !== null) refuse(refusal);
          return refusal === null && this.#seat(seat, room.name, first, count, refuse);
        },
      });
      return;
    }
    if (existing === undefined) {
      const refusal = this.#options.newRoomRefusal(owner, name);
      if (refusal !== null) return refuse(refusal);
    }
    this.#options.listen(link, seat);
    this.#seat(seat, existing?.name ?? name, false, null, refuse);
  }

  /** Why `owner` may not have one more seat now, in `room` (undefined: one not made yet), or null. */
  #refusal(owner: Member, room: Room<Member> | undefined): string | null {
    if (room !== undefined && this.#seated(owner, room)) return `You are already in #${room.name}`;
    if ((owner.seats?.size ?? 0) >= MAX_SEATS) return `Too many rooms at once (${MAX_SEATS + 1})`;
    return null;
  }

  /**
   * Puts `seat` in the room called `name` (its operator when `first`, or
   * when it makes it), tells it where it is (`count` here, else the room's
   * members), and its room that it joined; false (and `refuse` told) when
   * no room is left.
   */
  #seat(
    seat: Member,
    name: string,
    first: boolean,
    count: number | null,
    refuse: (why: string) => void,
  ): boolean {
    const hub = this.#hub;
    const owner = seat.seatOf as Member;
    const room = hub.rooms.seat(seat, name, owner.serverOperator);
    if (room === null) {
      refuse("Too many rooms");
      return false;
    }
    if (first) room.operators.add(seat);
    // An invitation was its owner's: used up by this entry.
    room.modes.entered(owner);
    (owner.seats ??= new Set()).add(seat);
    hub.tell(seat, `* You are now in #${room.name} (${count ?? room.members.size} here)`);
    if (room.topic !== null) hub.tell(seat, `* Topic: ${room.topic}`);
    tellModes(hub, seat, room);
    room.sendHistory(seat);
    if (room.members.size <= hub.announceLimit) {
      room.broadcast(`* ${seat.name} joined #${room.name}`, { except: seat });
    }
    hub.sharePresence(seat);
    hub.log?.(`${owner.peer} ${owner.name} joined #${room.name} too`);
    return true;
  }

  /**
   * Takes a seat out of its room and closes its link, after what it was sent
   * this turn; the room hears `* NAME NOTICE` unless `notice` is null.
   */
  close(seat: Member, notice: string | null): void {
    if (seat.left) return;
    seat.left = true;
    const hub = this.#hub;
    const room = seat.room;
    const size = room?.members.size ?? 0;
    if (room !== null && hub.rooms.unseat(seat)) {
      if (notice !== null && size <= hub.announceLimit) room.broadcast(`* ${seat.name} ${notice}`);
    }
    (room ?? hub.lobby).settle(seat);
    const owner = seat.seatOf;
    owner?.seats?.delete(seat);
    closeConnection(seat);
    // The cluster hears the rooms its owner is in now, unless the owner is leaving too.
    if (owner !== null && owner.leaving === null && !owner.closed) hub.sharePresence(owner);
  }

  /** The seat over `link` left its room (its transport's word): its room hears `reason` if any. */
  partOver(link: Link, reason = ""): void {
    const seat = memberOf(link) as Member | undefined;
    if (seat !== undefined && seat.seatOf !== null) this.part(seat, reason);
  }

  /** The seat's transport left the room: `reason`, when given, is told with it. */
  part(seat: Member, reason: string): void {
    const room = seat.room?.name ?? "";
    this.close(seat, `left #${room}${reason === "" ? "" : ` (${reason})`}`);
    // Still entering its room on a cluster: no room had it yet.
    if (room !== "") this.#hub.log?.(`${seat.peer} ${seat.name} left #${room}`);
  }

  /** Closes every seat of a member that leaves; each room hears `notice` (null: nothing). */
  closeAll(owner: Member, notice: string | null): void {
    for (const seat of [...owner.seats ?? []]) this.close(seat, notice);
  }

  /** Whether `owner` is in `room`, itself or through a seat. */
  #seated(owner: Member, room: Room<Member>): boolean {
    return placeOf(owner, room) !== undefined;
  }
}
