/**
 * `/mode` and `/invite`: showing and changing a room's modes (see
 * room_modes.ts for what each does), and inviting a member into a room. Every
 * change is announced to the room as `* alice set mode +k KEY on #dev`, one
 * line per mode, in the order typed; the IRC door reads these lines, so their
 * words are fixed (docs/protocol.md lists them all). On a cluster the
 * changed modes are shared (cluster_side.ts) before the announcement goes
 * out, and an invitation or a voice (`+v`) of a member of another process
 * goes to that process, which gives it.
 *
 * @module
 */

import { peersIn, placeIn } from "./cluster_places.ts";
import type { ChatCluster } from "./cluster_port.ts";
import { type Hub, UNAVAILABLE_TRY, unsentNotice } from "./hub.ts";
import type { Room } from "./room.ts";
import { banMask, MAX_ROOM_BANS, parseLimit, validKey } from "./room_modes.ts";
import { sameName } from "../protocol.ts";
import { LOBBY, roomName } from "./rooms.ts";
import type { Member } from "./session.ts";

/** What {@linkcode ModeCommands} is given. */
export interface ModeCommandsOptions {
  /** Runs `/op NAME` or `/deop NAME` for `member`: `+o` and `-o` are those. */
  op(member: Member, command: "op" | "deop", name: string): void;
  /** Shares a room's changed modes with the cluster (before its announcement), when there is one. */
  share(room: Room<Member>): void;
}

/** Modes that take no argument, each with the flag of {@linkcode RoomModes} it sets. */
const SWITCHES = { i: "inviteOnly", m: "moderated", s: "secret" } as const;

/** Modes `#lobby` cannot have: everyone starts there and comes back to it. */
const NOT_IN_LOBBY = "ikl";

/** `/mode` and `/invite`, for the members of a hub. */
export class ModeCommands {
  readonly #hub: Hub;
  readonly #op: ModeCommandsOptions["op"];
  readonly #share: ModeCommandsOptions["share"];

  /** The mode commands of `hub`'s members. */
  constructor(hub: Hub, options: ModeCommandsOptions) {
    this.#hub = hub;
    this.#op = options.op;
    this.#share = options.share;
  }

  /**
   * `/mode [#room] [CHANGES [ARGS...]]`: shows the modes of the room (the
   * member's own by default), lists its bans (`+b` alone), or, for its
   * operators, applies the changes in order (`+ik-l KEY`).
   */
  mode(member: Member, rest: string): void {
    const hub = this.#hub;
    const words = rest.split(" ").filter((word) => word !== "");
    let room = member.room ?? hub.lobby;
    const first = words[0];
    if (first !== undefined && !/^[+-]/.test(first)) {
      const found = this.#visibleRoom(member, first);
      if (found === null) return;
      room = found;
      words.shift();
    }
    const changes = words.shift();
    if (changes === undefined) {
      tellModes(hub, member, room, true);
      return;
    }
    if (/^\+?b$/.test(changes) && words.length === 0) {
      this.#tellBans(member, room);
      return;
    }
    if (!hub.operators.isOperator(member, room)) {
      hub.tell(member, "! Only operators can /mode");
      return;
    }
    if (!hub.mayPost(member)) return;
    let sign: "+" | "-" = "+";
    const made: Change[] = [];
    for (const letter of changes) {
      if (letter === "+" || letter === "-") sign = letter;
      else this.#change(member, room, sign, letter, words, made);
    }
    if (made.length > 0) this.#announce(member, room, made);
  }

  /**
   * `/invite NAME [#room]`: lets NAME into the room (the member's own by
   * default) past `+i` and `+l`, once; only its operators may invite to an
   * invite-only room.
   */
  invite(member: Member, rest: string): void {
    const hub = this.#hub;
    const [name = "", typed] = rest.split(" ").filter((word) => word !== "");
    if (name === "") {
      hub.tell(member, "! Usage: /invite NAME [#room]");
      return;
    }
    let room = member.room ?? hub.lobby;
    if (typed !== undefined) {
      const found = this.#visibleRoom(member, typed);
      if (found === null) return;
      room = found;
    }
    if (!room.members.has(member) && !member.serverOperator) {
      hub.tell(member, `! You are not in #${room.name}`);
      return;
    }
    if (room.modes.inviteOnly && !hub.operators.isOperator(member, room)) {
      hub.tell(member, "! Only operators can /invite");
      return;
    }
    const target = hub.rooms.find(name);
    if (target === undefined && hub.cluster !== null) {
      this.#inviteElsewhere(member, room, name, hub.cluster);
      return;
    }
    if (target === undefined) {
      hub.tell(member, `! No such user: ${name}`);
      return;
    }
    if (room.members.has(target)) {
      hub.tell(member, `! ${target.name} is already in #${room.name}`);
      return;
    }
    if (!hub.mayPost(member)) return;
    room.modes.invite(target);
    hub.tell(member, `* You invited ${target.name} to #${room.name}`);
    hub.tell(target, `* ${member.name} invited you to #${room.name}`);
    hub.log?.(`${member.peer} ${member.name} invited ${target.name} to #${room.name}`);
  }

