/**
 * The chat's books of connections: each is admitted or refused (the server
 * full, too many from one address, a banned address), counted by address,
 * and seen out once, whatever ends it: its room hears why it left, its last
 * lines are written within a bound, and the books close. Shutdown ends them all.
 *
 * @module
 */

import { isLoopback } from "./addresses.ts";
import { ignore, peerLabel } from "./helpers.ts";
import type { Hub } from "./hub.ts";
import type { Link } from "./link.ts";
import type { Naming } from "./naming.ts";
import { closeConnection, endWithin, type LeaveReason, Member, stopTimer } from "./session.ts";

/** What a member's room hears when it leaves, by why; null: nothing. */
export const DEPARTURE_NOTICES: Readonly<Record<LeaveReason, string | null>> = {
  quit: "left the chat",
  lost: "left the chat (connection lost)",
  slow: "left the chat (too slow)",
  flood: "left the chat (line too long)",
  shutdown: null,
  refused: null,
  // Their room was told who kicked or banned them, and why.
  kicked: null,
  banned: null,
  elsewhere: "left the chat (logged in elsewhere)",
};

/** What the log says of a departure that the room is not told about. */
const UNANNOUNCED_DEPARTURES: Partial<Record<LeaveReason, string>> = {
  shutdown: "left at shutdown",
  kicked: "was disconnected (kicked)",
  banned: "was disconnected (banned)",
};

/** How long a leaving member's last lines may take to be written. */
export const GOODBYE_FLUSH_MS = 2000;

/** What {@linkcode Connections} is given. */
export interface ConnectionsOptions {
  maxClients: number;
  maxPerIp: number;
  /** Whether loopback addresses count toward `maxPerIp` too. */
  limitLoopback: boolean;
  /** Longest line, for each connection's reading. */
  maxLineBytes: number;
  /** Stops the naming clock of a connection that leaves. */
  naming: Naming;
  /** Called when the last member leaves. */
  onEmpty?: () => void;
  /** Called for each connection that leaves, as it leaves: what it held dies with it. */
  onLeave?: (member: Member) => void;
  /** Closes the seats (seats.ts) of a member that leaves; each room hears `notice`. */
  closeSeats?: (member: Member, notice: string | null) => void;
}

/** Admits, counts and sees out connections: see the module's description. */
export class Connections {
  readonly #hub: Hub;
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #limitLoopback: boolean;
  readonly #maxLineBytes: number;
  readonly #naming: Naming;
  readonly #onEmpty: (() => void) | undefined;
  readonly #onLeave: ((member: Member) => void) | undefined;
  readonly #closeSeats: ((member: Member, notice: string | null) => void) | undefined;
  readonly #perIp = new Map<string, number>();
  readonly #refusals = new Set<Promise<void>>();
  #allGone: (() => void) | null = null;

  /** The books of `hub`'s connections. */
  constructor(hub: Hub, options: ConnectionsOptions) {
    this.#hub = hub;
    this.#maxClients = options.maxClients;
    this.#maxPerIp = options.maxPerIp;
    this.#limitLoopback = options.limitLoopback;
    this.#maxLineBytes = options.maxLineBytes;
    this.#naming = options.naming;
    this.#onEmpty = options.onEmpty;
    this.#onLeave = options.onLeave;
    this.#closeSeats = options.closeSeats;
  }

