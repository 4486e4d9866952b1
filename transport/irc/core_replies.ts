/**
 * The core's lines said to an IRC client: members' lines as PRIVMSG, joins,
 * departures, renames, topics and kicks as JOIN, PART, QUIT, NICK, TOPIC and
 * KICK, errors as the numerics IRC has for them, the answers to what the door
 * asked as RPL_NAMREPLY, RPL_WHOREPLY, RPL_WHOISUSER, RPL_LIST and the MOTD,
 * and the rest as notices from the server.
 *
 * @module
 */

import { sameName } from "../../protocol.ts";
import { type CoreLine, readCoreLine } from "./core_lines.ts";
import { errorNumerics, welcomeNumerics } from "./core_numerics.ts";
import { replayHistory } from "./history_replay.ts";
import { formatMessage, MAX_MESSAGE_BYTES } from "./message.ts";
import {
  bytes,
  type Expectation,
  LOBBY,
  MEMBER_HOST,
  type SessionState,
  splitText,
} from "./session_state.ts";
import type { WhoxQuery } from "./whox.ts";

/** What the others are told when a line member leaves, as IRC's QUIT reason. */
function quitReason(reason: string | null): string {
  if (reason === null) return "Quit";
  // The server's reasons, as IRC servers word theirs; a member's own last words as `Quit: ...`.
  if (SERVER_REASONS.has(reason)) return reason.charAt(0).toUpperCase() + reason.slice(1);
  return `Quit: ${reason}`;
}

/** Why the core says a member left, besides its own words. */
const SERVER_REASONS = new Set([
  "connection lost",
  "too slow",
  "line too long",
  "logged in elsewhere",
  "kicked",
  "banned",
]);

/** The core's lines around a room's history, as a newcomer gets it. */
const HISTORY_START = "* Recent messages:";
const HISTORY_END = "* End of recent messages";

/** Says the core's lines to an IRC client: see the module's description. */
export class CoreReplies {
  /** Replies over `s`. */
  constructor(readonly s: SessionState) {}

  /** Handles one line of the core's (without its newline). */
  fromCore(line: string): void {
    const read = readCoreLine(line);
    const head = this.s.pending[0];
    if (head !== undefined && this.#answers(head, read)) {
      this.s.pending.shift();
      this.#answer(head, read);
      head.done?.();
      this.#release(head.held);
      // Replies to what the client sent after this question and before the next: due now.
      for (const after of head.after) this.s.sink.toClient(after);
      return;
    }
    const holding = head !== undefined && head.kind === "join" &&
      (head.moved || head.welcome) && this.s.me !== null;
    // A room's history and the welcome's lines wait for the names of the room; its topic does not.
    if (holding && !(read.type === "topic" && head.moved) && read.type !== "modes") {
      head.held.push(line);
      return;
    }
    this.#translate(read, line);
  }

