/**
 * What one IRC client's session knows and how it speaks: the registration's
 * state, the room the member is in and whether the client sees it, the core
 * answers the door waits for ({@linkcode Expectation}), and the helpers that
 * write to the client in order. The session's parts (client_commands.ts,
 * channel_commands.ts, core_replies.ts) share one {@linkcode SessionState}.
 *
 * @module
 */

import type { Link } from "../../core/link.ts";
import { nameKeys, sameName } from "../../protocol.ts";
import { formatMessage, MAX_MESSAGE_BYTES } from "./message.ts";
import { whoxParams, type WhoxQuery } from "./whox.ts";

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
/** Channels an IRC client may be in at once (CHANLIMIT): one room and core/seats.ts's seats. */
export const CHANNEL_LIMIT = 10;
/** Most targets of one PRIVMSG or NOTICE: each is a message of its own, paced as one line. */
export const MAX_TARGETS = 4;
/** How many targets each command takes (ISUPPORT's TARGMAX; empty: no limit). */
export const TARGMAX =
  `JOIN:,PART:,PRIVMSG:${MAX_TARGETS},NOTICE:${MAX_TARGETS},WHOIS:1,NAMES:1,KICK:1`;
/** The capabilities offered (CAP LS). */
export const CAPABILITIES = [
  "account-notify",
  "account-tag",
  "away-notify",
  "batch",
  "cap-notify",
  "echo-message",
  "extended-join",
  "message-tags",
  "multi-prefix",
  "sasl",
  "server-time",
  "userhost-in-names",
];

/** What a session says and does, which its connection carries out. */
export interface IrcSessionSink {
  /** Sends one IRC message (without CR LF) to the client. */
  toClient(line: string): void;
  /** Hands the core one line, as if the member typed it. */
  toCore(line: string): void;
  /** Ends the connection after `ERROR :Closing Link: ...` with `reason`. */
  close(reason: string): void;
  /** Bytes the client's socket has not yet handed to the kernel. */
  writableLength?(): number;
  /** Runs `action` once the lines handed to the core so far have gone to it (else at once). */
  afterCore?(action: () => void): void;
  /** Runs `action`; a failure ends this connection only (else it is thrown). */
  guard?(action: () => void): void;
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
  /** Members (named connections), for LUSERS; without it, the connections count. */
  memberCount?(): number;
  /** Every member with its room and whether it operates it, for WHO masks and WHOIS. */
  members?(): { name: string; room: string; operator: boolean }[];
  /** The IRC sessions of this door, to tell one's user name, real name and away text. */
  peers?: Peers;
  /**
   * Gives the member a place in one more room over `link` (core/seats.ts):
   * the room's lines come to `link`, a refusal as one `! ...` line.
   */
  openSeat?(link: Link, room: string, key: string | undefined): void;
  /** The seat over `link` leaves its room; its room hears `reason`. */
  closeSeat?(link: Link, reason: string): void;
  /** Who set each room's topic and when (by lower-cased room), as the door heard: RPL_TOPICWHOTIME. */
  topics?: Map<string, { by: string; at: number; text: string }>;
  /** A room's recent public lines with when each was said, in ms (0: not known). */
  history?(room: string): { text: string; at: number }[];
  /** The account the member called `name` is logged in to, or null (extended-join). */
  accountOf?(name: string): string | null;
  /**
   * Logs the client in to the account `name` before it has a name (SASL):
   * the account's name when `password` is its, else null.
   */
  logInBeforeName?(name: string, password: string): Promise<string | null>;
}

/**
 * The door's sessions, and each named one by its name (every key of
 * `nameKeys`): what IRC tells of a member (WHO, WHOIS, LUSERS) is found at
 * once, however many are connected.
 */
export class Peers {
  readonly #all = new Set<SessionState>();
  readonly #byName = new Map<string, SessionState>();

  /** Every session, named or not. */
  get all(): ReadonlySet<SessionState> {
    return this.#all;
  }

  /** A session opened. */
  add(session: SessionState): void {
    this.#all.add(session);
  }

  /** A session closed: it is found no more. */
  delete(session: SessionState): void {
    this.#all.delete(session);
    const known = session.me ?? session.nick;
    if (known !== null) this.renamed(session, known, null);
  }

