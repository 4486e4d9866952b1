/**
 * An IRC client's channel commands, as the core's room commands: JOIN moves
 * the member (its first channel; channel_router.ts gives it a seat in each
 * further one), PART takes it back to `#lobby` unseen, TOPIC, NAMES, WHO (of
 * a channel from the core, of a nick or mask from the members' list),
 * WHOIS, LIST, KICK, INVITE (`/invite`, past `+i` and `+l`) and MODE (`/mode`:
 * the room's modes, `+o`/`-o` and `+v`/`-v` among them, with 324, 329 and
 * the ban list's 367 and 368).
 *
 * @module
 */

import { sameName } from "../../protocol.ts";
import { formatMessage } from "./message.ts";
import {
  CHANNEL_LENGTH,
  LOBBY,
  MEMBER_HOST,
  prefixOf,
  type SessionState,
  TOPIC_LENGTH,
} from "./session_state.ts";
import { whoxParams, type WhoxQuery } from "./whox.ts";

/** Handles an IRC client's channel commands: see the module's description. */
export class ChannelCommands {
  /** Channel commands over `s`. */
  constructor(readonly s: SessionState) {}

  join(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") {
      return this.s.numeric("461", "JOIN", "Not enough parameters");
    }
    if (list === "0") {
      if (this.s.visible) this.part([`#${this.s.room}`]);
      return;
    }
    for (const channel of list.split(",")) {
      const room = this.s.roomOf(channel);
      if (room === null || channel.length > CHANNEL_LENGTH) {
        this.s.numeric("403", channel, "No such channel");
        continue;
      }
      if (sameName(room, this.s.room) && this.s.joining.length === 0) {
        if (this.s.visible) continue;
        // Back to the room the member is in (#lobby after a PART): only the client needs telling.
        this.s.visible = true;
        this.s.joined(this.s.me as string, `#${this.s.room}`);
        this.s.sink.toCore("/who");
        this.s.expect("join", room).moved = true;
        continue;
      }
      this.s.joining.push(room);
      const key = params[1]?.split(",")[0];
      this.s.sink.toCore(
        key === undefined || key === "" ? `/join #${room}` : `/join #${room} ${key}`,
      );
      this.s.sink.toCore("/who");
      this.s.expect("join", room);
    }
  }

  part(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") {
      return this.s.numeric("461", "PART", "Not enough parameters");
    }
    for (const channel of list.split(",")) {
      if (!this.s.isIn(channel)) {
        this.s.numeric("442", channel, "You're not on that channel");
        continue;
      }
      const reason = params[1] ?? "";
      const room = this.s.joining.at(-1) ?? this.s.room;
      this.s.reply(formatMessage(prefixOf(this.s.me as string), "PART", [`#${room}`, reason]));
      this.s.visible = false;
      // A move still on its way comes hidden now.
      this.s.joining = [];
      if (!sameName(room, LOBBY)) this.s.sink.toCore(`/part ${reason}`.trimEnd());
    }
  }

  topic(params: string[]): void {
    const channel = params[0];
    if (channel === undefined) return this.s.numeric("461", "TOPIC", "Not enough parameters");
    if (!this.s.isIn(channel)) return this.#notOn(channel);
    const text = params[1];
    if (text === undefined) {
      this.s.sink.toCore("/topic");
      this.s.expect("topic", this.s.room);
      return;
    }
    this.s.sink.toCore(text === "" ? "/topic -" : `/topic ${text.slice(0, TOPIC_LENGTH)}`);
  }

  /** 442 for a room that exists, 403 for one that does not: the core's `/who #room` tells. */
  #notOn(channel: string): void {
    const room = this.s.roomOf(channel);
    if (room === null) return this.s.numeric("403", channel, "No such channel");
    this.s.sink.toCore(`/who #${room}`);
    this.s.expect("notOn", channel);
  }

  /** Asks the core for a room's names, for NAMES or WHO. */
  #askNames(kind: "names" | "who", channel: string | undefined, whox?: WhoxQuery | null): void {
    const first = channel?.split(",")[0];
    if (first === undefined || first === "") {
      if (!this.s.visible) return this.s.numeric(kind === "names" ? "366" : "315", "*", "End");
      this.s.sink.toCore("/who");
      this.s.expect(kind, this.s.room).whox = whox;
      return;
    }
    const room = this.s.roomOf(first);
    if (room === null) {
      if (kind === "who") return this.#whoMask(first, whox);
      return this.s.numeric("366", first, "End of /NAMES list");
    }
    this.s.sink.toCore(this.s.isIn(first) ? "/who" : `/who #${room}`);
    this.s.expect(kind, room).whox = whox;
  }

  names(channel: string | undefined): void {
    this.#askNames("names", channel);
  }

  /** WHO `mask`, answered with WHOX's 354s when `whox` asks for fields. */
  who(mask: string | undefined, whox?: WhoxQuery | null): void {
    this.#askNames("who", mask, whox);
  }

  /**
   * WHO for a nick, or a mask (`*` and `?`) matched against the members' names: those
   * invisible (+i) who share no channel with the asker are left out of a mask's answer.
   */
  #whoMask(mask: string, whox?: WhoxQuery | null): void {
    const replies: string[] = [];
    const wild = /[*?]/.test(mask);
    const all = this.s.host.members?.();
    const exact = wild ? null : this.s.host.memberNamed(mask);
    if (wild && all !== undefined) {
      const pattern = new RegExp(
        `^${mask.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`,
        "i",
      );
      for (const member of all) {
        if (!pattern.test(member.name)) continue;
        const shares = this.s.visible && sameName(member.room, this.s.room);
        if (this.s.userOf(member.name).invisible && !shares && member.name !== this.s.me) continue;
        replies.push(member.name);
      }
    } else if (exact !== null) {
      replies.push(exact);
    }
    for (const name of replies) this.#whoLine(name, whox);
    this.s.numeric("315", mask, "End of /WHO list");
  }

  /** A 352 with no channel (`*`), in order behind pending answers. */
  #whoLine(name: string, whox?: WhoxQuery | null): void {
    if (whox) return this.s.numeric("354", ...whoxParams(this.s, whox, "*", name, false));
    const user = this.s.userOf(name);
    const server = this.s.host.serverName;
    const flags = this.s.whoFlags(name, false);
    this.s.numeric("352", "*", user.user, MEMBER_HOST, server, name, flags, `0 ${user.realname}`);
  }

  whois(params: string[]): void {
    const nick = params.at(-1);
    if (nick === undefined || nick === "") return this.s.numeric("431", "No nickname given");
    this.s.sink.toCore(`/whois ${nick}`);
    this.s.expect("whois", nick);
  }

  /**
   * INVITE: `/invite NAME #room`, which lets the invitee past `+i` and `+l`
   * once; the core tells the inviter (341) and the invitee (INVITE to an IRC
   * client, `* alice invited you to #dev` to a line member).
   */
  invite(params: string[]): void {
    const [nick, channel] = params;
    if (nick === undefined || channel === undefined) {
      return this.s.numeric("461", "INVITE", "Not enough parameters");
    }
    const name = this.s.host.memberNamed(nick);
    if (name === null) return this.s.numeric("401", nick, "No such nick/channel");
    if (!this.s.isIn(channel)) return this.#notOn(channel);
    const shown = `#${this.s.joining.at(-1) ?? this.s.room}`;
    const there = this.s.host.members?.().some((member) =>
      sameName(member.name, name) && sameName(`#${member.room}`, shown)
    );
    if (there) return this.s.numeric("443", name, shown, "is already on channel");
    // The core records the invitation (past +i and +l) and tells both: 341 and INVITE.
    this.s.sink.toCore(`/invite ${name} ${shown}`);
    this.s.expect("invite", name);
  }

  list(channels: string | undefined): void {
    const filter = (channels ?? "").split(",").map((channel) => this.s.roomOf(channel))
      .filter((room) => room !== null);
    this.s.sink.toCore("/rooms");
    this.s.expect("list", "", filter);
  }

  kick(params: string[]): void {
    const [channel, nick, reason] = params;
    if (channel === undefined || nick === undefined) {
      return this.s.numeric("461", "KICK", "Not enough parameters");
    }
    if (!this.s.isIn(channel)) return this.#notOn(channel);
    this.s.sink.toCore(`/kick ${nick} ${reason ?? ""}`.trimEnd());
  }

  mode(params: string[]): void {
    const target = params[0];
    if (target === undefined) return this.s.numeric("461", "MODE", "Not enough parameters");
    const room = this.s.roomOf(target);
    if (room === null) {
      if (this.s.me === null || !sameName(target, this.s.me)) {
        if (this.s.host.memberNamed(target) === null) {
          return this.s.numeric("401", target, "No such nick/channel");
        }
        return this.s.numeric("502", "Cannot change mode for other users");
      }
      if (params[1] === undefined) return this.s.numeric("221", this.s.invisible ? "+i" : "+");
      // +i hides the member from WHO masks (the door's answer); +w asks for nothing the chat does.
      if (/^[+-][iw]*$/.test(params[1])) {
        if (params[1].includes("i")) {
          const invisible = params[1].startsWith("+");
          if (invisible !== this.s.invisible) {
            this.s.invisible = invisible;
            this.s.fromMember(
              this.s.me as string,
              "MODE",
              this.s.me as string,
              invisible ? "+i" : "-i",
            );
          }
        }
        return;
      }
      return this.s.numeric("501", "Unknown MODE flag");
    }
    const modes = params[1];
    if (modes === undefined) {
      // Anyone may ask a channel's modes; the core keeps a secret one's to its members.
      this.s.sink.toCore(`/mode #${room}`);
      this.s.expect("modes", target);
      return;
    }
    if (/^\+?b$/.test(modes) && params[2] === undefined) {
      this.s.sink.toCore(`/mode #${room} +b`);
      this.s.expect("bans", target);
      return;
    }
    // 442 for a room that exists, 403 for one that does not.
    if (!this.s.isIn(target)) return this.#notOn(target);
    // The core applies the changes in order and tells the channel in one line, as MODE.
    const args = params.slice(2).map((arg) => arg.split(" ")[0] as string);
    this.s.sink.toCore(`/mode #${room} ${[modes, ...args].join(" ")}`.trimEnd());
  }
}
