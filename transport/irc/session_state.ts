/**
 * What one IRC client's session knows and how it speaks: the registration's
 * state, the room the member is in and whether the client sees it, the core
 * answers the door waits for ({@linkcode Expectation}), and the helpers that
 * write to the client in order. The session's parts (client_commands.ts,
 * channel_commands.ts, core_replies.ts) share one {@linkcode SessionState}.
 *
 * @module
 */

import { sameName } from "../../protocol.ts";
import { formatMessage, MAX_MESSAGE_BYTES } from "./message.ts";

/** The room everyone starts in. */
export const LOBBY = "lobby";
/** The host part of every member's prefix: the chat tells nobody where anyone connects from. */
export const MEMBER_HOST = "chat";
/** Longest channel name: `#` and the core's 32 characters. */
export const CHANNEL_LENGTH = 33;
/** Longest topic the door announces (the core's line cap is far above IRC's). */
export const TOPIC_LENGTH = 390;
/** What VERSION and CTCP VERSION answer. */
export const VERSION = "chat-irc-door-0.1";
/** What starts and ends a CTCP message (a client-to-client request such as ACTION). */
export const CTCP = "\x01";
/** The capabilities offered (CAP LS). */
export const CAPABILITIES = ["echo-message", "multi-prefix", "userhost-in-names"];

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
export interface Expectation {
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
export function bytes(text: string): number {
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
export function prefixOf(name: string): string {
  return `${name}!${name}@${MEMBER_HOST}`;
}

/** One client's state and its ways of speaking: see the module's description. */
export class SessionState {
  readonly sink: IrcSessionSink;

  readonly host: IrcSessionHost;

  /** The nickname asked for, before registration. */
  nick: string | null = null;

  user: string | null = null;

  realname = "";

  password: string | null = null;

  /** CAP LS or REQ began a negotiation that CAP END has not ended. */
  negotiating = false;

  readonly caps = new Set<string>();

  /** The core asked for a password first. */
  corePassword = false;

  /** The nickname was handed to the core. */
  registered = false;

  /** The name the core gave, once welcomed. */
  me: string | null = null;

  /** The room the member is in, as the core names it. */
  room = LOBBY;

  /** Whether the client thinks it is in `#room` (it joined it, and did not part). */
  visible = false;

  /** Rooms the client asked to join whose move has not come yet. */
  joining: string[] = [];

  readonly pending: Expectation[] = [];

  away: string | null = null;

  /** The nick in numerics: `*` before the welcome. */
  get target(): string {
    return this.me ?? this.nick ?? "*";
  }

  /** Sends now, or after the answers the client asked for before. */
  reply(line: string): void {
    const last = this.pending.at(-1);
    if (last !== undefined) last.after.push(line);
    else this.sink.toClient(line);
  }

  /** A numeric from the server, in order behind pending answers. */
  numeric(code: string, ...params: string[]): void {
    this.reply(formatMessage(this.host.serverName, code, [this.target, ...params]));
  }

  /** A numeric sent now (part of an answer being given). */
  now(code: string, ...params: string[]): void {
    this.sink.toClient(formatMessage(this.host.serverName, code, [this.target, ...params]));
  }

  /** A message from `source`, its last parameter cut to fit IRC's 512 bytes when needed. */
  say(source: string, command: string, params: string[]): void {
    const head = params.slice(0, -1);
    const text = params.at(-1) ?? "";
    const room = MAX_MESSAGE_BYTES - 2 - bytes(formatMessage(source, command, [...head, "x y"])) +
      3;
    if (bytes(text) <= room) {
      this.sink.toClient(formatMessage(source, command, [...head, text]));
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
      this.sink.toClient(formatMessage(source, command, [...head, piece]));
    }
  }

  fromMember(name: string, command: string, ...params: string[]): void {
    this.say(prefixOf(name), command, params);
  }

  fromServer(command: string, ...params: string[]): void {
    this.say(this.host.serverName, command, params);
  }

  notice(text: string): void {
    this.fromServer("NOTICE", this.me ?? "*", text);
  }

  expect(kind: Expectation["kind"], target: string, filter: string[] = []): Expectation {
    const expectation: Expectation = {
      kind,
      target,
      moved: false,
      welcome: false,
      held: [],
      after: [],
      filter,
    };
    this.pending.push(expectation);
    return expectation;
  }

  /** A channel parameter's room name, or null when it is no channel. */
  roomOf(channel: string): string | null {
    return channel.startsWith("#") && channel.length > 1 ? channel.slice(1) : null;
  }

  /**
   * Whether the client is in `channel`, or will be once the core has done
   * the JOIN it was sent last (a client may send JOIN and PRIVMSG at once).
   */
  isIn(channel: string): boolean {
    const room = this.roomOf(channel);
    if (room === null) return false;
    const last = this.joining.at(-1);
    if (last !== undefined) return sameName(room, last);
    return this.visible && sameName(room, this.room);
  }

  /** The session of a client that speaks through `sink`. */
  constructor(sink: IrcSessionSink, host: IrcSessionHost) {
    this.sink = sink;
    this.host = host;
  }
}