  /** A session's member is now called `name` (null: it has gone), no longer `old`. */
  renamed(session: SessionState, old: string | null, name: string | null): void {
    if (old !== null) {
      for (const key of nameKeys(old)) {
        if (this.#byName.get(key) === session) this.#byName.delete(key);
      }
    }
    if (name !== null) { for (const key of nameKeys(name)) this.#byName.set(key, session); }
  }

  /** The session whose member is called `name`, by the lookalike rule, if it is this door's. */
  named(name: string): SessionState | undefined {
    for (const key of nameKeys(name)) {
      const session = this.#byName.get(key);
      // Before the welcome, by the nickname it handed the core (its JOIN may reach others first).
      const known = session?.me ?? session?.nick ?? null;
      if (session !== undefined && known !== null && sameName(known, name)) return session;
    }
    return undefined;
  }
}

/** What IRC says of a member besides its name: given by its client when it is an IRC one. */
export interface IrcUser {
  /** The user name (USER's first parameter), or the member's name. */
  user: string;
  /** The real name (USER's last parameter), or the member's name. */
  realname: string;
  /** The away text, or null. */
  away: string | null;
  /** Whether /oper made it a server operator (as far as the door saw). */
  oper: boolean;
  /** MODE +i: left out of WHO masks by whoever shares no channel with it. */
  invisible: boolean;
}

/** A core answer the door waits for, to turn into numerics. */
export interface Expectation {
  kind:
    | "join"
    | "names"
    | "who"
    | "whois"
    | "list"
    | "motd"
    | "topic"
    | "sync"
    | "notOn"
    | "modes"
    | "bans"
    | "invite";
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
  /** For WHO: the WHOX fields asked for, or null for plain 352s. */
  whox?: WhoxQuery | null;
  /** Runs once it is answered (or its channel is gone): a PING waits for every channel's. */
  done?: () => void;
}

/** The byte length of a string in UTF-8. */
export function bytes(text: string): number {
  // Counted, not encoded: this runs for every line every IRC member gets.
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair is one character of 4 bytes.
      length += 4;
      i++;
    } else {
      // Lone surrogates become U+FFFD, 3 bytes, as TextEncoder writes them.
      length += 3;
    }
  }
  return length;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
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

/**
 * LUSERS' numerics (251 to 255, 265 and 266) for the session `s`: members, the connections
 * without a name yet, and the rooms; one server, and no peak is kept.
 */
export function lusers(s: SessionState): string[][] {
  const connections = s.host.connectionCount();
  const users = s.host.memberCount?.() ?? connections;
  const members = s.host.members?.();
  // Only the door's own clients can be invisible or IRC operators: counted once each.
  let invisible = 0;
  let opers = 0;
  for (const peer of s.host.peers?.all ?? []) {
    if (peer.me === null) continue;
    if (peer.invisible) invisible++;
    if (peer.oper) opers++;
  }
  const rooms = members === undefined ? null : new Set(members.map((member) => member.room)).size;
  const lines = [
    ["251", `There are ${users - invisible} users and ${invisible} invisible on 1 servers`],
    ["252", String(opers), "operator(s) online"],
  ];
  if (connections > users) {
    lines.push(["253", String(connections - users), "unknown connection(s)"]);
  }
  if (rooms !== null) lines.push(["254", String(rooms), "channels formed"]);
  lines.push(
    ["255", `I have ${users} clients and 0 servers`],
    ["265", `Current local users: ${users}`],
    ["266", `Current global users: ${users}`],
  );
  return lines;
}

/**
 * A message from `source` as IRC lines: one, or several when its last
 * parameter must be cut to fit IRC's 512 bytes (an ACTION inside its quotes).
 */
export function formatSaid(source: string, command: string, params: string[]): string[] {
  const head = params.slice(0, -1);
  const text = params.at(-1) ?? "";
  const room = MAX_MESSAGE_BYTES - 2 - bytes(formatMessage(source, command, [...head, "x y"])) + 3;
  if (bytes(text) <= room) return [formatMessage(source, command, [...head, text])];
  const action = text.startsWith(`${CTCP}ACTION `) && text.endsWith(CTCP)
    ? text.slice(8, -1)
    : undefined;
  const pieces = action === undefined
    ? splitText(text, Math.max(room, 1))
    : splitText(action, Math.max(room - 9, 1)).map((piece) => `\x01ACTION ${piece}\x01`);
  return pieces.map((piece) => formatMessage(source, command, [...head, piece]));
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

  /** A SASL check is under way: registration waits for it. */
  saslBusy = false;

  /** The account SASL logged the client in to, or null. */
  account: string | null = null;

  /** The rooms of the channels the client is in through seats (channel_router.ts sets it). */
  seatRooms: () => string[] = () => [];

  /** The client asked `CAP LS 302`: capabilities are listed with their values. */
  cap302 = false;

  /** The core asked for a password first. */
  corePassword = false;

  /** The nickname was handed to the core. */
  registered = false;

  /** The name the core gave, once welcomed. */
  me: string | null = null;

  /** The room the member is in, as the core names it. */
  room = LOBBY;

  /** Whether this is a further channel's view of the session ({@linkcode SessionState.view}). */
  seat = false;

  /**
   * NICK and QUIT already told of other members, by their name: a member in
   * several of the client's channels leaves or renames itself in each, and
   * the client is told once. Shared by the session's views.
   */
  readonly told = new Map<string, string>();

  /** The rooms the door heard are secret (`+s`), lower-cased; shared by the session's views. */
  readonly secretRooms = new Set<string>();

  /** Whether the client thinks it is in `#room` (it joined it, and did not part). */
  visible = false;

  /** Rooms the client asked to join whose move has not come yet. */
  joining: string[] = [];

  readonly pending: Expectation[] = [];

  away: string | null = null;

  /** The core welcomed an /oper of this member. */
  oper = false;

  /** MODE +i was asked (WHO masks leave the member out for whoever shares no channel). */
  invisible = false;

  /** What IRC tells of the member `name` (this door's client, another, or a member of the chat). */
  userOf(name: string): IrcUser {
    const peer = this.host.peers?.named(name);
    if (peer !== undefined) {
      return {
        user: peer.user ?? name,
        realname: peer.realname || name,
        away: peer.away,
        oper: peer.oper,
        invisible: peer.invisible,
      };
    }
    if (this.me !== null && sameName(this.me, name)) {
      const user = this.user ?? name;
      return {
        user,
        realname: this.realname || name,
        away: this.away,
        oper: this.oper,
        invisible: this.invisible,
      };
    }
    return { user: name, realname: name, away: null, oper: false, invisible: false };
  }

  /** RPL_WHOREPLY's flags: H or G (away), `*` for a server operator, `@` for a room operator. */
  whoFlags(name: string, operator: boolean): string {
    const user = this.userOf(name);
    return `${user.away === null ? "H" : "G"}${user.oper ? "*" : ""}${operator ? "@" : ""}`;
  }

  /**
   * One RPL_WHOREPLY (352) for `name`, its channel field `channel` (`*` for none), sent now;
   * a RPL_WHOSPCRPL (354) with the fields of `whox` when it is a WHOX question.
   */
  whoReply(channel: string, name: string, operator: boolean, whox?: WhoxQuery | null): void {
    if (whox) return this.now("354", ...whoxParams(this, whox, channel, name, operator));
    const user = this.userOf(name);
    this.now(
      "352",
      channel,
      user.user,
      MEMBER_HOST,
      this.host.serverName,
      name,
      this.whoFlags(name, operator),
      `0 ${user.realname}`,
    );
  }

  /** Leaves the door's list of sessions (the connection closed). */
  dispose(): void {
    this.host.peers?.delete(this);
  }

  /** Channels the client may be in at once (CHANLIMIT). */
  get channelLimit(): number {
    return this.host.openSeat === undefined ? 1 : CHANNEL_LIMIT;
  }

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
    for (const line of formatSaid(source, command, params)) this.sink.toClient(line);
  }

