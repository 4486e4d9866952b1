/**
 * `/nick`: a member's new name, by the nickname rules, if nobody holds it
 * (across the cluster, when there is one), it is not banned, and no room
 * the member is in bans it (`+b`: a new name would slip past the ban, as
 * IRC servers hold); its room hears of it.
 *
 * @module
 */

import { Accounts } from "./accounts.ts";
import { type Hub, UNAVAILABLE_TRY } from "./hub.ts";
import { untilNote } from "./moderation.ts";
import { cleanNickname, DEFAULT_NAME, sameName } from "../protocol.ts";
import { bannedFrom } from "./room_modes.ts";
import { roomsOf } from "./seats.ts";
import type { Member } from "./session.ts";

/** Renames members: see the module's description. */
export class Renames {
  readonly #hub: Hub;
  readonly #accounts: Accounts;

  /** Renames for `hub`'s members; registered names are their owners' alone. */
  constructor(hub: Hub, accounts: Accounts) {
    this.#hub = hub;
    this.#accounts = accounts;
  }

  /** Gives `member` the name it `requested`, or tells it why not. */
  rename(member: Member, requested: string): void {
    const hub = this.#hub;
    const old = member.name as string;
    if (requested === "") {
      hub.tell(member, "! Usage: /nick NEW");
      return;
    }
    const name = cleanNickname(requested);
    if (name === DEFAULT_NAME && requested !== DEFAULT_NAME) {
      hub.tell(member, `! Invalid name: ${requested}`);
      return;
    }
    if (hub.rooms.find(name, member) !== undefined) {
      hub.tell(member, `! Name taken: ${name}`);
      return;
    }
    if (name === old) {
      hub.tell(member, `! You are already ${name}`);
      return;
    }
    const registered = this.#accounts.reservedFor(name, member);
    if (registered !== null) {
      hub.tell(member, Accounts.reservedNotice(registered));
      return;
    }
    const ban = hub.operators.banOn(name, null);
    if (ban !== undefined) {
      hub.tell(member, `! The name ${name} is banned ${untilNote(ban.until)}`);
      return;
    }
    // A room's ban is on the name: another name would slip past it, so none is taken meanwhile.
    const bannedIn = roomsOf(member).find((room) => bannedFrom(room, member));
    if (bannedIn !== undefined) {
      hub.tell(member, `! Cannot change your name to ${name}: banned in #${bannedIn.name} (+b)`);
      return;
    }
    const cluster = hub.cluster;
    if (cluster !== null && !sameName(old, name)) {
      member.busy = cluster.renameName(old, name).then((renamed) => {
        if (!renamed) hub.tell(member, `! Name taken: ${name}`);
        else if (member.name === old && !member.closed) this.#finish(member, old, name);
      }, () => hub.tell(member, UNAVAILABLE_TRY));
      return;
    }
    this.#finish(member, old, name);
  }

  /** Renames `member` from `old` to `name` here, and tells its room. */
  #finish(member: Member, old: string, name: string): void {
    const hub = this.#hub;
    hub.rooms.rename(member, name);
    this.#accounts.renamed(member, name);
    for (const room of roomsOf(member)) room.broadcast(`* ${old} is now known as ${name}`);
    hub.log?.(`${member.peer} ${old} is now ${name}`);
  }
}
