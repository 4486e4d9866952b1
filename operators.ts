/**
 * What operators do: `/oper`, `/op`, `/deop`, `/kick`, `/ban`, `/unban`,
 * `/bans`, `/mute`, `/unmute`, `/mutes` and `/motd`, with the rules on who may
 * do what to whom, the notices everyone concerned sees, and a log line for
 * every action. The core hands it members and rooms; it never touches a link.
 *
 * @module
 */

import { GuessLimiter } from "./guesses.ts";
import {
  DEFAULT_BAN_MS,
  DEFAULT_MUTE_MS,
  durationWords,
  isAddress,
  looksLikeAddress,
  looksLikeDuration,
  MAX_RESTRICTIONS,
  parseDuration,
  plainAddress,
  type Restriction,
  Restrictions,
  untilNote,
  untilWords,
} from "./moderation.ts";
import type { ClusterAction, ClusterPeer, ClusterPresence } from "./cluster.ts";
import { cleanNickname, sameName } from "./protocol.ts";
import type { Room } from "./room.ts";
import type { Rooms } from "./rooms.ts";
import { isLoopback, type Member, secretsMatch } from "./session.ts";

/** The console's name in notices: it is reserved, so no member can take it. */
export const CONSOLE_NAME = "server";

/** A member of another process of the cluster, as the cluster told a moment ago. */
type RemoteMember = ClusterPeer;

/** Whom an operator's command is about: a member here, or one of another process. */
interface Subject extends RemoteMember {
  /** The member, when it is connected to this process. */
  here: Member | null;
}

/**
 * What the cluster is told of a member of this process, and what operators
 * here know of it: its room (`lobby` until it has one), whether it is an
 * operator there or a server operator, and its address.
 */
