/**
 * A room's modes, as IRC's channel modes: a key (`+k`), invite-only (`+i`)
 * with the invitations given, a member cap (`+l`), moderated (`+m`), secret
 * (`+s`) and a ban list of masks (`+b`). `+n` (only members post) and `+t`
 * (only operators set the topic) are always on. Each {@linkcode Room} holds
 * one {@linkcode RoomModes}; the checks every way into a room and every
 * line into it go through are {@linkcode entryRefusal} and
 * {@linkcode speechRefusal}. The `/mode` and `/invite` commands are in
 * mode_commands.ts. Modes live in memory; on a cluster every process holds
 * the same ones (shared_modes.ts, cluster_side.ts), but voices and
 * invitations stay on the process of the member they are about.
 *
 * @module
 */

import { sameName } from "../protocol.ts";
import type { Named, Room } from "./room.ts";
import { LOBBY } from "./rooms.ts";

/** Masks in one room's ban list at most: each is tried on every join and line. */
export const MAX_ROOM_BANS = 100;

/** Longest key in characters: RFC 2812's `key = 1*23(...)`. */
export const MAX_KEY_LENGTH = 23;

/** Longest ban mask in characters: enough for `nick!user@host`, small enough to list. */
export const MAX_MASK_LENGTH = 100;

/** Largest `+l`: more than a server ever holds, and a number that is shown whole. */
export const MAX_LIMIT = 1_000_000;

/** The host part every member's mask has: members have no host of their own here. */
export const MEMBER_HOST = "chat";

/** Who may be let in or heard: a member with a name, perhaps a server operator. */
export interface ModeSubject extends Named {
  /** A server operator passes every mode. */
  serverOperator: boolean;
}

/** One entry of a room's ban list. */
export interface RoomBan {
  /** `nick!user@host`, `*` and `?` as wildcards. */
  mask: string;
  /** Who set it. */
  by: string;
}

/** The mode letters a `/rooms` entry shows: those beyond the `+nt` every room has. */
const LISTED_FLAGS = "iklms";

/**
 * A room's modes and the invitations given to it: see the module's
 * description. An invitation lasts until its member enters the room (the
 * room calls {@linkcode RoomModes.entered} on every entry) or disconnects
 * (a weak set: a new connection is a new member, and the old one is let go).
 */
export class RoomModes<M extends object> {
  /** `+i`: only the invited (and operators) enter. */
  inviteOnly = false;
  /** `+k`: what `/join #room KEY` must give; null when there is none. */
  key: string | null = null;
  /** `+l`: members at most; null when there is no cap. */
  limit: number | null = null;
  /** `+m`: only operators speak. */
  moderated = false;
  /** `+s`: not listed, and not shown to those outside it. */
  secret = false;
  /** `+n` (on unless taken off): only its members post to it; `-n`: anyone may (`/msg #room`). */
  noOutside = true;
  /** `+t` (on unless taken off): only its operators set the topic; `-t`: any member may. */
  topicLocked = true;
  /** `+v`: members who may speak while it is moderated (`+m`), while they are in it. */
  readonly voiced: Set<M> = new Set();
  /** `+b`: the masks refused, in the order they were set. */
  readonly bans: RoomBan[] = [];
  readonly #invited = new WeakSet<M>();

  /** Records an invitation of `member`, until it enters or disconnects. */
  invite(member: M): void {
    this.#invited.add(member);
  }

  /** Whether `member` holds an invitation. */
  isInvited(member: M): boolean {
    return this.#invited.has(member);
  }

  /** `member` entered the room: its invitation, if any, is used up. */
  entered(member: M): void {
    this.#invited.delete(member);
  }

  /** `member` left the room: its voice goes with it. */
  left(member: M): void {
    this.voiced.delete(member);
  }

  /** The mode letters set: `+nt` (a new room's), `+iklmnst`, `+` when none. */
  get flags(): string {
    let flags = "";
    if (this.inviteOnly) flags += "i";
    if (this.key !== null) flags += "k";
    if (this.limit !== null) flags += "l";
    if (this.moderated) flags += "m";
    if (this.noOutside) flags += "n";
    if (this.secret) flags += "s";
    if (this.topicLocked) flags += "t";
    return `+${flags}`;
  }

  /** The flags with their arguments, `+iklmnst KEY 10`; the key only when `showKey`. */
  describe(showKey: boolean): string {
    const words = [this.flags];
    if (this.key !== null && showKey) words.push(this.key);
    if (this.limit !== null) words.push(String(this.limit));
    return words.join(" ");
  }

  /** What `/rooms` shows after the count: `+ik`, or "" for a room with `+nt` only. */
  get listed(): string {
    const flags = [...this.flags].filter((flag) => LISTED_FLAGS.includes(flag)).join("");
    return flags === "" ? "" : `+${flags}`;
  }

  /** The ban whose mask is `mask`, compared case-insensitively. */
  findBan(mask: string): RoomBan | undefined {
    const lower = mask.toLowerCase();
    return this.bans.find((ban) => ban.mask.toLowerCase() === lower);
  }

  /** Whether a member called `name` matches a mask of the ban list. */
  isBanned(name: string): boolean {
    return this.bans.some((ban) => maskMatches(ban.mask, name));
  }
}

