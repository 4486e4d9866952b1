/**
 * The bans and mutes in force and the server operators' commands on them:
 * `/ban`, `/unban`, `/bans`, `/mute`, `/unmute` and `/mutes`, about a member
 * here, one of another process of the cluster, or a name or address nobody
 * has. The lists themselves, durations and addresses are moderation.ts's;
 * a cluster shares the lists through their `onChange`.
 *
 * @module
 */

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
import { because, firstWord, type OperatorActing } from "./operator_acting.ts";
import type { OperatorsHost, RemoteMember, Subject } from "./operator_host.ts";
import { cleanNickname, sameName } from "../protocol.ts";
import { isLoopback, type Member } from "./session.ts";

/** Bans, mutes, and the commands that change and list them. */
export class BansAndMutes {
  /** Banned names and addresses: they cannot join. */
  readonly bans: Restrictions = new Restrictions();
  /** Muted names and addresses: they read but cannot post. */
  readonly mutes: Restrictions = new Restrictions();
  readonly #acting: OperatorActing;
  readonly #host: OperatorsHost;

  /** Bans and mutes, their commands acting through `acting`. */
  constructor(acting: OperatorActing) {
    this.#acting = acting;
    this.#host = acting.host;
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

  /**
   * `/ban NAME|ADDRESS [DURATION] [reason]`: refuses the name and the address
   * (not a loopback one) for the duration, and disconnects whoever has them.
   * An address is a name when a member is called exactly that (`127.0.0.1`
   * is a valid nickname), so that no one is out of reach by choosing one.
   * What is written like an address but is none (`999.999.999.999`) is
   * refused, unless a member is called that. `elsewhere`, here and below:
   * the members of the cluster's other processes.
   */
  ban(actor: Member, rest: string, elsewhere: readonly RemoteMember[] = []): void {
    const acting = this.#acting;
    const request = this.#restrictionRequest(actor, "ban", rest, DEFAULT_BAN_MS);
    if (request === null) return;
    const { typed, ms, reason } = request;
    let ban: Restriction;
    let targets: Subject[];
    const named = acting.find(typed, elsewhere);
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
      targets = acting.from(address, elsewhere);
      if (targets.some((target) => target.serverOperator) && actor !== acting.console) {
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
      acting.announce(actor, target.room, notice);
      told.push(target.room);
    }
    const actorRoom = actor.room?.name;
    if (actorRoom === undefined || !told.some((room) => sameName(room, actorRoom))) {
      this.#host.tell(actor, notice);
    }
    const where = ban.address !== null && ban.name !== null ? ` (${ban.address})` : "";
    acting.log(actor, `banned ${shown}${where} ${durationWords(ms)}${because(reason)}`);
  }

  /** `/unban NAME|ADDRESS`. */
  unban(actor: Member, typed: string): void {
    if (!this.#acting.serverOperator(actor, "unban")) return;
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
    this.#acting.log(actor, `unbanned ${shown}`);
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
    this.#acting.tellAbout(actor, target, notice);
    this.#acting.log(actor, `muted ${name} ${durationWords(ms)}${because(reason)}`);
  }

  /** `/unmute NAME`. */
  unmute(actor: Member, typed: string, elsewhere: readonly RemoteMember[] = []): void {
    if (!this.#acting.serverOperator(actor, "unmute")) return;
    if (typed === "") {
      this.#host.tell(actor, "! Usage: /unmute NAME");
      return;
    }
    const target = this.#acting.find(typed, elsewhere);
    const mute = this.mutes.remove(target?.name ?? typed, Date.now());
    if (mute === undefined) {
      this.#host.tell(actor, `! ${target?.name ?? typed} is not muted`);
      return;
    }
    const shown = mute.name ?? (mute.address as string);
    this.#acting.tellAbout(actor, target, `* ${shown} was unmuted by ${actor.name}`);
    this.#acting.log(actor, `unmuted ${shown}`);
  }

  /** `/bans` or `/mutes`: the list, soonest to end first, to the server operator asking. */
  list(actor: Member, kind: "bans" | "mutes"): void {
    if (!this.#acting.serverOperator(actor, kind)) return;
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

  /**
   * The address a ban or mute on `target`'s name covers too: none when it is
   * a loopback one, or one a server operator is connected from (which would
   * ban or mute that operator too).
   */
  #addressOf(target: Subject, elsewhere: readonly RemoteMember[]): string | null {
    if (target.address === "") return null;
    const address = plainAddress(target.address);
    if (isLoopback(address)) return null;
    const shared = this.#acting.from(address, elsewhere).some((other) => other.serverOperator);
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
    if (!this.#acting.serverOperator(actor, command)) return null;
    const [typed, more] = firstWord(rest);
    if (typed === "") {
      this.#host.tell(actor, `! Usage: /${command} NAME [DURATION] [reason]`);
      return null;
    }
    const timing = this.#duration(actor, more, defaultMs);
    if (timing === null || this.#acting.silenced(actor, timing.reason)) return null;
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
    const target = this.#acting.find(typed, elsewhere);
    const name = target?.name ?? this.#validName(actor, typed);
    if (name === null) return null;
    if (target !== undefined && !this.#acting.mayActOn(actor, target, command)) return null;
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
}
