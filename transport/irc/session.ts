/**
 * One IRC client's conversation with the chat, without sockets: the
 * registration (CAP, PASS, NICK, USER), the client's commands turned into the
 * core's lines (`PRIVMSG #dev :hi` is `hi`, `JOIN #dev` is `/join #dev`), and
 * the core's lines turned into IRC messages (`alice: hi` is
 * `:alice!alice@chat PRIVMSG #dev :hi`). {@linkcode IrcConnection} carries it
 * over a socket; a test drives it through an {@linkcode IrcSessionSink}.
 *
 * The core keeps a member in one room: JOIN moves it (the client is told it
 * left the old channel), PART and KICK take it back to `#lobby`, which the
 * client then does not see until it joins `#lobby` again.
 *
 * Where the door asks the core something itself (`/who` for NAMES, `/whois`
 * for WHOIS), it expects the answer in the core's order, turns it into the
 * numerics and shows nothing else of it; its own replies (PONG, ISON) wait
 * behind such answers, so the client reads everything in the order it asked.
 *
 * @module
 */

import { cleanNickname, isQuitWord, MAX_NAME_LENGTH, sameName } from "../../protocol.ts";
import { type CoreLine, readCoreLine } from "./core_lines.ts";
import { formatMessage, type IrcMessage, MAX_MESSAGE_BYTES } from "./message.ts";

/** The room everyone starts in. */
const LOBBY = "lobby";
/** The host part of every member's prefix: the chat tells nobody where anyone connects from. */
export const MEMBER_HOST = "chat";
/** Longest channel name: `#` and the core's 32 characters. */
const CHANNEL_LENGTH = 33;
/** Longest topic the door announces (the core's line cap is far above IRC's). */
const TOPIC_LENGTH = 390;
/** What VERSION and CTCP VERSION answer. */
const VERSION = "chat-irc-door-0.1";
/** What starts and ends a CTCP message (a client-to-client request such as ACTION). */
const CTCP = "\x01";
/** The capabilities offered (CAP LS). */
const CAPABILITIES = ["echo-message", "multi-prefix", "userhost-in-names"];

/** What a session says and does, which its connection carries out. */
export interface IrcSessionSink {
  /** Sends one IRC message (without CR LF) to the client. */
  toClient(line: string): void;
  /** Hands the core one line, as if the member typed it. */
  toCore(line: string): void;
  /** Ends the connection after `ERROR :Closing Link: ...` with `reason`. */
  close(reason: string): void;
}

/** What a session may ask of the server. */
export interface IrcSessionHost {
  /** The name in prefixes and numerics (`--irc-server-name`). */
  serverName: string;
  /** Whether asking the core for `name` would give another (433). */
  nameTaken(name: string): boolean;
  /** The member here with that name by the lookalike rule, or null (ISON, USERHOST). */
  memberNamed(name: string): string | null;
  /** Connections open, for LUSERS. */
  connectionCount(): number;
  /** Whether a new member is shown `#lobby` right after registration. @default {true} */
  joinLobby?: boolean;
}

/** A core answer the door waits for, to turn into numerics. */
interface Expectation {
  kind: "join" | "names" | "who" | "whois" | "list" | "motd" | "topic" | "sync" | "notOn";
  /** The channel (without `#`) or nick asked about. */
  target: string;
  /** For a join: whether the move happened, after which the room's lines wait for the names. */
  moved: boolean;
  /** The first join after registration: it holds the welcome's lines (MOTD, history). */
  welcome: boolean;
  /** Core lines held until the answer (a join's history). */
  held: string[];
  /** The door's own replies sent after the question, to follow its answer. */
  after: string[];
  /** For LIST: the channels asked for (empty: all). */
  filter: string[];
}

/** The byte length of a string in UTF-8. */
function bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Cuts `text` into pieces of at most `max` UTF-8 bytes, at character boundaries. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  let size = 0;
  for (const char of text) {
    const length = bytes(char);
    if (size + length > max && piece !== "") {
      pieces.push(piece);
      piece = "";
      size = 0;
    }
    piece += char;
    size += length;
  }
  if (piece !== "" || pieces.length === 0) pieces.push(piece);
  return pieces;
}

/** A member's prefix. */
function prefixOf(name: string): string {
  return `${name}!${name}@${MEMBER_HOST}`;
}

