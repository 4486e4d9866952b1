/**
 * What the parts of the chat share, and nothing more: the rooms and every
 * connection, the operators, the cluster when this process is part of one,
 * the log, and the notices several parts give when the cluster fails them.
 * Each part keeps the rest of its state to itself (see chat.ts for the parts).
 *
 * @module
 */

import { type ChatCluster, mayArriveLate } from "./cluster_port.ts";
import { type Operators, presenceOf } from "./operators.ts";
import type { Room } from "./room.ts";
import type { Rooms } from "./rooms.ts";
import { roomsOf } from "./seats.ts";
import type { Member } from "./session.ts";

/** A member logged in to an account (`account`) or out (null), and the rooms it is in. */
export interface AccountChange {
  /** The member's name. */
  name: string;
  /** The account it is logged in to now, or null. */
  account: string | null;
  /** The rooms it is in: whoever shares one may be told (IRC's account-notify). */
  rooms: string[];
}

/** What a member's line gets while the cluster cannot reach Redis: it was never written there. */
export const UNAVAILABLE = "! Chat is unavailable right now; your message was not sent";
/** What a line Redis was given and did not answer in time gets: it may still go out, once. */
export const NOT_ANSWERING = "! Chat is not answering; your message may arrive late";
/** What a newcomer or a question gets when the cluster cannot answer. */
export const UNAVAILABLE_TRY = "! Chat is unavailable right now; try again later";

/** What a member is told of a line the cluster did not confirm: "not sent" only if never written. */
export function unsentNotice(error: unknown): string {
  return mayArriveLate(error) ? NOT_ANSWERING : UNAVAILABLE;
}

/** What a {@linkcode Hub} starts with. */
export interface HubOptions {
  rooms: Rooms<Member>;
  operators: Operators;
  announceLimit: number;
  log: ((event: string) => void) | undefined;
}

/** The chat's shared state: see the module's description. */
export class Hub {
  /** The rooms and the names in them. */
  readonly rooms: Rooms<Member>;
  /** Where connections are until they are named, and members start. */
  readonly lobby: Room<Member>;
  /** Every connection, named or not. */
  readonly connections: Set<Member> = new Set();
  /** Operators, bans, mutes and the message of the day. */
  readonly operators: Operators;
  /** Rooms at least this full hear no joins and departures. */
  readonly announceLimit: number;
  /** Absent when nobody listens, so that no log line is even built. */
  readonly log: ((event: string) => void) | undefined;
  /** The other processes' link, when this one is part of a cluster. */
  cluster: ChatCluster | null = null;
  /** Told of every login and logout of a member here (IRC's account-notify). */
  readonly accountWatchers: Set<(change: AccountChange) => void> = new Set();

  /** Shared state over the rooms and operators given; no connection yet. */
  constructor(options: HubOptions) {
    this.rooms = options.rooms;
    this.lobby = options.rooms.lobby;
    this.operators = options.operators;
    this.announceLimit = options.announceLimit;
    this.log = options.log;
  }

  /** Sends lines to one connection, member or not. */
  tell(member: Member, ...lines: string[]): void {
    (member.room ?? this.lobby).sendTo(member, ...lines);
  }

  /** Whether the member may post now; a muted one is told why not. */
  mayPost(member: Member): boolean {
    const muted = this.operators.mutedLine(member);
    if (muted !== null) this.tell(member, muted);
    return muted === null;
  }

  /**
   * Tells the cluster where a member of this process is and what it may do;
   * of a seat (seats.ts), its owner's, which holds its seats' rooms.
   */
  sharePresence(member: Member): void {
    const cluster = this.cluster;
    const owner = member.seatOf ?? member;
    if (cluster === null || owner.name === null) return;
    cluster.setPresence(owner.name, presenceOf(owner, this.lobby)).catch(() => {});
  }

  /** The member is logged in to `account` now (null: to none); the cluster and watchers hear of a change. */
  setAccount(member: Member, account: string | null): void {
    const changed = member.account !== account;
    member.account = account;
    this.sharePresence(member);
    if (changed) this.tellAccount(member);
  }

  /** Tells the watchers which account a member with a name is logged in to now. */
  tellAccount(member: Member): void {
    if (member.name === null || this.accountWatchers.size === 0) return;
    const change: AccountChange = {
      name: member.name,
      account: member.account,
      rooms: roomsOf(member).map((room) => room.name),
    };
    for (const watch of this.accountWatchers) watch(change);
  }
}
