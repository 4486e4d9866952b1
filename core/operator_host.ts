/**
 * What operators' commands need of the chat, and the words every part of
 * them shares: whom a command is about, the console's name, and what the
 * cluster is told of a member. The parts behind operators.ts import these
 * from here, and operators.ts re-exports them, so that imports run one way.
 *
 * @module
 */

import type { ClusterAction, ClusterPeer, ClusterPresence, SeatPresence } from "./cluster_port.ts";
import { plainAddress } from "./moderation.ts";
import type { Room } from "./room.ts";
import type { Rooms } from "./rooms.ts";
import type { Member } from "./session.ts";

/** The console's name in notices: it is reserved, so no member can take it. */
export const CONSOLE_NAME = "server";

/** A member of another process of the cluster, as the cluster told a moment ago. */
export type RemoteMember = ClusterPeer;

/** Whom an operator's command is about: a member here, or one of another process. */
export interface Subject extends RemoteMember {
  /** The member, when it is connected to this process. */
  here: Member | null;
}

/**
 * What the cluster is told of a member of this process, and what operators
 * here know of it: its room (`lobby` until it has one), whether it is an
 * operator there or a server operator, its address, whether it is
 * logged in, and its seats' rooms (seats.ts) with its rights in each.
 */
export function presenceOf(member: Member, lobby: Room<Member>): ClusterPresence {
  const room = member.room ?? lobby;
  const seats: SeatPresence[] = [];
  for (const seat of member.seats ?? []) {
    const there = seat.room;
    if (there === null) continue;
    seats.push({
      room: there.name,
      roomOperator: there.operators.has(seat),
      voiced: there.modes.voiced.has(seat),
    });
  }
  return {
    room: room.name,
    roomOperator: room.operators.has(member),
    serverOperator: member.serverOperator,
    address: plainAddress(member.ip),
    loggedIn: member.account !== null,
    voiced: room.modes.voiced.has(member),
    ...(seats.length > 0 ? { seats } : {}),
  };
}

/** What operators' commands need of the core. */
export interface OperatorsHost {
  /** The rooms and the names in them. */
  readonly rooms: Rooms<Member>;
  /** Sends lines to one connection. */
  tell(member: Member, ...lines: string[]): void;
  /** Takes a member back to `#lobby` as `/part` does, without the room hearing `left for`. */
  sendHome(member: Member): void;
  /** Ends a member's connection once what is queued for it is written. */
  disconnect(member: Member, reason: "kicked" | "banned"): void;
  /** Every member connected from `address`. */
  membersFrom(address: string): Member[];
  /** Has `action` carried out on a member of another process of the cluster. */
  actElsewhere(target: RemoteMember, action: ClusterAction, actor: Member): void;
  /** A notice for the members of the room called `room` on every process (this one may not have it). */
  announce(room: string, notice: string, actor: Member): void;
  /** A member became, or stopped being, an operator: for the cluster's `/who` and operators. */
  changed(member: Member): void;
  /** Waits `ms` before the member's next line is read. */
  delay(member: Member, ms: number): Promise<void>;
  /** Writes one line to the server's log, when there is one. */
  log: ((event: string) => void) | undefined;
}

/** The operators' settings. */
export interface OperatorsOptions {
  /** What `/oper` must be given; null when nobody may become a server operator that way. */
  password: string | null;
  /** How long a wrong `/oper` password holds the connection's next line back. */
  wrongPasswordDelayMs: number;
}