export function presenceOf(member: Member, lobby: Room<Member>): ClusterPresence {
  const room = member.room ?? lobby;
  return {
    room: room.name,
    roomOperator: room.operators.has(member),
    serverOperator: member.serverOperator,
    address: plainAddress(member.ip),
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

/** Splits `word rest` at its first space. */
function firstWord(text: string): [string, string] {
  const space = text.indexOf(" ");
  return space === -1 ? [text, ""] : [text.slice(0, space), text.slice(space + 1).trim()];
}

/** ` (reason)` when there is one. */
function because(reason: string): string {
  return reason === "" ? "" : ` (${reason})`;
}

/**
 * Server operators, room operators, bans, mutes and the message of the day,
 * and the commands that change them.
 */
export class Operators {
  /** Banned names and addresses: they cannot join. */
  readonly bans: Restrictions = new Restrictions();
  /** Muted names and addresses: they read but cannot post. */
  readonly mutes: Restrictions = new Restrictions();
  /** What every newcomer gets after the welcome; null for nothing. */
  motd: string | null = null;
  /** Called when the message of the day changes, for the data file. */
  onMotd: ((text: string | null) => void) | null = null;
  /** The server's terminal: a server operator that is no member. */
  readonly console: Member;
  readonly #host: OperatorsHost;
  readonly #password: string | null;
  readonly #wrongPasswordDelayMs: number;
  /** Wrong `/oper` passwords by address, however many connections guess. */
  readonly #guesses = new GuessLimiter();

  /** Operators for the core behind `host`; `console` speaks for the server's terminal. */
  constructor(host: OperatorsHost, console: Member, options: OperatorsOptions) {
    this.#host = host;
    this.console = console;
    this.#password = options.password;
    this.#wrongPasswordDelayMs = options.wrongPasswordDelayMs;
  }

  /** Whether `member` is an operator of `room`: its own, or a server operator. */
  isOperator(member: Member, room: Room<Member>): boolean {
    return member.serverOperator || room.operators.has(member);
  }

  /** The ban on `name` or `address`, if one is in force. */
  banOn(name: string | null, address: string | null): Restriction | undefined {
    return this.bans.find(name, address, Date.now());
  }

  /** `! You are banned (until ...)`, for a banned newcomer. */
  bannedLine(ban: Restriction): string {
    return `! You are banned ${untilNote(ban.until)}`;
  }

  /** The error a muted member's line gets, or null when it may post. */
  mutedLine(member: Member): string | null {
    if (this.mutes.size === 0) return null;
    const mute = this.mutes.find(member.name, member.ip, Date.now());
    return mute === undefined ? null : `! You are muted ${untilNote(mute.until)}`;
  }

  /** `/oper PASSWORD`: makes the member a server operator if the password is right. */
  async oper(member: Member, given: string): Promise<void> {
    const host = this.#host;
    if (this.#password === null) {
      host.tell(member, "! No operator password is set on this server");
      return;
    }
    if (member.serverOperator) {
      host.tell(member, "! You are already a server operator");
      return;
    }
    const wait = this.#guesses.take(member.ip, performance.now());
    if (wait > 0) {
      host.tell(
        member,
        `! Too many wrong passwords from your address; try again in ${Math.ceil(wait / 1000)} s`,
      );
      return;
    }
    if (await secretsMatch(given, this.#password)) {
      this.#guesses.right(member.ip);
      member.serverOperator = true;
      host.changed(member);
      host.tell(member, "* You are now a server operator");
      host.log?.(`${member.peer} ${member.name} is now a server operator`);
      return;
    }
    host.log?.(`${member.peer} ${member.name} gave a wrong operator password`);
    await host.delay(member, this.#wrongPasswordDelayMs);
    host.tell(member, "! Wrong operator password");
  }

  /**
   * `/op NAME`: makes NAME an operator of the room it is in. `elsewhere`,
   * here and below: the members of the cluster's other processes.
   */
  op(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    const target = this.#roomTarget(actor, typed, "op", elsewhere);
    if (target === null) return;
    if (target.serverOperator || target.roomOperator) {
      const what = target.serverOperator ? "a server operator" : `an operator of #${target.room}`;
      this.#host.tell(actor, `! ${target.name} is already ${what}`);
      return;
    }
    this.#setRoomOperator(actor, target, true);
    this.#notify(
      actor,
      target.room,
      `* ${target.name} was made an operator of #${target.room} by ${actor.name}`,
    );
    this.#log(actor, `made ${target.name} an operator of #${target.room}`);
  }

  /** `/deop NAME`: NAME is no longer an operator of the room it is in. */
  deop(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    const target = this.#roomTarget(actor, typed, "deop", elsewhere);
    if (target === null) return;
    if (target.serverOperator) {
      this.#host.tell(actor, `! You cannot /deop a server operator`);
      return;
    }
    if (!target.roomOperator) {
      this.#host.tell(actor, `! ${target.name} is not an operator of #${target.room}`);
      return;
    }
    this.#setRoomOperator(actor, target, false);
    this.#notify(
      actor,
      target.room,
      `* ${target.name} was removed as an operator of #${target.room} by ${actor.name}`,
    );
    this.#log(actor, `removed ${target.name} as an operator of #${target.room}`);
  }

  /** Makes a member an operator of its room, or not, here or on its own process. */
  #setRoomOperator(actor: Member, target: Subject, operator: boolean): void {
    const member = target.here;
    if (member === null) {
      this.#host.actElsewhere(target, operator ? "op" : "deop", actor);
      return;
    }
    const room = member.room as Room<Member>;
    if (operator) room.operators.add(member);
    else room.operators.delete(member);
    this.#host.changed(member);
  }

  /**
   * `/kick NAME [reason]`: out of the room and back to `#lobby`; out of the
   * server when it is in `#lobby` (server operators only).
   */
  kick(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    const [typed, reason] = firstWord(rest);
    const target = this.#roomTarget(actor, typed, "kick", elsewhere);
    if (target === null) return;
    const room = target.room;
    const lobby = sameName(room, this.#host.rooms.lobby.name);
    if (lobby && !actor.serverOperator) {
      this.#host.tell(actor, `! Only server operators can /kick from #${room}`);
      return;
    }
    if (this.#silenced(actor, reason)) return;
    const notice = `* ${target.name} was kicked by ${actor.name}${because(reason)}`;
    this.#log(actor, `kicked ${target.name} from #${room}${because(reason)}`);
    const member = target.here;
    if (member === null) {
      // Its process hears the notice, then the kick, in the cluster's order.
      this.#notify(actor, room, notice);
      this.#host.actElsewhere(target, lobby ? "disconnect" : "kick", actor);
      return;
    }
    // Told first, as the room's copy may come back through the cluster after it has gone.
    this.#host.tell(member, notice);
    if (lobby) {
      this.#host.disconnect(member, "kicked");
      this.#notify(actor, room, notice);
    } else {
      this.#notify(actor, room, notice, member);
      this.#host.sendHome(member);
    }
  }

  /**
   * `/ban NAME|ADDRESS [DURATION] [reason]`: refuses the name and the address
   * (not a loopback one) for the duration, and disconnects whoever has them.
   * An address is a name when a member is called exactly that (`127.0.0.1`
   * is a valid nickname), so that no one is out of reach by choosing one.
   * What is written like an address but is none (`999.999.999.999`) is
   * refused, unless a member is called that.
   */
  ban(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    const request = this.#restrictionRequest(actor, "ban", rest, DEFAULT_BAN_MS);
    if (request === null) return;
    const { typed, ms, reason } = request;
    let ban: Restriction;
    let targets: Subject[];
    const named = this.#find(typed, elsewhere);
    if (named === undefined && looksLikeAddress(typed) && !isAddress(typed)) {
      this.#host.tell(actor, `! Invalid address: ${typed}`);
      return;
    }
    if (isAddress(typed) && named?.name !== typed) {
      const address = plainAddress(typed);
      if (isLoopback(address)) {
        this.#host.tell(actor, "! Loopback addresses are never banned");
        return;
      }
      targets = this.#from(address, elsewhere);
      if (targets.some((target) => target.serverOperator) && actor !== this.console) {
        this.#host.tell(actor, "! You cannot /ban a server operator");
        return;
      }
      ban = this.#restriction(actor, null, address, ms, reason);
    } else {
      const found = this.#nameTarget(actor, typed, "ban", elsewhere);
      if (found === null) return;
      const { target, name } = found;
      const address = target === undefined ? null : this.#addressOf(target, elsewhere);
      ban = this.#restriction(actor, name, address, ms, reason);
      targets = target === undefined ? [] : [target];
    }
    if (!this.bans.add(ban)) {
      this.#host.tell(actor, `! Too many bans (${MAX_RESTRICTIONS}); /unban some first`);
      return;
    }
    const shown = ban.name ?? (ban.address as string);
    const notice = `* ${shown} was banned by ${actor.name} ${durationWords(ms)}${because(reason)}`;
    // Those here are told and gone before their rooms hear it; those of another
    // process hear it in their room, and are dropped there when the ban reaches it.
    for (const { here } of targets) {
      if (here === null) continue;
      this.#host.tell(here, notice);
      this.#host.disconnect(here, "banned");
    }
    const told: string[] = [];
    for (const target of targets) {
      if (told.some((room) => sameName(room, target.room))) continue;
      this.#announce(actor, target.room, notice);
      told.push(target.room);
    }
    const actorRoom = actor.room?.name;
    if (actorRoom === undefined || !told.some((room) => sameName(room, actorRoom))) {
      this.#host.tell(actor, notice);
    }
    const where = ban.address !== null && ban.name !== null ? ` (${ban.address})` : "";
    this.#log(actor, `banned ${shown}${where} ${durationWords(ms)}${because(reason)}`);
  }

  /** `/unban NAME|ADDRESS`. */
  unban(actor: Member, typed: string): void {
    if (!this.#serverOperator(actor, "unban")) return;
    if (typed === "") {
      this.#host.tell(actor, "! Usage: /unban NAME|ADDRESS");
      return;
    }
    const ban = this.bans.remove(typed, Date.now());
    if (ban === undefined) {
      this.#host.tell(actor, `! No ban on ${typed}`);
      return;
    }
    const shown = ban.name ?? (ban.address as string);
    this.#host.tell(actor, `* ${shown} was unbanned by ${actor.name}`);
    this.#log(actor, `unbanned ${shown}`);
  }

  /** `/mute NAME [DURATION] [reason]`: NAME reads but its lines are refused. */
  mute(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    const request = this.#restrictionRequest(actor, "mute", rest, DEFAULT_MUTE_MS);
    if (request === null) return;
    const { typed, ms, reason } = request;
    const found = this.#nameTarget(actor, typed, "mute", elsewhere);
    if (found === null) return;
    const { target, name } = found;
    const address = target === undefined ? null : this.#addressOf(target, elsewhere);
    if (!this.mutes.add(this.#restriction(actor, name, address, ms, reason))) {
      this.#host.tell(actor, `! Too many mutes (${MAX_RESTRICTIONS}); /unmute some first`);
      return;
    }
    const notice = `* ${name} was muted by ${actor.name} ${durationWords(ms)}${because(reason)}`;
    this.#tellAbout(actor, target, notice);
    this.#log(actor, `muted ${name} ${durationWords(ms)}${because(reason)}`);
  }

  /** `/unmute NAME`. */
  unmute(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    if (!this.#serverOperator(actor, "unmute")) return;
    if (typed === "") {
      this.#host.tell(actor, "! Usage: /unmute NAME");
      return;
    }
    const target = this.#find(typed, elsewhere);
    const mute = this.mutes.remove(target?.name ?? typed, Date.now());
    if (mute === undefined) {
      this.#host.tell(actor, `! ${target?.name ?? typed} is not muted`);
      return;
    }
    const shown = mute.name ?? (mute.address as string);
    this.#tellAbout(actor, target, `* ${shown} was unmuted by ${actor.name}`);
    this.#log(actor, `unmuted ${shown}`);
  }

  /** `/bans` or `/mutes`: the list, soonest to end first, to the server operator asking. */
  list(actor: Member, kind: "bans" | "mutes"): void {
    if (!this.#serverOperator(actor, kind)) return;
    const now = Date.now();
    const list = (kind === "bans" ? this.bans : this.mutes).list(now);
    if (list.length === 0) {
      this.#host.tell(actor, `* No ${kind}`);
      return;
    }
    const one = kind === "bans" ? "ban" : "mute";
    this.#host.tell(
      actor,
      `* ${list.length} ${list.length === 1 ? one : kind}:`,
      ...list.map((entry) => {
        const who = entry.name === null
          ? entry.address
          : entry.name + (entry.address === null ? "" : ` (${entry.address})`);
        const until = entry.until === null ? "forever" : `until ${untilWords(entry.until, now)}`;
        return `*   ${who} ${until}, by ${entry.by}${because(entry.reason)}`;
      }),
    );
  }

  /** `/motd [text]`: shows the message of the day, or sets it (`-` clears it). */
  setMotd(actor: Member, text: string): void {
    if (text === "") {
      this.#host.tell(
        actor,
        this.motd === null ? "* No message of the day" : `* Message of the day: ${this.motd}`,
      );
      return;
    }
    if (!this.#serverOperator(actor, "motd")) return;
    if (text !== "-" && this.#silenced(actor, text)) return;
    this.motd = text === "-" ? null : text;
    this.onMotd?.(this.motd);
    this.#host.tell(actor, `* Message of the day ${this.motd === null ? "cleared" : "set"}`);
    this.#log(
      actor,
      this.motd === null ? "cleared the message of the day" : "set the message of the day",
    );
  }

  /**
   * The member a room command (`/op`, `/deop`, `/kick`) is about: one in the
   * actor's room, the actor being its operator; anyone, for a server
   * operator. Null (and the actor told why) when there is none or it may not.
   */
  #roomTarget(
    actor: Member,
    typed: string,
    command: string,
    elsewhere: readonly RemoteMember[],
  ): Subject | null {
    const host = this.#host;
    const room = actor.room;
    if (!actor.serverOperator && (room === null || !room.operators.has(actor))) {
      host.tell(actor, `! Only operators can /${command}`);
      return null;
    }
    if (typed === "") {
      host.tell(actor, `! Usage: /${command} NAME${command === "kick" ? " [reason]" : ""}`);
      return null;
    }
    const target = this.#find(typed, elsewhere);
    if (target === undefined) {
      host.tell(actor, `! No such user: ${typed}`);
      return null;
    }
    if (!actor.serverOperator && !sameName(target.room, (room as Room<Member>).name)) {
      host.tell(actor, `! ${target.name} is not in #${(room as Room<Member>).name}`);
      return null;
    }
    if (command === "kick" && !this.#mayActOn(actor, target, command)) return null;
    return target;
  }

  /** The member called `typed`, here or on another process. */
  #find(typed: string, elsewhere: readonly RemoteMember[]): Subject | undefined {
    const here = this.#host.rooms.find(typed);
    if (here !== undefined) return this.#subject(here);
    const there = elsewhere.find((other) => sameName(other.name, typed));
    return there === undefined ? undefined : { ...there, here: null };
  }

  /** Every member connected from `address`, here or on another process. */
  #from(address: string, elsewhere: readonly RemoteMember[]): Subject[] {
    const there = elsewhere.filter((other) =>
      other.address !== "" && plainAddress(other.address) === address
    );
    return [
      ...this.#host.membersFrom(address).map((member) => this.#subject(member)),
      ...there.map((other) => ({ ...other, here: null })),
    ];
  }

  #subject(member: Member): Subject {
    const presence = presenceOf(member, this.#host.rooms.lobby);
    return { ...presence, name: member.name as string, processId: "", here: member };
  }

  /** Whether `actor` may kick, ban or mute `target`; tells it why not. */
  #mayActOn(actor: Member, target: Subject, command: string): boolean {
    if (target.here === actor) {
      this.#host.tell(actor, `! You cannot /${command} yourself`);
      return false;
    }
    if (target.serverOperator && actor !== this.console) {
      this.#host.tell(actor, `! You cannot /${command} a server operator`);
      return false;
    }
    return true;
  }

  /**
   * Whether a muted actor is trying to say `words` of its own (a reason, a
   * message of the day) through an operator's command; tells it it is muted.
   * What a command does without words, a muted operator may still do.
   */
  #silenced(actor: Member, words: string): boolean {
    if (words === "") return false;
    const muted = this.mutedLine(actor);
    if (muted !== null) this.#host.tell(actor, muted);
    return muted !== null;
  }

  #serverOperator(actor: Member, command: string): boolean {
    if (actor.serverOperator) return true;
    this.#host.tell(actor, `! Only server operators can /${command}`);
    return false;
  }

  /**
   * The address a ban or mute on `target`'s name covers too: none when it is
   * a loopback one, or one a server operator is connected from (which would
   * ban or mute that operator too).
   */
  #addressOf(target: Subject, elsewhere: readonly RemoteMember[]): string | null {
    if (target.address === "") return null;
    const address = plainAddress(target.address);
    if (isLoopback(address)) return null;
    const shared = this.#from(address, elsewhere).some((other) => other.serverOperator);
    return shared ? null : address;
  }

  /**
   * `NAME [DURATION] [reason]` of a `/ban` or `/mute` by a server operator:
   * null (and the actor told why) when it may not, or the words are wrong.
   */
  #restrictionRequest(
    actor: Member,
    command: "ban" | "mute",
    rest: string,
    defaultMs: number,
  ): { typed: string; ms: number | null; reason: string } | null {
    if (!this.#serverOperator(actor, command)) return null;
    const [typed, more] = firstWord(rest);
    if (typed === "") {
      this.#host.tell(actor, `! Usage: /${command} NAME [DURATION] [reason]`);
      return null;
    }
    const timing = this.#duration(actor, more, defaultMs);
    if (timing === null || this.#silenced(actor, timing.reason)) return null;
    return { typed, ...timing };
  }

  /**
   * Whom a `/ban` or `/mute` of the name `typed` is on: the member of that
   * name if online, and the name; null (and told) when it is not a name or
   * the actor may not act on that member.
   */
  #nameTarget(
    actor: Member,
    typed: string,
    command: string,
    elsewhere: readonly RemoteMember[],
  ): { target: Subject | undefined; name: string } | null {
    const target = this.#find(typed, elsewhere);
    const name = target?.name ?? this.#validName(actor, typed);
    if (name === null) return null;
    if (target !== undefined && !this.#mayActOn(actor, target, command)) return null;
    return { target, name };
  }

  /** The name an operator typed, by the nickname rules; null (and told) when it is none. */
  #validName(actor: Member, typed: string): string | null {
    const name = cleanNickname(typed);
    if (name !== typed) {
      this.#host.tell(actor, `! Invalid name: ${typed}`);
      return null;
    }
    return name;
  }

  /** `[DURATION] [reason]` read: the duration (`null` forever) and the reason; null when invalid. */
  #duration(
    actor: Member,
    text: string,
    defaultMs: number,
  ): { ms: number | null; reason: string } | null {
    const [word, rest] = firstWord(text);
    if (word === "" || !looksLikeDuration(word)) return { ms: defaultMs, reason: text };
    const ms = parseDuration(word);
    if (ms === undefined) {
      this.#host.tell(
        actor,
        `! Invalid duration: ${word} (30m, 2h, 7d and the like up to 365d, or forever)`,
      );
      return null;
    }
    return { ms, reason: rest };
  }

  #restriction(
    actor: Member,
    name: string | null,
    address: string | null,
    ms: number | null,
    reason: string,
  ): Restriction {
    const until = ms === null ? null : Date.now() + ms;
    return { name, address, until, by: actor.name as string, reason };
  }

  /** A notice to the room called `room`, and to the actor too when it is not in it. */
  #notify(actor: Member, room: string, notice: string, except?: Member): void {
    this.#announce(actor, room, notice, except);
    if (actor.room === null || !sameName(actor.room.name, room)) this.#host.tell(actor, notice);
  }

  /** A notice to the room called `room`: here if it is here, and on every process of a cluster. */
  #announce(actor: Member, room: string, notice: string, except?: Member): void {
    const here = this.#host.rooms.get(room);
    if (here !== undefined) here.broadcast(notice, { except, from: actor });
    else this.#host.announce(room, notice, actor);
  }

  /** A notice to the target's room when it is online, and to the actor. */
  #tellAbout(actor: Member, target: Subject | undefined, notice: string): void {
    if (target !== undefined) this.#notify(actor, target.room, notice);
    else this.#host.tell(actor, notice);
  }

  #log(actor: Member, action: string): void {
    const who = actor === this.console ? "console" : `${actor.peer} ${actor.name}`;
    this.#host.log?.(`${who} ${action}`);
  }
}
