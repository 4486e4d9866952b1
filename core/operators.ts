/**
 * What operators do: `/oper`, `/op`, `/deop`, `/kick`, `/ban`, `/unban`,
 * `/bans`, `/mute`, `/unmute`, `/mutes` and `/motd`, with the rules on who may
 * do what to whom, the notices everyone concerned sees, and a log line for
 * every action. The core hands it members and rooms; it never touches a link.
 *
 * {@linkcode Operators} is the one front the core talks to. Behind it:
 * server_operators.ts (`/oper` and its password), room_operators.ts (`/op`,
 * `/deop`, `/kick`), bans_and_mutes.ts (`/ban`, `/unban`, `/bans`, `/mute`,
 * `/unmute`, `/mutes`), motd.ts (`/motd`), and operator_acting.ts, what they
 * share: whom a command is about, here or on another process of the cluster,
 * who may act on whom, the notices and the log line. What the parts share of
 * the chat and the cluster is in operator_host.ts, which they import and
 * this file re-exports, so that imports among them run one way.
 *
 * @module
 */

import { BansAndMutes } from "./bans_and_mutes.ts";
import type { Restriction, Restrictions } from "./moderation.ts";
import { MessageOfTheDay } from "./motd.ts";
import { OperatorActing } from "./operator_acting.ts";
import type { Room } from "./room.ts";
import { RoomOperators } from "./room_operators.ts";
import { ServerOperators } from "./server_operators.ts";
import type { Member } from "./session.ts";

export {
  CONSOLE_NAME,
  type OperatorsHost,
  type OperatorsOptions,
  presenceOf,
  type RemoteMember,
  type Subject,
} from "./operator_host.ts";
import type { OperatorsHost, OperatorsOptions, RemoteMember } from "./operator_host.ts";

/**
 * Server operators, room operators, bans, mutes and the message of the day,
 * and the commands that change them: one front for the core, each command
 * handed to the part that owns what it changes.
 */
export class Operators {
  /** Banned names and addresses: they cannot join. */
  readonly bans: Restrictions;
  /** Muted names and addresses: they read but cannot post. */
  readonly mutes: Restrictions;
  /** The server's terminal: a server operator that is no member. */
  readonly console: Member;
  readonly #serverOperators: ServerOperators;
  readonly #roomOperators: RoomOperators;
  readonly #bansAndMutes: BansAndMutes;
  readonly #motd: MessageOfTheDay;

  /** Operators for the core behind `host`; `console` speaks for the server's terminal. */
  constructor(host: OperatorsHost, console: Member, options: OperatorsOptions) {
    this.console = console;
    const acting = new OperatorActing(host, console, (member) => this.mutedLine(member));
    this.#serverOperators = new ServerOperators(host, options);
    this.#roomOperators = new RoomOperators(acting);
    this.#bansAndMutes = new BansAndMutes(acting);
    this.#motd = new MessageOfTheDay(acting);
    this.bans = this.#bansAndMutes.bans;
    this.mutes = this.#bansAndMutes.mutes;
  }

  /** What every newcomer gets after the welcome; null for nothing. */
  get motd(): string | null {
    return this.#motd.text;
  }

  set motd(text: string | null) {
    this.#motd.text = text;
  }

  /** Called when the message of the day changes, for the data file. */
  get onMotd(): ((text: string | null) => void) | null {
    return this.#motd.onChange;
  }

  set onMotd(listener: ((text: string | null) => void) | null) {
    this.#motd.onChange = listener;
  }

  /** Whether `member` is an operator of `room`: its own, or a server operator. */
  isOperator(member: Member, room: Room<Member>): boolean {
    return this.#roomOperators.isOperator(member, room);
  }

  /** The ban on `name` or `address`, if one is in force. */
  banOn(name: string | null, address: string | null): Restriction | undefined {
    return this.#bansAndMutes.banOn(name, address);
  }

  /** `! You are banned (until ...)`, for a banned newcomer. */
  bannedLine(ban: Restriction): string {
    return this.#bansAndMutes.bannedLine(ban);
  }

  /** The error a muted member's line gets, or null when it may post. */
  mutedLine(member: Member): string | null {
    return this.#bansAndMutes.mutedLine(member);
  }

  /** `/oper PASSWORD`: makes the member a server operator if the password is right. */
  oper(member: Member, given: string): Promise<void> {
    return this.#serverOperators.oper(member, given);
  }

  /**
   * `/op NAME`: makes NAME an operator of the room it is in. `elsewhere`,
   * here and below: the members of the cluster's other processes.
   */
  op(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#roomOperators.op(actor, typed, elsewhere);
  }

  /** `/deop NAME`: NAME is no longer an operator of the room it is in. */
  deop(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#roomOperators.deop(actor, typed, elsewhere);
  }

  /**
   * `/kick NAME [reason]`: out of the room and back to `#lobby`; out of the
   * server when it is in `#lobby` (server operators only).
   */
  kick(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#roomOperators.kick(actor, rest, elsewhere);
  }

  /**
   * `/ban NAME|ADDRESS [DURATION] [reason]`: refuses the name and the address
   * (not a loopback one) for the duration, and disconnects whoever has them.
   */
  ban(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#bansAndMutes.ban(actor, rest, elsewhere);
  }

  /** `/unban NAME|ADDRESS`. */
  unban(actor: Member, typed: string): void {
    this.#bansAndMutes.unban(actor, typed);
  }

  /** `/mute NAME [DURATION] [reason]`: NAME reads but its lines are refused. */
  mute(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#bansAndMutes.mute(actor, rest, elsewhere);
  }

  /** `/unmute NAME`. */
  unmute(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    this.#bansAndMutes.unmute(actor, typed, elsewhere);
  }

  /** `/bans` or `/mutes`: the list, soonest to end first, to the server operator asking. */
  list(actor: Member, kind: "bans" | "mutes"): void {
    this.#bansAndMutes.list(actor, kind);
  }

  /** `/motd [text]`: shows the message of the day, or sets it (`-` clears it). */
  setMotd(actor: Member, text: string): void {
    this.#motd.command(actor, text);
  }
}
