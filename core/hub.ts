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
import type { Member } from "./session.ts";

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

  /** Tells the cluster where a member of this process is and what it may do. */
  sharePresence(member: Member): void {
    const cluster = this.cluster;
    if (cluster === null || member.name === null) return;
    cluster.setPresence(member.name, presenceOf(member, this.lobby)).catch(() => {});
  }
}