  /**
   * A member for a connection over `link`, unless the server is full or its
   * address has too many already or is banned: then it is told so over
   * `refusalLink()` and closed, and the result is null. Nothing is read
   * from `link` yet.
   */
  admit(link: Link, ip: string, port: number, refusalLink: () => Link, via: string): Member | null {
    const hub = this.#hub;
    const connections = hub.connections;
    if (connections.size >= this.#maxClients) {
      hub.log?.(`${peerLabel(ip, port)} refused: server full`);
      this.refuse(refusalLink(), `! Server is full (${this.#maxClients} users); try again later.`);
      return null;
    }
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (fromIp >= this.#maxPerIp && (this.#limitLoopback || !isLoopback(ip))) {
      hub.log?.(`${peerLabel(ip, port)} refused: ${fromIp} connections from ${ip} already`);
      this.refuse(refusalLink(), "! Too many connections from your address");
      return null;
    }
    const ban = hub.operators.banOn(null, ip);
    if (ban !== undefined) {
      hub.log?.(`${peerLabel(ip, port)} refused: ${ip} is banned`);
      this.refuse(refusalLink(), hub.operators.bannedLine(ban));
      return null;
    }
    this.#perIp.set(ip, fromIp + 1);
    const member = new Member(link, ip, port, this.#maxLineBytes);
    connections.add(member);
    hub.log?.(`${member.peer} connected${via}`);
    return member;
  }

  /** Sends one line and closes; the connection never joins. */
  refuse(link: Link, text: string): void {
    // Whatever goes wrong, the connection closes and that is all.
    link.on("error", ignore);
    const refusal = endWithin(link, GOODBYE_FLUSH_MS, text + "\n")
      .finally(() => this.#refusals.delete(refusal));
    this.#refusals.add(refusal);
  }

  /** Cuts off a member whose output kept piling up; its room hears why. */
  dropTooSlow(slow: Member): void {
    // A seat too slow is its owner's connection too slow.
    const member = slow.seatOf ?? slow;
    member.leaving ??= "slow";
    member.link.closingBecause?.("too slow");
    this.#announceDeparture(member, "slow");
    closeConnection(member);
  }

  /**
   * Sees a connection out, once: its room hears why it left (`leaving`, or
   * lost), a member that quit gets its goodbye, its last lines are written
   * within {@linkcode GOODBYE_FLUSH_MS}, and it is closed and forgotten.
   */
  async leave(member: Member): Promise<void> {
    // A seat ends with its owner or by seats.ts, never as a connection.
    if (member.left || member.seatOf !== null) return;
    member.left = true;
    stopTimer(member);
    this.#naming.forget(member);
    this.#onLeave?.(member);
    const hub = this.#hub;
    const reason = member.leaving ?? "lost";
    member.leaving = reason;
    if (member.name === null && reason !== "shutdown") {
      hub.log?.(`${member.peer} ${reason === "quit" ? "quit" : "disconnected"} before joining`);
    }
    this.#announceDeparture(member, reason);
    if (reason === "quit") {
      hub.tell(member, member.name === null ? "* Goodbye!" : `* Goodbye, ${member.name}!`);
    }
    if (reason !== "shutdown") await this.#end(member, GOODBYE_FLUSH_MS);
    closeConnection(member);
    hub.connections.delete(member);
    const fromIp = (this.#perIp.get(member.ip) ?? 1) - 1;
    if (fromIp > 0) this.#perIp.set(member.ip, fromIp);
    else this.#perIp.delete(member.ip);
    if (hub.connections.size === 0) this.#allGone?.();
  }

  /**
   * Tells every connection the server is shutting down, lets queued output
   * drain for at most `flushMs`, and resolves once every connection and
   * refusal is closed.
   */
  async shutdown(flushMs: number): Promise<void> {
    const hub = this.#hub;
    const members = [...hub.connections];
    const allGone = new Promise<void>((resolve) => this.#allGone = resolve);
    for (const member of members) {
      if (member.leaving === null) member.leaving = "shutdown";
      hub.tell(member, "* Server is shutting down");
    }
    await Promise.all(members.map((member) => this.#end(member, flushMs)));
    if (hub.connections.size > 0) await allGone;
    await Promise.all(this.#refusals);
  }

  /** Takes a member out of its room and the names, and tells the room (and the log) why. */
  #announceDeparture(member: Member, reason: LeaveReason): void {
    const hub = this.#hub;
    const room = member.room;
    const size = room?.members.size ?? 0;
    if (room === null || !hub.rooms.remove(member)) return;
    const said = reason === "quit" ? member.quitMessage : null;
    const notice = said === null ? DEPARTURE_NOTICES[reason] : `left the chat (${said})`;
    if (notice !== null && size <= hub.announceLimit) {
      room.broadcast(`* ${member.name} ${notice}`);
    }
    if (member.seats !== null) {
      // Its other rooms did not hear a kick or a ban: they hear why it went.
      const elsewhere = notice ?? (reason === "shutdown" ? null : `left the chat (${reason})`);
      this.#closeSeats?.(member, elsewhere);
    }
    // After the notice, on the same Redis connection: whoever sees the name free
    // (a login taking it over) sees the notice in the stream before anything it adds.
    hub.cluster?.releaseName(member.name as string).catch(() => {});
    hub.log?.(`${member.peer} ${member.name} ${notice ?? UNANNOUNCED_DEPARTURES[reason]}`);
    if (this.#onEmpty !== undefined && hub.rooms.memberCount === 0) {
      hub.log?.("the last member left");
      this.#onEmpty();
    }
  }

  /**
   * Ends the member's link once what is queued for it is written; closes it
   * outright after `ms`. Resolves when it is closed.
   */
  async #end(member: Member, ms: number): Promise<void> {
    // A flush already queued for this turn runs first.
    await null;
    if (member.closed) return;
    await endWithin(member.link, ms);
    closeConnection(member);
  }
}
