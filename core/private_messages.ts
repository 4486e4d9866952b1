/**
 * Private messages: `/msg` to a member by name, here or on another process
 * of the cluster, and `/reply` to whoever last wrote. Who that was is kept
 * here, for the members who were written to only: idle connections are many.
 *
 * @module
 */

import type { Accounts } from "./accounts.ts";
import { type Hub, UNAVAILABLE, unsentNotice } from "./hub.ts";
import { chatLine, sameName } from "../protocol.ts";
import { maySee } from "./mode_commands.ts";
import { speechRefusal } from "./room_modes.ts";
import { roomName } from "./rooms.ts";
import type { Member } from "./session.ts";

/** Sends private messages and remembers whom to reply to: see the module's description. */
export class PrivateMessages {
  readonly #hub: Hub;
  readonly #accounts: Accounts;
  /**
   * Who last sent each member a private message, for `/reply`: the member,
   * or its name when it is on another process of the cluster.
   */
  readonly #lastFrom = new WeakMap<Member, Member | string>();

  /** Private messages between `hub`'s members, kept for `accounts` that are away. */
  constructor(hub: Hub, accounts: Accounts) {
    this.#hub = hub;
    this.#accounts = accounts;
  }

  /**
   * `/msg`: sends `text` from `from` to the member called `toName`, wherever
   * it is; `/msg #room text` posts to a room from outside it, where the room
   * allows it (`-n`).
   */
  send(from: Member, toName: string, text: string): void {
    if (toName.startsWith("#")) return this.#toRoom(from, toName, text);
    this.#whisper(from, toName, this.#hub.rooms.find(toName), text);
  }

  /** `/msg #room text`: a message to a room the sender is not in (`-n`), as its members' are. */
  #toRoom(from: Member, typed: string, text: string): void {
    const hub = this.#hub;
    const name = roomName(typed);
    const room = name === null ? undefined : hub.rooms.get(name);
    if (room === undefined || !maySee(room, from)) {
      hub.tell(from, name === null ? `! Invalid room name: ${typed}` : `! No such room: #${name}`);
      return;
    }
    const refusal = room.modes.noOutside && !room.members.has(from)
      ? `! Cannot send to #${room.name}: no messages from outside (+n)`
      : speechRefusal(room, from);
    if (refusal !== null) return hub.tell(from, refusal);
    if (!hub.mayPost(from)) return;
    room.broadcast(chatLine(from.name as string, text), { public: true, from });
  }

  /** The name of whoever last sent `member` a private message; null when nobody did. */
  replyTo(member: Member): string | null {
    const last = this.#lastFrom.get(member);
    if (last === undefined) return null;
    return typeof last === "string" ? last : last.name;
  }

  /** `/reply`: sends `text` to whoever last wrote to `from`, if it is still here (by name, if elsewhere). */
  reply(from: Member, text: string): void {
    const to = this.#lastFrom.get(from);
    if (to === undefined) return;
    if (typeof to === "string") {
      // Whoever wrote from another process: by name, wherever it is now.
      this.#whisper(from, to, this.#hub.rooms.find(to), text);
      return;
    }
    const here = to.room?.members.has(to) ?? false;
    this.#whisper(from, to.name as string, here ? to : undefined, text);
  }

  /** Delivers a private message that a member of another process sent to the member called `to`. */
  fromElsewhere(from: string, to: string, text: string): void {
    const member = this.#hub.rooms.find(to);
    if (member === undefined) return;
    this.#hub.tell(member, `(private) ${from}: ${text}`);
    this.#lastFrom.set(member, from);
  }

  /** Sends `text` to `to`, the member called `toName` here, or to it elsewhere when it is not here. */
  #whisper(from: Member, toName: string, to: Member | undefined, text: string): void {
    const hub = this.#hub;
    const cluster = hub.cluster;
    if (to === undefined && cluster !== null) {
      // Not here: perhaps on another process.
      from.busy = cluster.members().then(async (everyone) => {
        const found = everyone.find((other) => sameName(other.name, toName));
        if (found === undefined) {
          // An owner who is away gets it at the next login, on whichever process.
          if (!await this.#accounts.keepFor(from, toName, text)) {
            hub.tell(from, `! No such user: ${toName}`);
          }
          return;
        }
        await cluster.publishPrivate(from.name as string, found.name, text).then(
          () => hub.tell(from, `(private to ${found.name}) ${from.name}: ${text}`),
          (error) => hub.tell(from, unsentNotice(error)),
        );
      }).catch(() => hub.tell(from, UNAVAILABLE));
      return;
    }
    if (to === undefined) {
      // An owner who is away gets it at the next login.
      from.busy = this.#accounts.keepFor(from, toName, text).then((kept) => {
        if (!kept) hub.tell(from, `! No such user: ${toName}`);
      }, () => hub.tell(from, UNAVAILABLE));
      return;
    }
    hub.tell(to, `(private) ${from.name}: ${text}`);
    if (to !== from) hub.tell(from, `(private to ${to.name}) ${from.name}: ${text}`);
    this.#lastFrom.set(to, from);
  }
}