  /**
   * `/invite NAME` of a member not here: the cluster says which process
   * holds it, and that process gives the invitation and tells it
   * (cluster_side.ts); the inviter is told once it is on its way.
   */
  #inviteElsewhere(member: Member, room: Room<Member>, name: string, cluster: ChatCluster): void {
    const hub = this.#hub;
    member.busy = cluster.members().then(async (everyone) => {
      const target = everyone.find((other) =>
        other.processId !== cluster.processId && sameName(other.name, name)
      );
      if (target === undefined) {
        hub.tell(member, `! No such user: ${name}`);
        return;
      }
      if (placeIn(target, room.name) !== undefined) {
        hub.tell(member, `! ${target.name} is already in #${room.name}`);
        return;
      }
      if (!hub.mayPost(member)) return;
      const by = member.name as string;
      await cluster.publishAct("invite", target.name, room.name, target.processId, by).then(
        () => {
          hub.tell(member, `* You invited ${target.name} to #${room.name}`);
          hub.log?.(`${member.peer} ${by} invited ${target.name} (elsewhere) to #${room.name}`);
        },
        (error) => hub.tell(member, unsentNotice(error)),
      );
    }).catch(() => hub.tell(member, UNAVAILABLE_TRY));
  }

  /**
   * The room `typed` names, when it exists and `member` may see it (a
   * secret room only from inside, or as a server operator); else null, and
   * the member told as of a room that does not exist.
   */
  #visibleRoom(member: Member, typed: string): Room<Member> | null {
    const hub = this.#hub;
    const name = roomName(typed);
    if (name === null) {
      hub.tell(member, `! Invalid room name: ${typed}`);
      return null;
    }
    const room = hub.rooms.get(name);
    if (room === undefined || !maySee(room, member)) {
      hub.tell(member, `! No such room: #${name}`);
      return null;
    }
    return room;
  }

  /** Applies one mode change, taking its argument from `args`, and announces it if it changed anything. */
  #change(
    member: Member,
    room: Room<Member>,
    sign: "+" | "-",
    letter: string,
    args: string[],
    made: Change[],
  ): void {
    const hub = this.#hub;
    const modes = room.modes;
    const plus = sign === "+";
    const announce = (arg?: string): void => void made.push({ sign, letter, arg });
    if (letter === "n" || letter === "t") {
      const flag = letter === "n" ? "noOutside" : "topicLocked";
      if (modes[flag] === plus) return;
      modes[flag] = plus;
      return announce();
    }
    if (NOT_IN_LOBBY.includes(letter) && room === hub.lobby) {
      hub.tell(member, `! Cannot change mode ${letter} on #${LOBBY}`);
      return;
    }
    if (letter === "i" || letter === "m" || letter === "s") {
      const flag = SWITCHES[letter];
      if (modes[flag] === plus) return;
      modes[flag] = plus;
      announce();
    } else if (letter === "k") {
      if (!plus) {
        if (modes.key === null) return;
        modes.key = null;
        return announce();
      }
      const key = args.shift();
      if (!validKey(key)) hub.tell(member, "! Invalid key");
      else if (modes.key !== key) {
        modes.key = key;
        announce(key);
      }
    } else if (letter === "l") {
      if (!plus) {
        if (modes.limit === null) return;
        modes.limit = null;
        return announce();
      }
      const limit = parseLimit(args.shift());
      if (limit === null) hub.tell(member, "! Invalid limit");
      else if (modes.limit !== limit) {
        modes.limit = limit;
        announce(String(limit));
      }
    } else if (letter === "b") {
      const mask = this.#ban(member, room, plus, args.shift());
      if (mask !== null) announce(mask);
    } else if (letter === "v") {
      const name = args.shift();
      const target = name === undefined
        ? undefined
        : [...room.members].find((other) => sameName(other.name as string, name));
      if (name === undefined) hub.tell(member, `! Usage: /mode #${room.name} ${sign}v NAME`);
      else if (target === undefined && hub.cluster !== null) {
        this.#voiceElsewhere(member, room, plus, name, hub.cluster);
      } else if (target === undefined) hub.tell(member, `! ${name} is not in #${room.name}`);
      else if (modes.voiced.has(target) !== plus) {
        if (plus) modes.voiced.add(target);
        else modes.voiced.delete(target);
        hub.sharePresence(target);
        announce(target.name as string);
      }
    } else if (letter === "o") {
      const name = args.shift();
      if (name === undefined) hub.tell(member, `! Usage: /mode #${room.name} ${sign}o NAME`);
      else this.#op(member, plus ? "op" : "deop", name);
    } else {
      hub.tell(member, `! Unknown mode: ${letter}`);
    }
  }

  /**
   * `+v NAME` or `-v NAME` of a member not here: the cluster says whether it
   * is in the room on another process, which gives or takes the voice; the
   * room hears it in a line of its own, after the command's other changes.
   */
  #voiceElsewhere(
    member: Member,
    room: Room<Member>,
    plus: boolean,
    name: string,
    cluster: ChatCluster,
  ): void {
    const hub = this.#hub;
    member.busy = cluster.members().then(async (everyone) => {
      const target = peersIn(everyone, room.name).find((other) =>
        other.processId !== cluster.processId && sameName(other.name, name)
      );
      if (target === undefined) {
        hub.tell(member, `! ${name} is not in #${room.name}`);
        return;
      }
      if ((target.voiced === true) === plus) return;
      const action = plus ? "voice" : "devoice";
      await cluster.publishAct(action, target.name, room.name, target.processId).then(
        () =>
          this.#announce(member, room, [{ sign: plus ? "+" : "-", letter: "v", arg: target.name }]),
        (error) => hub.tell(member, unsentNotice(error)),
      );
    }).catch(() => hub.tell(member, UNAVAILABLE_TRY));
  }

  /** `+b MASK` or `-b MASK` (the mask changed, or null); with no mask, the list. */
  #ban(
    member: Member,
    room: Room<Member>,
    plus: boolean,
    typed: string | undefined,
  ): string | null {
    const hub = this.#hub;
    if (typed === undefined) {
      this.#tellBans(member, room);
      return null;
    }
    const mask = banMask(typed);
    if (mask === null) {
      hub.tell(member, `! Invalid mask: ${typed}`);
      return null;
    }
    const bans = room.modes.bans;
    const ban = room.modes.findBan(mask);
    if (plus) {
      if (ban !== undefined) return null;
      if (bans.length >= MAX_ROOM_BANS) {
        hub.tell(member, `! Too many bans in #${room.name} (${MAX_ROOM_BANS})`);
        return null;
      }
      bans.push({ mask, by: member.name as string });
      return mask;
    }
    if (ban === undefined) {
      hub.tell(member, `! No such ban in #${room.name}: ${mask}`);
      return null;
    }
    bans.splice(bans.indexOf(ban), 1);
    return ban.mask;
  }

  /** `* Bans of #dev: MASK (set by alice), …`, or that there are none. */
  #tellBans(member: Member, room: Room<Member>): void {
    const bans = room.modes.bans;
    this.#hub.tell(
      member,
      bans.length === 0
        ? `* No bans in #${room.name}`
        : `* Bans of #${room.name}: ${
          bans.map((ban) => `${ban.mask} (set by ${ban.by})`).join(", ")
        }`,
    );
  }

  /**
   * Tells the room of one command's changes in one line, as IRC writes them
   * (`* alice set mode +lk-m 10 KEY on #dev`), and logs them (without a key).
   */
  #announce(member: Member, room: Room<Member>, made: Change[]): void {
    const said = modeString(made, true);
    // The modes first, then the line: every process has them before its members read it.
    this.#share(room);
    room.broadcast(`* ${member.name} set mode ${said} on #${room.name}`);
    const logged = modeString(made, false);
    this.#hub.log?.(`${member.peer} ${member.name} set mode ${logged} on #${room.name}`);
  }
}