/** What the others are told when a line member leaves, as IRC's QUIT reason. */
function quitReason(reason: string | null): string {
  if (reason === null) return "Quit";
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

/** One IRC client's side of the chat: see the module's description. */
export class IrcSession {
  readonly #sink: IrcSessionSink;
  readonly #host: IrcSessionHost;
  /** The nickname asked for, before registration. */
  #nick: string | null = null;
  #user: string | null = null;
  #realname = "";
  #password: string | null = null;
  /** CAP LS or REQ began a negotiation that CAP END has not ended. */
  #negotiating = false;
  readonly #caps = new Set<string>();
  /** The core asked for a password first. */
  #corePassword = false;
  /** The nickname was handed to the core. */
  #registered = false;
  /** The name the core gave, once welcomed. */
  #me: string | null = null;
  /** The room the member is in, as the core names it. */
  #room = LOBBY;
  /** Whether the client thinks it is in `#room` (it joined it, and did not part). */
  #visible = false;
  /** Rooms the client asked to join whose move has not come yet. */
  #joining: string[] = [];
  readonly #pending: Expectation[] = [];
  #away: string | null = null;

  /** A session that speaks through `sink`. */
  constructor(sink: IrcSessionSink, host: IrcSessionHost) {
    this.#sink = sink;
    this.#host = host;
  }

  /** The member's name once the core welcomed it. */
  get name(): string | null {
    return this.#me;
  }

  // -------------------------------------------------------------------------
  // Out to the client

  /** The nick in numerics: `*` before the welcome. */
  get #target(): string {
    return this.#me ?? this.#nick ?? "*";
  }

  /** Sends now, or after the answers the client asked for before. */
  #reply(line: string): void {
    const last = this.#pending.at(-1);
    if (last !== undefined) last.after.push(line);
    else this.#sink.toClient(line);
  }

  /** A numeric from the server, in order behind pending answers. */
  #numeric(code: string, ...params: string[]): void {
    this.#reply(formatMessage(this.#host.serverName, code, [this.#target, ...params]));
  }

  /** A numeric sent now (part of an answer being given). */
  #now(code: string, ...params: string[]): void {
    this.#sink.toClient(formatMessage(this.#host.serverName, code, [this.#target, ...params]));
  }

  /** A message from `source`, its last parameter cut to fit IRC's 512 bytes when needed. */
  #say(source: string, command: string, params: string[]): void {
    const head = params.slice(0, -1);
    const text = params.at(-1) ?? "";
    const room = MAX_MESSAGE_BYTES - 2 - bytes(formatMessage(source, command, [...head, "x y"])) +
      3;
    if (bytes(text) <= room) {
      this.#sink.toClient(formatMessage(source, command, [...head, text]));
      return;
    }
    // A CTCP ACTION is cut inside its quotes, so that each piece is an action.
    const action = text.startsWith(`${CTCP}ACTION `) && text.endsWith(CTCP)
      ? text.slice(8, -1)
      : undefined;
    const pieces = action === undefined
      ? splitText(text, Math.max(room, 1))
      : splitText(action, Math.max(room - 9, 1)).map((piece) => `\x01ACTION ${piece}\x01`);
    for (const piece of pieces) {
      this.#sink.toClient(formatMessage(source, command, [...head, piece]));
    }
  }

  #fromMember(name: string, command: string, ...params: string[]): void {
    this.#say(prefixOf(name), command, params);
  }

  #fromServer(command: string, ...params: string[]): void {
    this.#say(this.#host.serverName, command, params);
  }

  // -------------------------------------------------------------------------
  // From the client

  /** A line over IRC's cap was dropped: 417, in order with the other replies. */
  inputTooLong(): void {
    this.#numeric("417", "Input line was too long");
  }

  /** Handles one message from the client. */
  handle(message: IrcMessage): void {
    const { command, params } = message;
    switch (command) {
      case "CAP":
        return this.#cap(params);
      case "PASS":
        if (this.#registered) return this.#numeric("462", "You may not reregister");
        if (params[0] === undefined) return this.#numeric("461", "PASS", "Not enough parameters");
        this.#password = params[0];
        return;
      case "NICK":
        return this.#nickCommand(params);
      case "USER":
        if (this.#registered) return this.#numeric("462", "You may not reregister");
        if (params.length < 4 || params[0] === "" || params[3] === "") {
          return this.#numeric("461", "USER", "Not enough parameters");
        }
        this.#user = params[0] as string;
        this.#realname = params[3] as string;
        return this.#register();
      case "PING":
        if (params[0] === undefined) return this.#numeric("409", "No origin specified");
        if (this.#me !== null) {
          // The core's answers to the lines before go out in its later turns: the PONG follows
          // them, behind the answer to a question that costs the core nothing (`/topic`).
          this.#sink.toCore("/topic");
          this.#expect("sync", "");
        }
        return this.#reply(
          formatMessage(this.#host.serverName, "PONG", [this.#host.serverName, params[0]]),
        );
      case "PONG":
        return;
      case "QUIT":
        if (this.#me === null) return this.#sink.close(`Quit: ${params[0] ?? ""}`.trimEnd());
        return this.#sink.toCore("/quit");
    }
    if (this.#me === null) {
      // The core answers the nickname with the welcome; until then only the above make sense.
      return this.#numeric("451", "You have not registered");
    }
    switch (command) {
      case "JOIN":
        return this.#join(params);
      case "PART":
        return this.#part(params);
      case "PRIVMSG":
      case "NOTICE":
        return this.#privmsg(command, params);
      case "TOPIC":
        return this.#topic(params);
      case "NAMES":
        return this.#names(params[0]);
      case "WHO":
        return this.#who(params[0]);
      case "WHOIS":
        return this.#whois(params);
      case "LIST":
        return this.#list(params[0]);
      case "KICK":
        return this.#kick(params);
      case "MODE":
        return this.#mode(params);
      case "OPER":
        if (params.length < 2) return this.#numeric("461", "OPER", "Not enough parameters");
        return this.#sink.toCore(`/oper ${params[1]}`);
      case "MOTD":
        this.#sink.toCore("/motd");
        this.#expect("motd", "");
        return;
      case "LUSERS":
        return this.#lusers();
      case "ISON":
        return this.#ison(params);
      case "USERHOST":
        return this.#userhost(params);
      case "AWAY":
        this.#away = params[0] || null;
        if (this.#away === null) {
          return this.#numeric("305", "You are no longer marked as being away");
        }
        return this.#numeric("306", "You have been marked as being away");
      case "VERSION":
        return this.#numeric("351", VERSION, this.#host.serverName, "IRC door of the chat");
      case "TIME":
        return this.#numeric("391", this.#host.serverName, new Date().toUTCString());
      default:
        return this.#numeric("421", command, "Unknown command");
    }
  }

  #expect(kind: Expectation["kind"], target: string, filter: string[] = []): Expectation {
    const expectation: Expectation = {
      kind,
      target,
      moved: false,
      welcome: false,
      held: [],
      after: [],
      filter,
    };
    this.#pending.push(expectation);
    return expectation;
  }

  #cap(params: string[]): void {
    const sub = params[0]?.toUpperCase();
    if (sub === undefined) return this.#numeric("461", "CAP", "Not enough parameters");
    const cap = (...rest: string[]) =>
      this.#reply(formatMessage(this.#host.serverName, "CAP", [this.#target, ...rest]));
    switch (sub) {
      case "LS":
        if (!this.#registered) this.#negotiating = true;
        return cap("LS", CAPABILITIES.join(" "));
      case "LIST":
        return cap("LIST", [...this.#caps].join(" "));
      case "REQ": {
        if (!this.#registered) this.#negotiating = true;
        const asked = params[1] ?? "";
        const wanted = asked.split(" ").filter((word) => word !== "");
        const known = wanted.every((word) => CAPABILITIES.includes(word.replace(/^-/, "")));
        if (!known || wanted.length === 0) return cap("NAK", asked);
        for (const word of wanted) {
          if (word.startsWith("-")) this.#caps.delete(word.slice(1));
          else this.#caps.add(word);
        }
        return cap("ACK", asked);
      }
      case "END":
        if (this.#registered) return;
        this.#negotiating = false;
        return this.#register();
      default:
        return this.#numeric("410", params[0] as string, "Invalid CAP command");
    }
  }

  /** Whether `nick` is a name the chat keeps as it is (else IRC's 432). */
  #validNick(nick: string): boolean {
    return nick.length <= MAX_NAME_LENGTH && cleanNickname(nick) === nick;
  }

  #nickCommand(params: string[]): void {
    const nick = params[0];
    if (nick === undefined || nick === "") return this.#numeric("431", "No nickname given");
    if (!this.#validNick(nick)) return this.#numeric("432", nick, "Erroneous nickname");
    if (!this.#registered) {
      if (this.#host.nameTaken(nick)) {
        return this.#numeric("433", nick, "Nickname is already in use");
      }
      this.#nick = nick;
      return this.#register();
    }
    if (this.#me === null || nick === this.#me) return;
    this.#sink.toCore(`/nick ${nick}`);
  }

  /** Hands the core the password and the name once NICK, USER and any CAP negotiation are done. */
  #register(): void {
    const nick = this.#nick;
    if (this.#registered || nick === null || this.#user === null || this.#negotiating) return;
    if (this.#host.nameTaken(nick)) {
      this.#nick = null;
      return this.#numeric("433", nick, "Nickname is already in use");
    }
    this.#registered = true;
    if (this.#corePassword) this.#sink.toCore(this.#password ?? "");
    this.#sink.toCore(nick);
    // The names of #lobby, for the JOIN the client is shown after the welcome.
    this.#sink.toCore("/who");
    const welcome = this.#expect("join", LOBBY);
    welcome.welcome = true;
  }

  /** A channel parameter's room name, or null when it is no channel. */
  #roomOf(channel: string): string | null {
    return channel.startsWith("#") && channel.length > 1 ? channel.slice(1) : null;
  }

  /**
   * Whether the client is in `channel`, or will be once the core has done
   * the JOIN it was sent last (a client may send JOIN and PRIVMSG at once).
   */
  #isIn(channel: string): boolean {
    const room = this.#roomOf(channel);
    if (room === null) return false;
    const last = this.#joining.at(-1);
    if (last !== undefined) return sameName(room, last);
    return this.#visible && sameName(room, this.#room);
  }

  #join(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") {
      return this.#numeric("461", "JOIN", "Not enough parameters");
    }
    if (list === "0") {
      if (this.#visible) this.#part([`#${this.#room}`]);
      return;
    }
    for (const channel of list.split(",")) {
      const room = this.#roomOf(channel);
      if (room === null || channel.length > CHANNEL_LENGTH) {
        this.#numeric("403", channel, "No such channel");
        continue;
      }
      if (sameName(room, this.#room) && this.#joining.length === 0) {
        if (this.#visible) continue;
        // Back to the room the member is in (#lobby after a PART): only the client needs telling.
        this.#visible = true;
        this.#fromMember(this.#me as string, "JOIN", `#${this.#room}`);
        this.#sink.toCore("/who");
        this.#expect("join", room).moved = true;
        continue;
      }
      this.#joining.push(room);
      this.#sink.toCore(`/join #${room}`);
      this.#sink.toCore("/who");
      this.#expect("join", room);
    }
  }

  #part(params: string[]): void {
    const list = params[0];
    if (list === undefined || list === "") {
      return this.#numeric("461", "PART", "Not enough parameters");
    }
    for (const channel of list.split(",")) {
      if (!this.#isIn(channel)) {
        this.#numeric("442", channel, "You're not on that channel");
        continue;
      }
      const reason = params[1] ?? "";
      const room = this.#joining.at(-1) ?? this.#room;
      this.#reply(formatMessage(prefixOf(this.#me as string), "PART", [`#${room}`, reason]));
      this.#visible = false;
      // A move still on its way comes hidden now.
      this.#joining = [];
      if (!sameName(room, LOBBY)) this.#sink.toCore("/part");
    }
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
      if (!notice) this.#numeric("411", `No recipient given (${command})`);
      return;
    }
    const text = params[1] ?? "";
    if (text === "") {
      if (!notice) this.#numeric("412", "No text to send");
      return;
    }
    for (const target of targets.split(",")) this.#sendTo(target, text, notice);
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
        if (!this.#isIn(target)) return this.#cannotSend(target, notice);
        if (rest !== "") this.#sink.toCore(`/me ${rest}`);
        return;
      }
      body = `* ${this.#me} ${rest}`;
    }
    if (channel) {
      if (!this.#isIn(target)) return this.#cannotSend(target, notice);
      const posted = this.#posted(body);
      if (posted === null) {
        if (!notice) this.#numeric("404", target, "The chat reads that word as leaving; not sent");
        return;
      }
      this.#sink.toCore(posted);
      return;
    }
    if (notice && this.#host.memberNamed(target) === null) return;
    this.#sink.toCore(`/msg ${target} ${body}`);
  }

  #cannotSend(channel: string, notice: boolean): void {
    if (notice) return;
    this.#numeric("404", channel, `Cannot send to channel (you are in #${this.#room})`);
  }

  /** Answers a CTCP request for any target: the chat's members have no CTCP of their own. */
  #ctcp(target: string, verb: string, rest: string): void {
    const name = target.startsWith("#") ? target : this.#host.memberNamed(target);
    if (name === null) return this.#numeric("401", target, "No such nick/channel");
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
    const source = name.startsWith("#") ? this.#host.serverName : prefixOf(name);
    this.#reply(formatMessage(source, "NOTICE", [this.#me as string, `\x01${answer}\x01`]));
  }

  #topic(params: string[]): void {
    const channel = params[0];
    if (channel === undefined) return this.#numeric("461", "TOPIC", "Not enough parameters");
    if (!this.#isIn(channel)) return this.#notOn(channel);
    const text = params[1];
    if (text === undefined) {
      this.#sink.toCore("/topic");
      this.#expect("topic", this.#room);
      return;
    }
    this.#sink.toCore(text === "" ? "/topic -" : `/topic ${text.slice(0, TOPIC_LENGTH)}`);
  }

  /** 442 for a room that exists, 403 for one that does not: the core's `/who #room` tells. */
  #notOn(channel: string): void {
    const room = this.#roomOf(channel);
    if (room === null) return this.#numeric("403", channel, "No such channel");
    this.#sink.toCore(`/who #${room}`);
    this.#expect("notOn", channel);
  }

  /** Asks the core for a room's names, for NAMES or WHO. */
  #askNames(kind: "names" | "who", channel: string | undefined): void {
    const first = channel?.split(",")[0];
    if (first === undefined || first === "") {
      if (!this.#visible) return this.#numeric(kind === "names" ? "366" : "315", "*", "End");
      this.#sink.toCore("/who");
      this.#expect(kind, this.#room);
      return;
    }
    const room = this.#roomOf(first);
    if (room === null) {
      if (kind === "who") return this.#whoNick(first);
      return this.#numeric("366", first, "End of /NAMES list");
    }
    this.#sink.toCore(this.#isIn(first) ? "/who" : `/who #${room}`);
    this.#expect(kind, room);
  }

  #names(channel: string | undefined): void {
    this.#askNames("names", channel);
  }

  #who(mask: string | undefined): void {
    this.#askNames("who", mask);
  }

  #whoNick(nick: string): void {
    const name = this.#host.memberNamed(nick);
    if (name !== null) {
      this.#numeric("352", "*", name, MEMBER_HOST, this.#host.serverName, name, "H", `0 ${name}`);
    }
    this.#numeric("315", nick, "End of /WHO list");
  }

  #whois(params: string[]): void {
    const nick = params.at(-1);
    if (nick === undefined || nick === "") return this.#numeric("431", "No nickname given");
    this.#sink.toCore(`/whois ${nick}`);
    this.#expect("whois", nick);
  }

  #list(channels: string | undefined): void {
    const filter = (channels ?? "").split(",").map((channel) => this.#roomOf(channel))
      .filter((room) => room !== null);
    this.#sink.toCore("/rooms");
    this.#expect("list", "", filter);
  }

  #kick(params: string[]): void {
    const [channel, nick, reason] = params;
    if (channel === undefined || nick === undefined) {
      return this.#numeric("461", "KICK", "Not enough parameters");
    }
    if (!this.#isIn(channel)) return this.#numeric("442", channel, "You're not on that channel");
    this.#sink.toCore(`/kick ${nick} ${reason ?? ""}`.trimEnd());
  }

  #mode(params: string[]): void {
    const target = params[0];
    if (target === undefined) return this.#numeric("461", "MODE", "Not enough parameters");
    const room = this.#roomOf(target);
    if (room === null) {
      if (this.#me === null || !sameName(target, this.#me)) {
        if (this.#host.memberNamed(target) === null) {
          return this.#numeric("401", target, "No such nick/channel");
        }
        return this.#numeric("502", "Cannot change mode for other users");
      }
      if (params[1] === undefined) return this.#numeric("221", "+");
      // The usual +i and +w ask for nothing the chat does otherwise: accepted quietly.
      if (/^[+-][iw]*$/.test(params[1])) return;
      return this.#numeric("501", "Unknown MODE flag");
    }
    const modes = params[1];
    if (modes === undefined) {
      if (!this.#isIn(target)) {
        return this.#numeric("442", target, "You're not on that channel");
      }
      return this.#numeric("324", `#${this.#room}`, "+nt");
    }
    let adding = true;
    let argument = 2;
    for (const mode of modes) {
      if (mode === "+" || mode === "-") {
        adding = mode === "+";
      } else if (mode === "o") {
        const nick = params[argument++];
        if (nick === undefined) return this.#numeric("461", "MODE", "Not enough parameters");
        if (!this.#isIn(target)) return this.#numeric("442", target, "You're not on that channel");
        this.#sink.toCore(`/${adding ? "op" : "deop"} ${nick}`);
      } else if ((mode === "n" || mode === "t") && adding) {
        // Every room is +nt already: only members post, only operators set the topic.
      } else if (mode === "b" && params[argument] === undefined) {
        this.#numeric("368", target, "End of channel ban list");
      } else {
        this.#numeric("472", mode, "is unknown mode char to me");
      }
    }
  }

  #lusers(): void {
    const users = this.#host.connectionCount();
    this.#numeric("251", `There are ${users} users and 0 invisible on 1 servers`);
    this.#numeric("254", "0", "channels formed");
    this.#numeric("255", `I have ${users} clients and 0 servers`);
  }

  #ison(params: string[]): void {
    const asked = params.join(" ").split(" ").filter((nick) => nick !== "");
    if (asked.length === 0) return this.#numeric("461", "ISON", "Not enough parameters");
    const here = asked.map((nick) => this.#host.memberNamed(nick)).filter((name) => name !== null);
    this.#numeric("303", here.join(" "));
  }

  #userhost(params: string[]): void {
    if (params.length === 0) return this.#numeric("461", "USERHOST", "Not enough parameters");
    const found = params.slice(0, 5).map((nick) => this.#host.memberNamed(nick))
      .filter((name) => name !== null)
      .map((name) =>
        `${name}=${name === this.#me && this.#away !== null ? "-" : "+"}${name}@${MEMBER_HOST}`
      );
    this.#numeric("302", found.join(" "));
  }

  // -------------------------------------------------------------------------
  // From the core

  /** Handles one line of the core's (without its newline). */
  fromCore(line: string): void {
    const read = readCoreLine(line);
    const head = this.#pending[0];
    if (head !== undefined && this.#answers(head, read)) {
      this.#pending.shift();
      this.#answer(head, read);
      for (const held of head.held) this.fromCore(held);
      // Replies to what the client sent after this question and before the next: due now.
      for (const after of head.after) this.#sink.toClient(after);
      return;
    }
    const holding = head !== undefined && head.kind === "join" &&
      (head.moved || head.welcome) && this.#me !== null;
    // A room's history and the welcome's lines wait for the names of the room; its topic does not.
    if (holding && !(read.type === "topic" && head.moved)) {
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
      if (["names", "who", "notOn"].includes(expectation.kind)) {
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
        return this.#now("366", `#${expectation.target}`, "End of /NAMES list");
      case "who":
        if (read.type === "who") return this.#namesReply(read.names, "352", expectation.target);
        return this.#now("315", `#${expectation.target}`, "End of /WHO list");
      case "whois":
        return this.#whoisReply(expectation.target, read);
      case "list":
        if (read.type !== "rooms") return;
        this.#now("321", "Channel", "Users  Name");
        for (const room of read.rooms) {
          const wanted = expectation.filter.length === 0 ||
            expectation.filter.some((name) => sameName(name, room.name));
          if (wanted) this.#now("322", `#${room.name}`, String(room.count), "");
        }
        return this.#now("323", "End of /LIST");
      case "motd":
        return this.#motd(read.type === "motd" ? read.text : null);
      case "sync":
        return;
      case "notOn":
        if (read.type === "who") {
          return this.#now("442", expectation.target, "You're not on that channel");
        }
        return this.#now("403", expectation.target, "No such channel");
      case "topic":
        if (read.type !== "topic") return;
        if (read.text === null) return this.#now("331", `#${this.#room}`, "No topic is set");
        return this.#now("332", `#${this.#room}`, read.text);
    }
  }

  /** 353 and 366, or 352 and 315, from the names of a `/who` answer. */
  #namesReply(shown: string[], code: "353" | "352", room = this.#room): void {
    const channel = `#${room}`;
    const full = this.#caps.has("userhost-in-names");
    const names = shown.map((name) => name.replace(/\+$/, "")).map((name) =>
      full && code === "353" ? `${name}!${name.replace(/^@/, "")}@${MEMBER_HOST}` : name
    );
    if (code === "352") {
      for (const name of names) {
        const nick = name.replace(/^@/, "");
        const flags = name.startsWith("@") ? "H@" : "H";
        this.#now(
          "352",
          channel,
          nick,
          MEMBER_HOST,
          this.#host.serverName,
          nick,
          flags,
          `0 ${nick}`,
        );
      }
      return this.#now("315", channel, "End of /WHO list");
    }
    const room353 = MAX_MESSAGE_BYTES - 2 -
      bytes(formatMessage(this.#host.serverName, "353", [this.#target, "=", channel, "x y"])) + 3;
    let line: string[] = [];
    let size = 0;
    for (const name of names) {
      if (line.length > 0 && size + name.length + 1 > room353) {
        this.#now("353", "=", channel, line.join(" "));
        line = [];
        size = 0;
      }
      line.push(name);
      size += bytes(name) + 1;
    }
    if (line.length > 0) this.#now("353", "=", channel, line.join(" "));
    this.#now("366", channel, "End of /NAMES list");
  }

  #whoisReply(nick: string, read: CoreLine): void {
    if (read.type !== "whois" || !/(?:^|, )in #/.test(read.about)) {
      this.#now("401", nick, "No such nick/channel");
      return this.#now("318", nick, "End of /WHOIS list");
    }
    const name = read.name;
    // Only its own user name and real name are known here: the chat keeps neither.
    const self = name === this.#me;
    const user = self ? this.#user ?? name : name;
    this.#now("311", name, user, MEMBER_HOST, "*", self ? this.#realname : name);
    const room = /(?:^|, )in #(\S+)$/.exec(read.about)?.[1];
    if (room !== undefined) this.#now("319", name, `#${room}`);
    this.#now("312", name, this.#host.serverName, read.about);
    this.#now("318", name, "End of /WHOIS list");
  }

  #motd(text: string | null): void {
    if (text === null) return this.#now("422", "MOTD File is missing");
    this.#now("375", `- ${this.#host.serverName} Message of the day - `);
    for (const piece of splitText(text, 350)) this.#now("372", `- ${piece}`);
    this.#now("376", "End of /MOTD command.");
  }

  /** The welcome's answer came (the names of #lobby): the MOTD, then #lobby, then what waited. */
  #welcomed(expectation: Expectation, read: CoreLine): void {
    const held = expectation.held;
    const motdAt = held.findIndex((line) => line.startsWith("* Message of the day: "));
    const motd = motdAt === -1 ? null : held.splice(motdAt, 1)[0] as string;
    this.#motd(motd === null ? null : motd.slice("* Message of the day: ".length));
    if (this.#host.joinLobby === false || read.type !== "who") return;
    this.#visible = true;
    this.#fromMember(this.#me as string, "JOIN", `#${LOBBY}`);
    this.#namesReply(read.names, "353");
  }

  /** The numerics of a successful registration: 001 to 005 and LUSERS. */
  #welcome(name: string): void {
    const server = this.#host.serverName;
    this.#me = name;
    this.#now("001", `Welcome to the chat, ${name}!${name}@${MEMBER_HOST}`);
    this.#now("002", `Your host is ${server}, running ${VERSION}`);
    this.#now("003", "This server was created today");
    this.#now("004", server, VERSION, "iw", "ntbo");
    this.#now(
      "005",
      "CASEMAPPING=ascii",
      "CHANTYPES=#",
      "PREFIX=(o)@",
      "CHANLIMIT=#:1",
      "CHANMODES=b,,,nt",
      `NICKLEN=${MAX_NAME_LENGTH}`,
      `CHANNELLEN=${CHANNEL_LENGTH}`,
      `TOPICLEN=${TOPIC_LENGTH}`,
      "NETWORK=chat",
      "are supported by this server",
    );
    const users = this.#host.connectionCount();
    this.#now("251", `There are ${users} users and 0 invisible on 1 servers`);
    this.#now("255", `I have ${users} clients and 0 servers`);
  }

  /** Says a core line to the client in IRC's words. */
  #translate(read: CoreLine, raw: string): void {
    const me = this.#me;
    const channel = `#${this.#room}`;
    switch (read.type) {
      case "greeting":
        if (me === null) this.#corePassword = read.password;
        return;
      case "welcome":
        if (me === null) this.#welcome(read.name);
        return;
      case "message":
      case "action": {
        const text = read.type === "action" ? `\x01ACTION ${read.text}\x01` : read.text;
        if (read.from === me && !this.#caps.has("echo-message")) return;
        if (this.#visible) this.#fromMember(read.from, "PRIVMSG", channel, text);
        return;
      }
      case "privateIn":
        return this.#fromMember(read.from, "PRIVMSG", me ?? "*", read.text);
      case "privateOut":
        if (this.#caps.has("echo-message")) {
          this.#fromMember(read.from, "PRIVMSG", read.to, read.text);
        }
        return;
      case "joined":
        if (read.name !== me && this.#visible) this.#fromMember(read.name, "JOIN", channel);
        return;
      case "left":
        if (read.name === me || !this.#visible) return;
        if (read.room !== null) {
          return this.#fromMember(read.name, "PART", channel, `left for #${read.room}`);
        }
        return this.#fromMember(read.name, "QUIT", quitReason(read.reason));
      case "renamed":
        if (read.from === me) {
          this.#me = read.to;
          return this.#fromMember(read.from, "NICK", read.to);
        }
        if (this.#visible) this.#fromMember(read.from, "NICK", read.to);
        return;
      case "topicSet":
        if (this.#visible) this.#fromMember(read.name, "TOPIC", channel, read.text);
        return;
      case "topic":
        if (read.text === null) return this.#now("331", channel, "No topic is set");
        return this.#now("332", channel, read.text);
      case "moved":
        return this.#moved(read.room);
      case "kicked":
        if (this.#visible) this.#fromMember(read.by, "KICK", channel, read.name, read.reason);
        if (read.name === me) this.#visible = false;
        return;
      case "opChange":
        if (this.#visible && sameName(read.room, this.#room)) {
          this.#fromMember(read.by, "MODE", channel, read.op ? "+o" : "-o", read.name);
        }
        return;
      case "motd":
        return this.#motd(read.text);
      case "oper":
        return this.#now("381", "You are now an IRC operator");
      case "goodbye":
      case "historyMark":
        return;
      case "error":
        return this.#error(read.text);
      default:
        return this.#notice(read.type === "notice" ? read.text : raw);
    }
  }

  #notice(text: string): void {
    this.#fromServer("NOTICE", this.#me ?? "*", text);
  }

  /** The member moved to `room` (a JOIN, a PART, a kick): the client leaves and joins as it asked. */
  #moved(room: string): void {
    const me = this.#me as string;
    if (this.#visible && !sameName(room, this.#room)) {
      this.#fromMember(me, "PART", `#${this.#room}`, `left for #${room}`);
    }
    this.#room = room;
    const asked = this.#joining.findIndex((name) => sameName(name, room));
    this.#visible = asked !== -1;
    if (asked !== -1) this.#joining.splice(0, asked + 1);
    else this.#joining = [];
    if (!this.#visible) return;
    this.#fromMember(me, "JOIN", `#${room}`);
    // Its topic, history and the rest wait for the names, as IRC clients expect.
    const join = this.#pending.find((expectation) => expectation.kind === "join");
    if (join !== undefined) join.moved = true;
  }

  /** The core's errors as the numerics IRC has for them, else as a notice. */
  #error(text: string): void {
    const channel = `#${this.#room}`;
    const rules: [RegExp, (m: RegExpExecArray) => void][] = [
      [/^No such user: (.*)$/, (m) => this.#now("401", m[1]!, "No such nick/channel")],
      [/^Name taken: (.*)$/, (m) => this.#now("433", m[1]!, "Nickname is already in use")],
      [/^Invalid name: (.*)$/, (m) => this.#now("432", m[1]!, "Erroneous nickname")],
      [/^Invalid room name: (.*)$/, (m) => {
        this.#joining.shift();
        this.#now("403", m[1]!.startsWith("#") ? m[1]! : `#${m[1]}`, "No such channel");
      }],
      [/^No such room: (.*)$/, (m) => this.#now("403", m[1]!, "No such channel")],
      [/^Too many (?:new )?rooms/, () => {
        this.#joining.shift();
        this.#now("405", channel, text);
      }],
      [/^You are already in /, () => this.#joining.shift()],
      [/^You are muted/, () => this.#now("404", channel, text)],
      [/^Only (?:server )?operators can/, () => this.#now("482", channel, text)],
      [/^(\S+) is not in #/, (m) => this.#now("441", m[1]!, channel, text)],
      [/^Wrong password$/, () => this.#now("464", "Password incorrect")],
      [/^Wrong operator password$/, () => this.#now("464", "Password incorrect")],
      [/^No operator password is set/, () => this.#now("491", text)],
      [/^You are banned/, () => this.#now("465", text)],
      [/^You are already /, () => {}],
    ];
    for (const [pattern, act] of rules) {
      const match = pattern.exec(text);
      if (match) return act(match);
    }
    this.#notice(text);
  }
}
