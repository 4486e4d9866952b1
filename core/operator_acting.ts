/**
 * What every operator's command shares: finding whom it is about, a member
 * here or one of another process of the cluster; the rules on who may act on
 * whom; the notices to the rooms concerned, here or on every process; and
 * the log line. {@linkcode Operators} makes one and hands it to each group of
 * commands (room operators, bans and mutes, the message of the day).
 *
 * @module
 */

import { placeIn } from "./cluster_places.ts";
import { plainAddress } from "./moderation.ts";
import {
  type OperatorsHost,
  presenceOf,
  type RemoteMember,
  type Subject,
} from "./operator_host.ts";
import { sameName } from "../protocol.ts";
import type { Room } from "./room.ts";
import type { Member } from "./session.ts";

/** Splits `word rest` at its first space. */
export function firstWord(text: string): [string, string] {
  const space = text.indexOf(" ");
  return space === -1 ? [text, ""] : [text.slice(0, space), text.slice(space + 1).trim()];
}

/** ` (reason)` when there is one. */
export function because(reason: string): string {
  return reason === "" ? "" : ` (${reason})`;
}

/**
 * Whom operators' commands act on, who may, and who hears of it: the core
 * behind them, the console, and the checks and notices they have in common.
 */
export class OperatorActing {
  /** The core the commands act through. */
  readonly host: OperatorsHost;
  /** The server's terminal: a server operator that is no member. */
  readonly console: Member;
  readonly #mutedLine: (member: Member) => string | null;

  /**
   * Acting through `host`, `console` speaking for the server's terminal;
   * `mutedLine` is the error a muted member's line gets (null when it may post).
   */
  constructor(
    host: OperatorsHost,
    console: Member,
    mutedLine: (member: Member) => string | null,
  ) {
    this.host = host;
    this.console = console;
    this.#mutedLine = mutedLine;
  }

  /**
   * The member called `typed`, here or on another process; in `room` first,
   * where a member in several rooms has a seat of its own (seats.ts), here
   * or on its process.
   */
  find(
    typed: string,
    elsewhere: readonly RemoteMember[],
    room?: Room<Member>,
  ): Subject | undefined {
    if (room !== undefined) {
      for (const member of room.members) {
        if (member.seatOf !== null && sameName(member.name as string, typed)) {
          return this.#subject(member);
        }
      }
    }
    const here = this.host.rooms.find(typed);
    if (here !== undefined) return this.#subject(here);
    const there = elsewhere.find((other) => sameName(other.name, typed));
    if (there === undefined) return undefined;
    // In `room` through a seat of its process's: the seat, with its rights there.
    return { ...(room === undefined ? there : placeIn(there, room.name) ?? there), here: null };
  }

  /** Every member connected from `address`, here or on another process. */
  from(address: string, elsewhere: readonly RemoteMember[]): Subject[] {
    const there = elsewhere.filter((other) =>
      other.address !== "" && plainAddress(other.address) === address
    );
    return [
      ...this.host.membersFrom(address).map((member) => this.#subject(member)),
      ...there.map((other) => ({ ...other, here: null })),
    ];
  }

  #subject(member: Member): Subject {
    const presence = presenceOf(member, this.host.rooms.lobby);
    return { ...presence, name: member.name as string, processId: "", here: member };
  }

  /** Whether `actor` may kick, ban or mute `target`; tells it why not. */
  mayActOn(actor: Member, target: Subject, command: string): boolean {
    if (target.here === actor) {
      this.host.tell(actor, `! You cannot /${command} yourself`);
      return false;
    }
    if (target.serverOperator && actor !== this.console) {
      this.host.tell(actor, `! You cannot /${command} a server operator`);
      return false;
    }
    return true;
  }

  /**
   * Whether a muted actor is trying to say `words` of its own (a reason, a
   * message of the day) through an operator's command; tells it it is muted.
   * What a command does without words, a muted operator may still do.
   */
  silenced(actor: Member, words: string): boolean {
    if (words === "") return false;
    const muted = this.#mutedLine(actor);
    if (muted !== null) this.host.tell(actor, muted);
    return muted !== null;
  }

  /** Whether `actor` is a server operator; tells it only they can `/command` when not. */
  serverOperator(actor: Member, command: string): boolean {
    if (actor.serverOperator) return true;
    this.host.tell(actor, `! Only server operators can /${command}`);
    return false;
  }

  /** A notice to the room called `room`, and to the actor too when it is not in it. */
  notify(actor: Member, room: string, notice: string, except?: Member): void {
    this.announce(actor, room, notice, except);
    if (actor.room === null || !sameName(actor.room.name, room)) this.host.tell(actor, notice);
  }

  /** A notice to the room called `room`: here if it is here, and on every process of a cluster. */
  announce(actor: Member, room: string, notice: string, except?: Member): void {
    const here = this.host.rooms.get(room);
    if (here !== undefined) here.broadcast(notice, { except, from: actor });
    else this.host.announce(room, notice, actor);
  }

  /** A notice to the target's room when it is online, and to the actor. */
  tellAbout(actor: Member, target: Subject | undefined, notice: string): void {
    if (target !== undefined) this.notify(actor, target.room, notice);
    else this.host.tell(actor, notice);
  }

  /** Writes `action` to the server's log, after who did it (`console` for the terminal). */
  log(actor: Member, action: string): void {
    const who = actor === this.console ? "console" : `${actor.peer} ${actor.name}`;
    this.host.log?.(`${who} ${action}`);
  }
}