/**
 * Whether `key` may be a room's key: 1 to {@linkcode MAX_KEY_LENGTH}
 * characters, none of them a space, a comma or a control character (it is
 * typed after the room in `/join #room KEY`, and IRC's JOIN lists keys with commas).
 */
export function validKey(key: string | undefined): key is string {
  if (key === undefined || key === "" || [...key].length > MAX_KEY_LENGTH) return false;
  return !/[\s,\p{Cc}]/u.test(key);
}

/**
 * The member cap `typed` asks for: a whole number from 1 to
 * {@linkcode MAX_LIMIT}, digits only; null for anything else (`0`, `-1`, `abc`, "").
 */
export function parseLimit(typed: string | undefined): number | null {
  if (typed === undefined || !/^\d{1,7}$/.test(typed)) return null;
  const limit = Number(typed);
  return limit >= 1 && limit <= MAX_LIMIT ? limit : null;
}

/**
 * The ban mask `typed` means, in full: a bare `bob` is `bob!*@*`, `bob!x`
 * is `bob!x@*` and `x@host` is `*!x@host`. Null when it holds a space, a
 * comma or a control character, is empty in any part, or is longer than
 * {@linkcode MAX_MASK_LENGTH}.
 */
export function banMask(typed: string | undefined): string | null {
  if (typed === undefined || typed === "" || /[\s,\p{Cc}]/u.test(typed)) return null;
  let mask = typed;
  if (!mask.includes("!") && !mask.includes("@")) mask += "!*@*";
  else if (!mask.includes("@")) mask += "@*";
  else if (!mask.includes("!")) mask = `*!${mask}`;
  const match = /^([^!@]+)!([^!@]+)@([^!@]+)$/.exec(mask);
  if (match === null || [...mask].length > MAX_MASK_LENGTH) return null;
  return mask;
}

/** A pattern with `*` (any run) and `?` (any one character) as a case-insensitive regex. */
function glob(pattern: string): RegExp {
  const source = [...pattern].map((char) =>
    char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`, "iu");
}

/**
 * Whether the member called `name`, seen as `name!name@chat`, matches
 * `mask` (as {@linkcode banMask} gives it): by wildcards, in any case, and a
 * nick without wildcards also by the chat's lookalike rule (`b0b` bans `bob`
 * when the two count as the same name).
 */
export function maskMatches(mask: string, name: string): boolean {
  const bang = mask.indexOf("!");
  const nick = mask.slice(0, bang);
  const rest = mask.slice(bang + 1);
  if (!glob(rest).test(`${name}@${MEMBER_HOST}`)) return false;
  if (glob(nick).test(name)) return true;
  return !/[*?]/.test(nick) && sameName(nick, name);
}

/** Whether `member` may do anything a room's modes forbid: its operator, or a server operator. */
function passes<M extends ModeSubject>(room: Room<M>, member: M): boolean {
  return member.serverOperator || room.operators.has(member);
}

/**
 * Why `member` may not enter `room` with `key` (what `/join #room KEY`
 * gave; undefined for none), as the line it is told (no newline); null
 * when it may. `#lobby` is open to everyone; server operators
 * and the room's own operators pass every mode. Checked in this order:
 * banned (`+b`), invite only (`+i`, an invitation passes), wrong key
 * (`+k`, an invitation does not pass), full (`+l`, an invitation passes,
 * as modern IRC has it; `count` is how many are in the room, by default
 * its members here: a cluster counts them on every process). The caller
 * that then puts the member in the room does so through `Room.add`, which
 * uses up its invitation.
 */
export function entryRefusal<M extends ModeSubject>(
  room: Room<M>,
  member: M,
  key: string | undefined,
  count: number = room.members.size,
): string | null {
  if (sameName(room.name, LOBBY) || passes(room, member)) return null;
  const modes = room.modes;
  const invited = modes.isInvited(member);
  const cannot = `! Cannot join #${room.name}:`;
  if (member.name !== null && modes.isBanned(member.name)) return `${cannot} banned (+b)`;
  if (modes.inviteOnly && !invited) return `${cannot} invite only (+i)`;
  if (modes.key !== null && key !== modes.key) return `${cannot} wrong key (+k)`;
  if (modes.limit !== null && count >= modes.limit && !invited) {
    return `${cannot} room is full (+l)`;
  }
  return null;
}

/** Whether a ban of `room` (`+b`) is on `member`, who is not one of those every mode passes. */
export function bannedFrom<M extends ModeSubject>(room: Room<M>, member: M): boolean {
  return member.name !== null && !passes(room, member) && room.modes.isBanned(member.name);
}

/**
 * Why `member` may not send a line (a message, an action) to `room`, as the
 * line it is told; null when it may. Operators always may; otherwise a
 * member matching a ban (`+b`) may not, nor anyone in a moderated room (`+m`).
 */
export function speechRefusal<M extends ModeSubject>(
  room: Room<M>,
  member: M,
): string | null {
  if (passes(room, member)) return null;
  const cannot = `! Cannot send to #${room.name}:`;
  if (member.name !== null && room.modes.isBanned(member.name)) return `${cannot} banned (+b)`;
  if (room.modes.moderated && !room.modes.voiced.has(member)) return `${cannot} moderated (+m)`;
  return null;
}