  /** Whether `read` is the core's answer to what the door asked. */
  #answers(expectation: Expectation, read: CoreLine): boolean {
    if (read.type === "error") {
      if (read.text.startsWith("Chat is unavailable")) return true;
      if (expectation.kind === "whois") return read.text.startsWith("No such user: ");
      // An invitation is answered by the core's error, whichever it is.
      if (expectation.kind === "invite") return true;
      if (["names", "who", "notOn", "modes", "bans"].includes(expectation.kind)) {
        return read.text.startsWith("No such room: ") ||
          read.text.startsWith("Invalid room name: ");
      }
      return false;
    }
    switch (expectation.kind) {
      case "join":
      case "names":
      case "who":
      case "notOn":
        return read.type === "who";
      case "whois":
        return read.type === "whois";
      case "list":
        return read.type === "rooms";
      case "motd":
        return read.type === "motd";
      case "modes":
        return read.type === "modes";
      case "bans":
        return read.type === "bans";
      case "invite":
        return read.type === "inviteSent";
      case "topic":
      case "sync":
        return read.type === "topic";
    }
  }

  #answer(expectation: Expectation, read: CoreLine): void {
    switch (expectation.kind) {
      case "join":
        if (expectation.welcome) return this.#welcomed(expectation, read);
        if (expectation.moved && read.type === "who") this.#namesReply(read.names, "353");
        return;
      case "names":
        if (read.type === "who") return this.#namesReply(read.names, "353", expectation.target);
        return this.s.now("366", `#${expectation.target}`, "End of /NAMES list");
      case "who":
        if (read.type === "who") {
          // The replies name the channel as the chat does; the end, the mask as it was asked.
          const room = read.room ?? this.s.room;
          const end = `#${expectation.target}`;
          return this.#namesReply(read.names, "352", room, end, expectation.whox);
        }
        return this.s.now("315", `#${expectation.target}`, "End of /WHO list");
      case "whois":
        return this.#whoisReply(expectation.target, read);
      case "list":
        if (read.type !== "rooms") return;
        this.s.now("321", "Channel", "Users  Name");
        for (const room of read.rooms) {
          const wanted = expectation.filter.length === 0 ||
            expectation.filter.some((name) => sameName(name, room.name));
          if (wanted) this.s.now("322", `#${room.name}`, String(room.count), "");
        }
        return this.s.now("323", "End of /LIST");
      case "motd":
        return this.#motd(read.type === "motd" ? read.text : null);
      case "modes":
        if (read.type !== "modes") return this.s.now("403", expectation.target, "No such channel");
        this.#secret(read.room, read.modes.includes("s"));
        this.s.now("324", `#${read.room}`, read.modes, ...read.args);
        return this.s.now("329", `#${read.room}`, String(Math.floor(Date.parse(read.made) / 1000)));
      case "invite":
        if (read.type === "inviteSent") return this.s.now("341", read.name, `#${read.room}`);
        if (read.type === "error") return this.#error(read.text);
        return;
      case "bans":
        if (read.type !== "bans") return this.s.now("403", expectation.target, "No such channel");
        for (const ban of read.bans) this.s.now("367", `#${read.room}`, ban.mask, ban.by, "0");
        return this.s.now("368", `#${read.room}`, "End of channel ban list");
      case "sync":
        return;
      case "notOn":
        if (read.type === "who") {
          return this.s.now("442", expectation.target, "You're not on that channel");
        }
        return this.s.now("403", expectation.target, "No such channel");
      case "topic":
        if (read.type !== "topic") return;
        if (read.text === null) return this.s.now("331", `#${this.s.room}`, "No topic is set");
        return this.#topic(read.text);
    }
  }

  /** RPL_TOPIC (332), and RPL_TOPICWHOTIME (333) when the door saw who set it and when. */
  #topic(text: string): void {
    const channel = `#${this.s.room}`;
    this.s.now("332", channel, text);
    const set = this.s.host.topics?.get(this.s.room.toLowerCase());
    if (set !== undefined) this.s.now("333", channel, set.by, String(Math.floor(set.at / 1000)));
  }

  /** 353 and 366, or 352 and 315, from the names of a `/who` answer. */
  #namesReply(
    shown: string[],
    code: "353" | "352",
    room = this.s.room,
    end = `#${room}`,
    whox?: WhoxQuery | null,
  ): void {
    const channel = `#${room}`;
    const full = this.s.caps.has("userhost-in-names");
    const multi = this.s.caps.has("multi-prefix");
    // `@+bob+`: operator, voiced, logged in; IRC shows the first prefix, or all with multi-prefix.
    const members = shown.map((entry) => {
      const match = /^([@+]*)(.+?)\+?$/.exec(entry);
      return { prefixes: match?.[1] ?? "", name: match?.[2] ?? entry };
    });
    if (code === "352") {
      for (const { prefixes, name } of members) {
        this.s.whoReply(channel, name, prefixes.includes("@"), whox);
      }
      return this.s.now("315", end, "End of /WHO list");
    }
    const names = members.map(({ prefixes, name }) =>
      (multi ? prefixes : prefixes.slice(0, 1)) + (full ? `${name}!${name}@${MEMBER_HOST}` : name)
    );
    // `@` for a secret channel, as RFC 2812 has it; `=` for the rest.
    const kind = this.s.secretRooms.has(room.toLowerCase()) ? "@" : "=";
    const room353 = MAX_MESSAGE_BYTES - 2 -
      bytes(formatMessage(this.s.host.serverName, "353", [this.s.target, "=", channel, "x y"])) + 3;
    let line: string[] = [];
    let size = 0;
    for (const name of names) {
      if (line.length > 0 && size + name.length + 1 > room353) {
        this.s.now("353", kind, channel, line.join(" "));
        line = [];
        size = 0;
      }
      line.push(name);
      size += bytes(name) + 1;
    }
    if (line.length > 0) this.s.now("353", kind, channel, line.join(" "));
    this.s.now("366", channel, "End of /NAMES list");
  }

  #whoisReply(nick: string, read: CoreLine): void {
    if (read.type !== "whois" || !/(?:^|, )in #/.test(read.about)) {
      this.s.now("401", nick, "No such nick/channel");
      return this.s.now("318", nick, "End of /WHOIS list");
    }
    const name = read.name;
    // The user name and real name an IRC client gave; the chat's other members have neither.
    const user = this.s.userOf(name);
    this.s.now("311", name, user.user, MEMBER_HOST, "*", user.realname);
    const room = /(?:^|, )in #(\S+)$/.exec(read.about)?.[1];
    if (room !== undefined) {
      // Every channel it is in here (its room and its seats'), else the room the core named.
      const places = (this.s.host.members?.() ?? []).filter((member) => sameName(member.name, name))
        .map((member) => `${member.operator ? "@" : ""}#${member.room}`);
      this.s.now("319", name, places.length > 0 ? places.join(" ") : `#${room}`);
    }
    this.s.now("312", name, this.s.host.serverName, read.about);
    if (user.oper) this.s.now("313", name, "is an IRC operator");
    if (user.away !== null) this.s.now("301", name, user.away);
    this.s.now("318", name, "End of /WHOIS list");
  }

  #motd(text: string | null): void {
    if (text === null) return this.s.now("422", "MOTD File is missing");
    this.s.now("375", `- ${this.s.host.serverName} Message of the day - `);
    for (const piece of splitText(text, 350)) this.s.now("372", `- ${piece}`);
    this.s.now("376", "End of /MOTD command.");
  }

  /** Lines held for an answer, in order; a room's history among them replayed as IRC has it. */
  #release(held: string[]): void {
    const start = held.indexOf(HISTORY_START);
    const end = start === -1 ? -1 : held.indexOf(HISTORY_END, start);
    if (end === -1 || !this.s.visible) {
      for (const line of held) this.fromCore(line);
      return;
    }
    for (const line of held.slice(0, start)) this.fromCore(line);
    replayHistory(this.s, held.slice(start + 1, end), (line) => this.fromCore(line));
    for (const line of held.slice(end + 1)) this.fromCore(line);
  }

  /** The welcome's answer came (the names of #lobby): the MOTD, then #lobby, then what waited. */
  #welcomed(expectation: Expectation, read: CoreLine): void {
    const held = expectation.held;
    const motdAt = held.findIndex((line) => line.startsWith("* Message of the day: "));
    const motd = motdAt === -1 ? null : held.splice(motdAt, 1)[0] as string;
    this.#motd(motd === null ? null : motd.slice("* Message of the day: ".length));
    if (this.s.host.joinLobby === false || read.type !== "who") return;
    this.s.visible = true;
    this.s.joined(this.s.me as string, `#${LOBBY}`);
    this.#namesReply(read.names, "353");
  }

  /** The numerics of a successful registration: 001 to 005 and LUSERS. */
  #welcome(name: string): void {
    this.s.host.peers?.renamed(this.s, this.s.nick, name);
    this.s.me = name;
    welcomeNumerics(this.s, name);
  }

  /** Says a core line to the client in IRC's words. */
  #translate(read: CoreLine, raw: string): void {
    const me = this.s.me;
    const channel = `#${this.s.room}`;
    switch (read.type) {
      case "greeting":
        if (me === null) this.s.corePassword = read.password;
        return;
      case "welcome":
        if (me === null) this.#welcome(read.name);
        return;
      case "message":
      case "action": {
        const text = read.type === "action" ? `\x01ACTION ${read.text}\x01` : read.text;
        if (read.from === me && !this.s.caps.has("echo-message")) return;
        if (this.s.visible) this.s.fromMember(read.from, "PRIVMSG", channel, text);
        return;
      }
      case "roomNotice":
        if (read.from === me && !this.s.caps.has("echo-message")) return;
        if (this.s.visible) this.s.fromMember(read.from, "NOTICE", channel, read.text);
        return;
      case "privateIn":
        return this.s.fromMember(read.from, "PRIVMSG", me ?? "*", read.text);
      case "privateOut":
        if (this.s.caps.has("echo-message")) {
          this.s.fromMember(read.from, "PRIVMSG", read.to, read.text);
        }
        return;
      case "joined":
        if (read.name !== me && this.s.visible) {
          this.s.heardOf(read.name);
          this.s.joined(read.name, channel);
        }
        return;
      case "left":
        if (read.name === me || !this.s.visible) return;
        if (read.room !== null) {
          return this.s.fromMember(read.name, "PART", channel, `left for #${read.room}`);
        }
        // A member in several of the client's channels quits once.
        return this.s.once(read.name, "QUIT", () => {
          this.s.fromMember(read.name, "QUIT", quitReason(read.reason));
        });
      case "parted":
        if (read.name !== me && this.s.visible) {
          this.s.fromMember(read.name, "PART", channel, read.reason);
        }
        return;
      case "renamed":
        if (read.from === me) {
          // The member's own room tells the client; a seat's room says it again.
          if (this.s.seat) return;
          this.s.host.peers?.renamed(this.s, read.from, read.to);
          this.s.me = read.to;
        } else if (!this.s.visible) return;
        return this.s.once(read.from, `NICK ${read.to}`, () => {
          this.s.fromMember(read.from, "NICK", read.to);
        });
      case "topicSet": {
        // Kept door-wide for RPL_TOPICWHOTIME; the first of the door's clients to hear it notes it.
        const topics = this.s.host.topics;
        const key = this.s.room.toLowerCase();
        if (topics !== undefined && topics.get(key)?.text !== read.text) {
          if (topics.size >= 1000) topics.clear();
          if (read.text === "") topics.delete(key);
          else topics.set(key, { by: read.name, at: Date.now(), text: read.text });
        }
        if (this.s.visible) this.s.fromMember(read.name, "TOPIC", channel, read.text);
        return;
      }
      case "topic":
        if (read.text === null) return this.s.now("331", channel, "No topic is set");
        return this.#topic(read.text);
      case "moved":
        return this.#moved(read.room);
      case "kicked":
        if (this.s.visible) {
          // No reason given: the kicker's name, as IRC servers say it.
          this.s.fromMember(read.by, "KICK", channel, read.name, read.reason || read.by);
        }
        if (read.name === me) this.s.visible = false;
        return;
      case "opChange":
        if (this.s.visible && sameName(read.room, this.s.room)) {
          this.s.fromMember(read.by, "MODE", channel, read.op ? "+o" : "-o", read.name);
        }
        return;
      case "modes":
        // Told on entering a room with modes beyond +nt: NAMES marks a secret one `@`.
        return this.#secret(read.room, read.modes.includes("s"));
      case "modeSet":
        if (!this.s.visible || !sameName(read.room, this.s.room)) return;
        this.#secretChange(read.room, read.modes);
        return this.s.fromMember(read.name, "MODE", channel, read.modes, ...read.args);
      case "invited":
        return this.s.fromMember(read.by, "INVITE", me ?? "*", `#${read.room}`);
      case "inviteSent":
        return this.s.now("341", read.name, `#${read.room}`);
      case "motd":
        return this.#motd(read.text);
      case "oper":
        this.s.oper = true;
        return this.s.now("381", "You are now an IRC operator");
      case "goodbye":
      case "historyMark":
        return;
      case "error":
        return this.#error(read.text);
      default:
        return this.s.notice(read.type === "notice" ? read.text : raw);
    }
  }

  /** The member moved to `room` (a JOIN, a PART, a kick): the client leaves and joins as it asked. */
  #moved(room: string): void {
    const me = this.s.me as string;
    if (this.s.visible && !sameName(room, this.s.room)) {
      this.s.fromMember(me, "PART", `#${this.s.room}`, `left for #${room}`);
    }
    this.s.room = room;
    const asked = this.s.joining.findIndex((name) => sameName(name, room));
    this.s.visible = asked !== -1;
    if (asked !== -1) this.s.joining.splice(0, asked + 1);
    else this.s.joining = [];
    if (!this.s.visible) return;
    this.s.joined(me, `#${room}`);
    // Its topic, history and the rest wait for the names, as IRC clients expect.
    const join = this.s.pending.find((expectation) => expectation.kind === "join");
    if (join !== undefined) join.moved = true;
  }

  /** Whether the room is secret (`+s`), as the door last heard: NAMES marks it `@`. */
  #secret(room: string, secret: boolean): void {
    if (secret) this.s.secretRooms.add(room.toLowerCase());
    else this.s.secretRooms.delete(room.toLowerCase());
  }

  /** Follows `+s` and `-s` in a mode change such as `+ks-m`. */
  #secretChange(room: string, modes: string): void {
    let sign = "+";
    for (const letter of modes) {
      if (letter === "+" || letter === "-") sign = letter;
      else if (letter === "s") this.#secret(room, sign === "+");
    }
  }
  /** The core's errors as the numerics IRC has for them, else as a notice. */
  #error(text: string): void {
    errorNumerics(this.s, text);
  }
}
