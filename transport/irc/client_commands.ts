/**
 * An IRC client's commands: the registration (CAP, PASS, NICK, USER), PING,
 * QUIT, messages (PRIVMSG, NOTICE, CTCP) and the small questions the door
 * answers itself (LUSERS, ISON, USERHOST, AWAY, VERSION, TIME); the channel
 * commands are channel_commands.ts's.
 *
 * @module
 */

import { cleanNickname, isQuitWord, MAX_NAME_LENGTH } from "../../protocol.ts";
import type { ChannelRouter } from "./channel_router.ts";
import { Sasl } from "./sasl.ts";
import { formatMessage, type IrcMessage, MAX_MESSAGE_BYTES } from "./message.ts";
import {
  bytes,
  CAPABILITIES,
  CTCP,
  LOBBY,
  lusers,
  MAX_TARGETS,
  MEMBER_HOST,
  prefixOf,
  type SessionState,
  VERSION,
} from "./session_state.ts";
import { parseWhox } from "./whox.ts";

/** Handles what an IRC client sends: see the module's description. */
export class ClientCommands {
  readonly #sasl: Sasl;

  /** Commands over `s`, handing channel commands to `channels`. */
  constructor(readonly s: SessionState, readonly channels: ChannelRouter) {
    this.#sasl = new Sasl(s, () => this.#register());
  }

  /** Handles one message from the client. */
  handle(message: IrcMessage): void {
    const { command, params } = message;
    switch (command) {
      case "CAP":
        return this.#cap(params);
      case "PASS":
        if (this.s.registered) return this.s.numeric("462", "You may not reregister");
        if (params[0] === undefined) return this.s.numeric("461", "PASS", "Not enough parameters");
        this.s.password = params[0];
        return;
      case "NICK":
        return this.#nickCommand(params);
      case "USER":
        if (this.s.registered) return this.s.numeric("462", "You may not reregister");
        if (params.length < 4 || params[0] === "" || params[3] === "") {
          return this.s.numeric("461", "USER", "Not enough parameters");
        }
        this.s.user = params[0] as string;
        this.s.realname = params[3] as string;
        return this.#register();
      case "PING": {
        if (params[0] === undefined) return this.s.numeric("409", "No origin specified");
        const server = this.s.host.serverName;
        const pong = formatMessage(server, "PONG", [server, params[0]]);
        if (this.s.me === null) return this.s.reply(pong);
        // The core's answers to the lines before go out in its later turns, each channel's in
        // its own: the PONG follows them all, behind a question that costs nothing (`/topic`).
        const views = this.channels.views;
        let waiting = views.length;
        for (const view of views) {
          view.sink.toCore("/topic");
          view.expect("sync", "").done = () => {
            if (--waiting === 0) this.s.reply(pong);
          };
        }
        return;
      }
      case "PONG":
        return;
      case "AUTHENTICATE":
        return this.#sasl.authenticate(params);
      case "QUIT":
        if (this.s.me === null) return this.s.sink.close(`Quit: ${params[0] ?? ""}`.trimEnd());
        // Its reason is told to its rooms (one line: the core's line ends it).
        return this.s.sink.toCore(`/quit ${params[0] ?? ""}`.trimEnd());
    }
    if (this.s.me === null) {
      // The core answers the nickname with the welcome; until then only the above make sense.
      return this.s.numeric("451", "You have not registered");
    }
    switch (command) {
      case "JOIN":
        return this.channels.join(params);
      case "PART":
        return this.channels.part(params);
      case "PRIVMSG":
      case "NOTICE":
        return this.#privmsg(command, params);
      case "TAGMSG":
        // message-tags: a message of tags only; the chat carries no client tags, so none is sent.
        return;
      case "TOPIC":
        return this.channels.topic(params);
      case "NAMES":
        return this.channels.names(params[0]);
      case "WHO":
        return this.channels.who(params[0], parseWhox(params[1]));
      case "WHOIS":
        return this.channels.whois(params);
      case "LIST":
        return this.channels.list(params[0]);
      case "KICK":
        return this.channels.kick(params);
      case "INVITE":
        return this.channels.invite(params);
      case "MODE":
        return this.channels.mode(params);
      case "OPER":
        if (params.length < 2) return this.s.numeric("461", "OPER", "Not enough parameters");
        return this.s.sink.toCore(`/oper ${params[1]}`);
      case "MOTD":
        this.s.sink.toCore("/motd");
        this.s.expect("motd", "");
        return;
      case "LUSERS":
        return this.#lusers();
      case "ISON":
        return this.#ison(params);
      case "USERHOST":
        return this.#userhost(params);
      case "AWAY":
        this.s.away = params[0] || null;
        this.#tellAway();
        if (this.s.away === null) {
          return this.s.numeric("305", "You are no longer marked as being away");
        }
        return this.s.numeric("306", "You have been marked as being away");
      case "VERSION":
        return this.s.numeric("351", VERSION, this.s.host.serverName, "IRC door of the chat");
      case "TIME":
        return this.s.numeric("391", this.s.host.serverName, new Date().toUTCString());
      default:
        return this.s.numeric("421", command, "Unknown command");
    }
  }

