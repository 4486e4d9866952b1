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
 * transport closes it (`* alice left #dev`), or when it is kicked. Only one
 * process holds a member's seats, so a cluster does not offer them.
 *
 * @module
 */

import type { Hub } from "./hub.ts";
import { tellModes } from "./mode_commands.ts";
import type { Link } from "./link.ts";
import type { Room } from "./room.ts";
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
}

/** The rooms a member is in: its own, then those of its seats. */
export function roomsOf(member: Member): Room<Member>[] {
  const rooms = member.room === null ? [] : [member.room];
  for (const seat of member.seats ?? []) if (seat.room !== null) rooms.push(seat.room);
  return rooms;
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
   * as one `! ...` line, and the link closed.
   */
  open(owner: Member, link: Link, typed: string, key?: string): void {
    const hub = this.#hub;
    const seat = new Member(link, owner.ip, owner.port, this.#options.maxLineBytes);
    seat.seatOf = owner;
    seat.stage = "member";
    seat.outputLimit = 0;
    const refuse = (why: string) => {
      link.write(`! ${why}\n`);
      seat.left = true;
      closeConnection(seat);
    };
    if (owner.name === null || owner.leaving !== null || owner.closed) return refuse("Not joined");
    if (hub.cluster !== null) {
      return refuse(`Cannot join #${typed}: one room at a time on a cluster`);
    }
    const name = roomName(typed);
    if (name === null) return refuse(`Invalid room name: ${typed}`);
    const existing = hub.rooms.get(name);
    if (existing !== undefined && this.#seated(owner, existing)) {
      return refuse(`You are already in #${existing.name}`);
    }
    if ((owner.seats?.size ?? 0) >= MAX_SEATS) {
      return refuse(`Too many rooms at once (${MAX_SEATS + 1})`);
    }
    if (existing !== undefined) {
      const refusal = this.#options.entryRefusal?.(existing, owner, key) ?? null;
      if (refusal !== null) return refuse(refusal.replace(/^! /, ""));
    } else {
      const refusal = this.#options.newRoomRefusal(owner, name);
      if (refusal !== null) return refuse(refusal.replace(/^! /, ""));
    }
    const room = hub.rooms.seat(seat, existing?.name ?? name, owner.serverOperator);
    if (room === null) return refuse("Too many rooms");
    // An invitation was its owner's: used up by this entry.
    room.modes.entered(owner);
    (owner.seats ??= new Set()).add(seat);
    this.#options.listen(link, seat);
    hub.tell(seat, `* You are now in #${room.name} (${room.members.size} here)`);
    if (room.topic !== null) hub.tell(seat, `* Topic: ${room.topic}`);
    tellModes(hub, seat, room);
    room.sendHistory(seat);
    if (room.members.size <= hub.announceLimit) {
      room.broadcast(`* ${seat.name} joined #${room.name}`, { except: seat });
    }
    hub.log?.(`${owner.peer} ${owner.name} joined #${room.name} too`);
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
    seat.seatOf?.seats?.delete(seat);
    closeConnection(seat);
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
    this.#hub.log?.(`${seat.peer} ${seat.name} left #${room}`);
  }

  /** Closes every seat of a member that leaves; each room hears `notice` (null: nothing). */
  closeAll(owner: Member, notice: string | null): void {
    for (const seat of [...owner.seats ?? []]) this.close(seat, notice);
  }

  /** Whether `owner` is in `room`, itself or through a seat. */
  #seated(owner: Member, room: Room<Member>): boolean {
    if (owner.room === room) return true;
    for (const seat of owner.seats ?? []) if (seat.room === room) return true;
    return false;
  }
}