/** One mode changed by a `/mode` command, with its argument. */
interface Change {
  sign: "+" | "-";
  letter: string;
  arg?: string | undefined;
}

/** `+lk-m 10 KEY`: the changes' letters, a sign where it changes, then their arguments (a key only when `withKey`). */
function modeString(made: Change[], withKey: boolean): string {
  let letters = "";
  let sign = "";
  const args: string[] = [];
  for (const change of made) {
    if (change.sign !== sign) letters += sign = change.sign;
    letters += change.letter;
    if (change.arg !== undefined) args.push(change.letter === "k" && !withKey ? "*" : change.arg);
  }
  return [letters, ...args].join(" ");
}

/**
 * Tells `member` the modes of `room` (`* Modes of #dev: +knt KEY (made ...)`,
 * the key to its members only): as asked (`always`), or on entering a room
 * whose modes go beyond `+nt`, as its topic is told.
 */
export function tellModes(hub: Hub, member: Member, room: Room<Member>, always = false): void {
  if (!always && room.modes.flags === "+nt") return;
  const showKey = room.members.has(member);
  const made = room.created.toISOString();
  hub.tell(member, `* Modes of #${room.name}: ${room.modes.describe(showKey)} (made ${made})`);
}

/** Whether `member` may see `room`: any room but a secret one, which only its members and server operators see. */
export function maySee(room: Room<Member>, member: Member): boolean {
  return !room.modes.secret || room.members.has(member) || member.serverOperator;
}