  #cap(params: string[]): void {
    const sub = params[0]?.toUpperCase();
    if (sub === undefined) return this.s.numeric("461", "CAP", "Not enough parameters");
    const cap = (...rest: string[]) =>
      this.s.reply(formatMessage(this.s.host.serverName, "CAP", [this.s.target, ...rest]));
    switch (sub) {
      case "LS": {
        if (!this.s.registered) this.s.negotiating = true;
        if (Number(params[1]) >= 302) this.s.cap302 = true;
        // Version 302 lists values: the one SASL mechanism.
        const offered = this.s.host.logInBeforeName === undefined
          ? CAPABILITIES.filter((name) => name !== "sasl")
          : CAPABILITIES.map((name) => name === "sasl" && this.s.cap302 ? "sasl=PLAIN" : name);
        return cap("LS", offered.join(" "));
      }
      case "LIST":
        return cap("LIST", [...this.s.caps].join(" "));
      case "REQ": {
        if (!this.s.registered) this.s.negotiating = true;
        const asked = params[1] ?? "";
        const wanted = asked.split(" ").filter((word) => word !== "");
        const known = wanted.every((word) => CAPABILITIES.includes(word.replace(/^-/, "")));
        if (!known || wanted.length === 0) return cap("NAK", asked);
        for (const word of wanted) {
          if (word.startsWith("-")) this.s.caps.delete(word.slice(1));
          else this.s.caps.add(word);
        }
        return cap("ACK", asked);
      }
      case "END":
        if (this.s.registered) return;
        this.s.negotiating = false;
        return this.#register();
      default:
        return this.s.numeric("410", params[0] as string, "Invalid CAP command");
    }
  }

  /** Whether `nick` is a name the chat keeps as it is (else IRC's 432). */
  #validNick(nick: string): boolean {
    return nick.length <= MAX_NAME_LENGTH && cleanNickname(nick) === nick;
  }

  #nickCommand(params: string[]): void {
    const nick = params[0];
    if (nick === undefined || nick === "") return this.s.numeric("431", "No nickname given");
    if (!this.#validNick(nick)) return this.s.numeric("432", nick, "Erroneous nickname");
    if (!this.s.registered) {
      if (this.s.host.nameTaken(nick)) {
        return this.s.numeric("433", nick, "Nickname is already in use");
      }
      this.s.nick = nick;
      return this.#register();
    }
    if (this.s.me === null || nick === this.s.me) return;
    this.s.sink.toCore(`/nick ${nick}`);
  }

  /** Hands the core the password and the name once NICK, USER and any CAP negotiation are done. */
  #register(): void {
    const nick = this.s.nick;
    if (this.s.registered || nick === null || this.s.user === null || this.s.negotiating) return;
    // A SASL check under way decides the name: registration goes on once it ends.
    if (this.s.saslBusy) return;
    // Logged in with SASL: the name is the account's, whatever NICK said.
    if (this.s.account === null && this.s.host.nameTaken(nick)) {
      this.s.nick = null;
      return this.s.numeric("433", nick, "Nickname is already in use");
    }
    this.s.registered = true;
    this.s.host.peers?.renamed(this.s, null, nick);
    if (this.s.corePassword) this.s.sink.toCore(this.s.password ?? "");
    this.s.sink.toCore(nick);
    // The names of #lobby, for the JOIN the client is shown after the welcome.
    this.s.sink.toCore("/who");
    const welcome = this.s.expect("join", LOBBY);
    welcome.welcome = true;
  }

  /** Text as the core must get it to post it: a leading `/` doubled. */
  #posted(text: string): string | null {
    if (isQuitWord(text)) return null;
    return text.startsWith("/") ? `/${text}` : text;
  }

  #privmsg(command: "PRIVMSG" | "NOTICE", params: string[]): void {
    const notice = command === "NOTICE";
    const targets = params[0];
    if (targets === undefined || targets === "") {
      if (!notice) this.s.numeric("411", `No recipient given (${command})`);
      return;
    }
    const text = params[1] ?? "";
    if (text === "") {
      if (!notice) this.s.numeric("412", "No text to send");
      return;
    }
    const list = targets.split(",");
    if (list.length > MAX_TARGETS) {
      return this.s.numeric("407", targets, `Too many targets: at most ${MAX_TARGETS}`);
    }
    for (const target of list) {
      // What would not fit one line at an IRC recipient, once the sender's prefix is on it, is
      // refused whole rather than cut or split.
      // The common message is far too short to measure: 3 bytes a UTF-16 unit at most.
      const head = `:${prefixOf(this.s.me as string)} ${command} ${target} :`;
      const most = (head.length + text.length) * 3 + 2;
      if (most > MAX_MESSAGE_BYTES && bytes(head) + bytes(text) + 2 > MAX_MESSAGE_BYTES) {
        this.s.numeric("417", "Input line was too long");
        continue;
      }
      this.#sendTo(target, text, notice);
    }
  }

  #sendTo(target: string, text: string, notice: boolean): void {
    const channel = target.startsWith("#");
    let body = text;
    if (text.startsWith("\x01")) {
      const ctcp = text.slice(1, text.endsWith(CTCP) && text.length > 1 ? -1 : undefined);
      const space = ctcp.indexOf(" ");
      const verb = (space === -1 ? ctcp : ctcp.slice(0, space)).toUpperCase();
      const rest = space === -1 ? "" : ctcp.slice(space + 1);
      if (verb !== "ACTION") {
        if (!notice) this.#ctcp(target, verb, rest);
        return;
      }
      if (channel) {
        const view = this.channels.viewOf(target);
        if (view === null) return this.#cannotSend(target, notice);
        if (rest !== "") view.sink.toCore(`/me ${rest}`);
        return;
      }
      body = `* ${this.s.me} ${rest}`;
    }
    if (channel) {
      const view = this.channels.viewOf(target);
      if (view === null) {
        // From outside: the room takes it when it is -n, else the core says why not (404).
        if (!notice) this.s.sink.toCore(`/msg ${target} ${body}`);
        return;
      }
      const posted = this.#posted(body);
      if (posted === null) {
        if (!notice) this.s.numeric("404", target, "The chat reads that word as leaving; not sent");
        return;
      }
      // A NOTICE stays one: nobody (no bot) answers it.
      view.sink.toCore(notice ? `/notice ${body}` : posted);
      return;
    }
    const name = this.s.host.memberNamed(target);
    if (notice && name === null) return;
    this.s.sink.toCore(`/msg ${target} ${body}`);
    const away = name === null ? null : this.s.userOf(name).away;
    if (!notice && name !== null && away !== null) this.s.numeric("301", name, away);
  }

  #cannotSend(channel: string, notice: boolean): void {
    if (notice) return;
    this.s.numeric("404", channel, "Cannot send to channel (you are not in it)");
  }

  /** Answers a CTCP request for any target: the chat's members have no CTCP of their own. */
  #ctcp(target: string, verb: string, rest: string): void {
    const name = target.startsWith("#") ? target : this.s.host.memberNamed(target);
    if (name === null) return this.s.numeric("401", target, "No such nick/channel");
    const answer = verb === "VERSION"
      ? `VERSION ${VERSION}`
      : verb === "PING"
      ? `PING ${rest}`.trimEnd()
      : verb === "TIME"
      ? `TIME ${new Date().toUTCString()}`
      : verb === "CLIENTINFO"
      ? "CLIENTINFO ACTION CLIENTINFO PING TIME VERSION"
      : null;
    if (answer === null) return;
    const source = name.startsWith("#") ? this.s.host.serverName : prefixOf(name);
    this.s.reply(formatMessage(source, "NOTICE", [this.s.me as string, `\x01${answer}\x01`]));
  }

  /** away-notify: the door's clients that asked for it and share a channel hear the change. */
  #tellAway(): void {
    const me = this.s.me;
    if (me === null) return;
    const roomsOf = new Map<string, Set<string>>();
    for (const member of this.s.host.members?.() ?? []) {
      const key = member.name.toLowerCase();
      if (!roomsOf.has(key)) roomsOf.set(key, new Set());
      roomsOf.get(key)?.add(member.room);
    }
    const mine = roomsOf.get(me.toLowerCase()) ?? new Set<string>();
    const params = this.s.away === null ? [] : [this.s.away];
    for (const peer of this.s.host.peers?.all ?? []) {
      if (peer === this.s || peer.me === null || !peer.caps.has("away-notify")) continue;
      const theirs = roomsOf.get(peer.me.toLowerCase());
      if (theirs === undefined || ![...theirs].some((room) => mine.has(room))) continue;
      peer.sink.toClient(formatMessage(prefixOf(me), "AWAY", params));
    }
  }

  #lusers(): void {
    for (const [code, ...params] of lusers(this.s)) this.s.numeric(code as string, ...params);
  }

  #ison(params: string[]): void {
    const asked = params.join(" ").split(" ").filter((nick) => nick !== "");
    if (asked.length === 0) return this.s.numeric("461", "ISON", "Not enough parameters");
    const here = asked.map((nick) => this.s.host.memberNamed(nick)).filter((name) => name !== null);
    this.s.numeric("303", here.join(" "));
  }

  #userhost(params: string[]): void {
    if (params.length === 0) return this.s.numeric("461", "USERHOST", "Not enough parameters");
    const found = params.slice(0, 5).map((nick) => this.s.host.memberNamed(nick))
      .filter((name) => name !== null)
      .map((name) => {
        const user = this.s.userOf(name);
        const oper = user.oper ? "*" : "";
        return `${name}${oper}=${user.away === null ? "+" : "-"}${user.user}@${MEMBER_HOST}`;
      });
    this.s.numeric("302", found.join(" "));
  }
}