  /**
   * `name` joined `channel`: `JOIN #dev`, with its account (`*` for none) and
   * real name for a client that asked for extended-join, then, for one that
   * asked for away-notify, its away text if it has one.
   */
  joined(name: string, channel: string): void {
    const user = this.userOf(name);
    if (this.caps.has("extended-join")) {
      const account = this.host.accountOf?.(name) ?? null;
      this.fromMember(name, "JOIN", channel, account ?? "*", user.realname);
    } else {
      this.fromMember(name, "JOIN", channel);
    }
    if (user.away !== null && this.caps.has("away-notify") && !sameName(name, this.me ?? "")) {
      this.fromMember(name, "AWAY", user.away);
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

  /** The view's channel is gone (a seat refused or closed): what it awaited is over. */
  abandon(): void {
    const pending = this.pending.splice(0);
    for (const expectation of pending) {
      for (const line of expectation.after) this.sink.toClient(line);
      expectation.done?.();
    }
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

  /**
   * Says `line` of `name` (a NICK or a QUIT) unless it was said already:
   * see {@linkcode SessionState.told}.
   */
  once(name: string, what: string, say: () => void): void {
    const key = name.toLowerCase();
    if (this.told.get(key) === what) return;
    if (this.told.size >= 1000) this.told.clear();
    this.told.set(key, what);
    say();
  }

  /** A member joined a channel of the client's: what it does next is news again. */
  heardOf(name: string): void {
    this.told.delete(name.toLowerCase());
  }

  /**
   * A further channel's view of this session (a seat of the core's): this
   * state, read through, with its own room, answers awaited and way to the
   * core (`toCore`, the seat's link). What the session knows of the client
   * (its name, caps, user) stays the session's.
   */
  view(room: string, toCore: (line: string) => void): SessionState {
    const view = Object.create(this) as SessionState;
    const sink: IrcSessionSink = { ...this.sink, toCore };
    Object.assign(view, { sink, room, seat: true, visible: false, joining: [room], pending: [] });
    return view;
  }

  /** The session of a client that speaks through `sink`. */
  constructor(sink: IrcSessionSink, host: IrcSessionHost) {
    this.sink = sink;
    this.host = host;
    host.peers?.add(this);
  }
}
