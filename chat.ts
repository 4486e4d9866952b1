/**
 * The chat's core: it admits connections over any {@linkcode Link}, greets
 * them, asks for the password and the name, reads their lines at the pace
 * flood control allows, runs their commands, and sees each one out once. It
 * knows nothing of sockets or ports: the TCP and WebSocket transports hand it
 * links.
 *
 * @module
 */

import {
  type ChatCluster,
  type ClusterAction,
  type ClusterEvent,
  type ClusterPeer,
  mayArriveLate,
} from "./cluster_port.ts";
import { type CommandHost, runCommand } from "./commands.ts";
import { OutputLink } from "./console.ts";
import { Deadlines } from "./deadlines.ts";
import { GuessLimiter } from "./guesses.ts";
import type { Link } from "./link.ts";
import { type Pacing, takeBytes, takeLine } from "./pacing.ts";
import {
  actionLine,
  chatLine,
  cleanNickname,
  cleanText,
  DEFAULT_NAME,
  GREETING,
  isQuitWord,
  LINE_TOO_LONG,
  MAX_UNFINISHED_LINE_BYTES,
  messageText,
  nameKeys,
  parseCommand,
  PASSWORD_GREETING,
  QUIT_WORD,
  sameName,
  uniqueName,
  WRONG_PASSWORD_DELAY_MS,
} from "./protocol.ts";
import { plainAddress, type Restriction, untilNote } from "./moderation.ts";
import { describe, ignore, isConnectionError, peerLabel } from "./helpers.ts";
import { CONSOLE_NAME, Operators, presenceOf } from "./operators.ts";
import type { ChatRecorder, SavedState } from "./recorder.ts";
import type { Room } from "./room.ts";
import { NEW_ROOMS_PER_ADDRESS, RoomQuota } from "./room_quota.ts";
import { LOBBY, roomName, Rooms } from "./rooms.ts";
import {
  closeConnection,
  endWithin,
  isLoopback,
  type LeaveReason,
  type LinkEvents,
  MEMBER,
  Member,
  type MemberLink,
  memberOf,
  pauseReading,
  secretsMatch,
  stopTimer,
} from "./session.ts";

export { Member };
export type { ChatCluster, ChatRecorder };

/** The core's settings, checked already by the server that makes it. */
export interface ChatOptions {
  maxClients: number;
  maxPerIp: number;
  limitLoopback: boolean;
  nameTimeoutMs: number;
  maxLineBytes: number;
  maxQueueBytes: number;
  history: number;
  /** Lines a second; 0 turns flood control off. */
  rate: number;
  burst: number;
  password: string | null;
  /** What `/oper` must be given; null when nobody may become a server operator that way. */
  operatorPassword: string | null;
  /** Where the console's answers go (the server's standard output). */
  consoleOutput?: (text: string) => void;
  announceLimit: number;
  /** Rooms at once, `#lobby` included. */
  maxRooms: number;
  /** Where rooms, topics, history, bans, mutes and the motd are recorded, if anywhere. */
  recorder?: ChatRecorder | null;
  /** What a restarted server comes back with. */
  saved?: SavedState | null;
  log: ((event: string) => void) | undefined;
  /** Called when the last member leaves. */
  onEmpty?: () => void;
}

const DEPARTURE_NOTICES: Record<LeaveReason, string | null> = {
  quit: "left the chat",
  lost: "left the chat (connection lost)",
  slow: "left the chat (too slow)",
  flood: "left the chat (line too long)",
  shutdown: null,
  refused: null,
  // Their room was told who kicked or banned them, and why.
  kicked: null,
  banned: null,
};

/** What the log says of a departure that the room is not told about. */
const UNANNOUNCED_DEPARTURES: Partial<Record<LeaveReason, string>> = {
  shutdown: "left at shutdown",
  kicked: "was disconnected (kicked)",
  banned: "was disconnected (banned)",
};

/** The kind of shared state that holds a room's topic. */
function topicKind(room: string): string {
  return `topic:${nameKeys(room)[1]}`;
}

/**
 * Operators' commands about a member, who may be on another process of the
 * cluster, each with whether a room's operator may give it (else only a
 * server operator may).
 */
const REACHES_ELSEWHERE: ReadonlyMap<string, boolean> = new Map([
  ["op", true],
  ["deop", true],
  ["kick", true],
  ["ban", false],
  ["mute", false],
  ["unmute", false],
]);

/** What a member's line gets while the cluster cannot reach Redis: it was never written there. */
const UNAVAILABLE = "! Chat is unavailable right now; your message was not sent";
/** What a line Redis was given and did not answer in time gets: it may still go out, once. */
const NOT_ANSWERING = "! Chat is not answering; your message may arrive late";
/** What a newcomer or a question gets when the cluster cannot answer. */
const UNAVAILABLE_TRY = "! Chat is unavailable right now; try again later";

/** What a member is told of a line the cluster did not confirm: "not sent" only if never written. */
function unsentNotice(error: unknown): string {
  return mayArriveLate(error) ? NOT_ANSWERING : UNAVAILABLE;
}

/** How long a leaving member's last lines may take to be written. */
const GOODBYE_FLUSH_MS = 2000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The greetings, encoded once: every connection gets one. */
const GREETING_LINE = encoder.encode(GREETING + "\n");
const PASSWORD_GREETING_LINE = encoder.encode(PASSWORD_GREETING + "\n");

/** How a member came by its name, for the log. */
function howNamed(requested: string, name: string): string {
  if (requested === "") return " (no name given in time)";
  return requested === name ? "" : ` (asked for ${JSON.stringify(requested)})`;
}

/** The chat's members and connections, and everything that happens to them. */
export class Chat {
  readonly #maxClients: number;
  readonly #maxPerIp: number;
  readonly #limitLoopback: boolean;
  readonly #maxLineBytes: number;
  /** A line this long with no newline yet closes the connection. */
  readonly #maxUnfinishedLineBytes: number;
  /** Flood control; null when it is off. */
  readonly #pacing: Pacing | null;
  readonly #burst: number;
  readonly #password: string | null;
  /** Wrong passwords by address, so that guessing is slow however many connections guess. */
  readonly #guesses = new GuessLimiter();
  /** New rooms by address, so that no stranger takes every free place under --max-rooms. */
  readonly #newRooms = new RoomQuota();
  readonly #announceLimit: number;
  readonly #onEmpty: (() => void) | undefined;
  /** Absent when nobody listens, so that no log line is even built. */
  readonly #log: ((event: string) => void) | undefined;
  readonly #rooms: Rooms<Member>;
  /** Where connections are until they are named, and members start. */
  readonly #lobby: Room<Member>;
  /** Connections that have yet to give their password and name. */
  readonly #naming: Deadlines<Member>;
  readonly #connections = new Set<Member>();
  readonly #perIp = new Map<string, number>();
  readonly #refusals = new Set<Promise<void>>();
  /** Operators, bans, mutes and the message of the day. */
  readonly #operators: Operators;
  /** The other processes' link, when this one is part of a cluster. */
  #cluster: ChatCluster | null = null;
  /** The cluster's topics, by the room's key, for rooms made here later. */
  readonly #clusterTopics = new Map<string, string>();
  #allGone: (() => void) | null = null;

  /** A core with `options`; it opens nothing itself. */
  constructor(options: ChatOptions) {
    this.#maxClients = options.maxClients;
    this.#maxPerIp = options.maxPerIp;
    this.#limitLoopback = options.limitLoopback;
    this.#maxLineBytes = options.maxLineBytes;
    this.#maxUnfinishedLineBytes = Math.max(MAX_UNFINISHED_LINE_BYTES, 4 * this.#maxLineBytes);
    this.#burst = options.burst;
    this.#pacing = options.rate > 0
      ? { rate: options.rate, burst: this.#burst, lineBytes: this.#maxLineBytes }
      : null;
    this.#password = options.password;
    this.#announceLimit = options.announceLimit;
    this.#onEmpty = options.onEmpty;
    this.#log = options.log;
    this.#rooms = new Rooms<Member>(
      options.maxRooms,
      options.maxQueueBytes,
      options.history,
      (member) => this.#dropTooSlow(member),
      options.recorder ?? null,
    );
    this.#lobby = this.#rooms.lobby;
    this.#rooms.onEvicted = (room) => {
      const held = room.topic !== null || room.hasHistory ? " (it held a topic or history)" : "";
      this.#log?.(`#${room.name} was removed at --max-rooms to make a new room${held}`);
    };
    const console = new Member(
      new OutputLink(options.consoleOutput ?? (() => {})),
      "console",
      0,
      this.#maxLineBytes,
    );
    console.name = CONSOLE_NAME;
    console.stage = "member";
    console.outputLimit = 0;
    console.serverOperator = true;
    this.#operators = new Operators(
      {
        rooms: this.#rooms,
        tell: (member, ...lines) => this.tell(member, ...lines),
        sendHome: (member) => this.#moveTo(member, LOBBY, false),
        disconnect: (member, reason) => {
          member.leaving ??= reason;
          void this.leave(member);
        },
        membersFrom: (address) =>
          [...this.#connections].filter((member) =>
            member.name !== null && plainAddress(member.ip) === address
          ),
        actElsewhere: (target, action, actor) => {
          const cluster = this.#cluster;
          cluster?.publishAct(action, target.name, target.room, target.processId).catch((error) => {
            this.#log?.(`cluster: /${action} of ${target.name} was not sent: ${describe(error)}`);
            this.tell(actor, unsentNotice(error));
          });
        },
        announce: (room, notice, actor) => {
          this.#cluster?.publishLine(room, notice).catch((error) => {
            this.#log?.(`cluster: a notice for #${room} was not sent: ${describe(error)}`);
            this.tell(actor, unsentNotice(error));
          });
        },
        changed: (member) => this.#sharePresence(member),
        delay: (member, ms) => pauseReading(member, ms),
        log: this.#log,
      },
      console,
      { password: options.operatorPassword, wrongPasswordDelayMs: WRONG_PASSWORD_DELAY_MS },
    );
    if (options.saved) this.#restore(options.saved);
    const recorder = options.recorder;
    if (recorder) {
      this.#operators.bans.onChange = (list) => recorder.setRestrictions("bans", list);
      this.#operators.mutes.onChange = (list) => recorder.setRestrictions("mutes", list);
      this.#operators.onMotd = (text) => recorder.setMotd(text);
    }
    this.#naming = new Deadlines(
      options.nameTimeoutMs,
      (member) => this.#guard(member, () => this.#nameTimedOut(member)),
    );
  }

  /** Puts back what a restarted server saved: rooms with topics and history, bans, mutes, the motd. */
  #restore(saved: SavedState): void {
    let dropped = 0;
    for (const room of saved.rooms) {
      if (!this.#rooms.restore(room.name, room.topic, room.history)) dropped++;
    }
    if (dropped > 0) {
      this.#log?.(`${dropped} saved rooms are over --max-rooms and were not restored`);
    }
    const now = Date.now();
    for (const kind of ["bans", "mutes"] as const) {
      for (const entry of saved[kind]) {
        if (entry.until === null || entry.until > now) this.#operators[kind].add(entry);
      }
    }
    this.#operators.motd = saved.motd;
  }

  /**
   * Makes this core one process of a cluster: rooms' lines go through it
   * (and come back as {@linkcode Chat.clusterEvent}), names are claimed in
   * it, and `#lobby` starts with the cluster's history. Call it before any
   * connection is admitted.
   */
  async joinCluster(cluster: ChatCluster): Promise<void> {
    this.#cluster = cluster;
    this.#rooms.relay = (room, text, options) => {
      cluster.publishLine(room.name, text, {
        public: options.public,
        except: options.except?.name ?? null,
      }).catch((error) => {
        if (options.from !== undefined) this.tell(options.from, unsentNotice(error));
        else this.#log?.(`cluster: a line for #${room.name} was not sent: ${describe(error)}`);
      });
    };
    this.#lobby.prime(await cluster.history(this.#lobby.name));
    for (const [kind, value] of Object.entries(await cluster.loadState())) {
      this.#applyState(kind, value);
    }
    // What operators change here is every process's.
    const publish = (kind: string, value: string) =>
      cluster.publishState(kind, value).catch((error) =>
        this.#log?.(`cluster: ${kind} could not be shared: ${describe(error)}`)
      );
    // After this turn's notices (`* bob was banned`), so that bob's process, which
    // drops bob when the bans reach it, has shown bob the notice first.
    this.#operators.bans.onChange = (list) =>
      queueMicrotask(() => void publish("bans", JSON.stringify(list)));
    this.#operators.mutes.onChange = (list) => void publish("mutes", JSON.stringify(list));
    this.#operators.onMotd = (text) => void publish("motd", text ?? "");
    this.#shareTopic = (room) => void publish(topicKind(room.name), room.topic ?? "");
  }

  /** Shares a room's new topic with the cluster; nothing without one. */
  #shareTopic: (room: Room<Member>) => void = () => {};

  /** Takes on shared state another process (or this one) set. */
  #applyState(kind: string, value: string): void {
    if (kind === "bans" || kind === "mutes") {
      let list: Restriction[];
      try {
        list = JSON.parse(value);
        if (!Array.isArray(list)) throw new TypeError("not a list");
      } catch (error) {
        this.#log?.(`cluster: the shared ${kind} are unreadable: ${describe(error)}`);
        return;
      }
      this.#operators[kind].replace(list);
      if (kind === "bans") this.#dropBanned();
    } else if (kind === "motd") {
      this.#operators.motd = value === "" ? null : value;
    } else if (kind.startsWith("topic:")) {
      this.#clusterTopics.set(kind, value);
      const room = this.#rooms.busiestFirst().find((room) => topicKind(room.name) === kind);
      room?.restore(value === "" ? null : value, []);
    }
  }

  /** Disconnects the members here that a ban made elsewhere is on. */
  #dropBanned(): void {
    for (const member of this.#connections) {
      if (member.name === null || member.leaving !== null) continue;
      const ban = this.#operators.banOn(member.name, member.ip);
      if (ban === undefined) continue;
      // Only the console bans a server operator: another process's view of it was stale.
      if (member.serverOperator && ban.by !== CONSOLE_NAME) continue;
      this.tell(member, this.#operators.bannedLine(ban));
      member.leaving = "banned";
      void this.leave(member);
    }
  }

  /** Delivers what the cluster says to the members here: room lines, private messages, state. */
  clusterEvent(event: ClusterEvent): void {
    if (event.type === "state") {
      this.#applyState(event.kind, event.value);
      return;
    }
    if (event.type === "act") {
      if (event.process === this.#cluster?.processId) {
        this.#actHere(event.action, event.name, event.room);
      }
      return;
    }
    if (event.type === "gone") {
      this.#announceGone(event.members);
      return;
    }
    if (event.type === "line") {
      const room = this.#rooms.get(event.room);
      if (room === undefined) return;
      const except = event.except === null ? undefined : this.#rooms.find(event.except);
      room.deliver(event.text, { public: event.public, except, id: event.id });
      return;
    }
    const to = this.#rooms.find(event.to);
    if (to === undefined) return;
    this.tell(to, `(private) ${event.from}: ${event.text}`);
    to.replyTo = null;
    to.replyName = event.from;
  }

  /**
   * Tells the rooms here that the members of a process that died without a
   * word are gone, as their own process would have for a lost connection.
   * Delivered, not broadcast: every process got this event from Redis.
   */
  #announceGone(members: readonly { name: string; room: string }[]): void {
    const leaving = new Map<Room<Member>, string[]>();
    for (const { name, room: roomName } of members) {
      const room = this.#rooms.get(roomName);
      if (room === undefined) continue;
      const names = leaving.get(room);
      if (names === undefined) leaving.set(room, [name]);
      else names.push(name);
    }
    for (const [room, names] of leaving) {
      // A room that big with them in it heard no departures from their process either.
      if (room.members.size + names.length > this.#announceLimit) continue;
      for (const name of names) {
        // Someone here holds that name: whatever Redis thought, it has not gone.
        if (this.#rooms.find(name) === undefined) {
          room.deliver(`* ${name} ${DEPARTURE_NOTICES.lost}`);
        }
      }
    }
    this.#log?.(`cluster: a process stopped answering: ${members.length} of its members left`);
  }

  /**
   * Carries out what an operator of another process did to a member here,
   * if it is still in that room: the room heard of it from that process.
   */
  #actHere(action: ClusterAction, name: string, roomName: string): void {
    const member = this.#rooms.find(name);
    const room = member?.room;
    if (member === undefined || !room || !sameName(room.name, roomName)) return;
    if (member.leaving !== null) return;
    // It proved /oper meanwhile: the operator elsewhere acted on what it knew before.
    if (member.serverOperator && action !== "op") {
      this.#log?.(
        `${member.peer} ${name}: /${action} from another process not done (server operator)`,
      );
      return;
    }
    this.#log?.(`${member.peer} ${name}: /${action} by an operator of another process`);
    switch (action) {
      case "op":
        room.operators.add(member);
        return this.#sharePresence(member);
      case "deop":
        room.operators.delete(member);
        return this.#sharePresence(member);
      case "kick":
        return this.#moveTo(member, LOBBY, false);
      case "disconnect":
        member.leaving = "kicked";
        void this.leave(member);
    }
  }

  /** Tells the cluster where a member of this process is and what it may do. */
  #sharePresence(member: Member): void {
    const cluster = this.#cluster;
    if (cluster === null || member.name === null) return;
    cluster.setPresence(member.name, presenceOf(member, this.#lobby)).catch(() => {});
  }

  /** Tells every room here that the cluster lost Redis (`down`) or has it back. */
  clusterStatus(down: boolean): void {
    const notice = down
      ? "* The chat lost its connection to Redis; messages cannot be sent until it is back"
      : "* The chat is back";
    this.#log?.(down ? "cluster: Redis is unreachable" : "cluster: Redis is back");
    for (const room of this.#rooms.busiestFirst()) room.deliver(notice);
  }

  /** How many connections are open, named or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Sends lines to one connection, member or not. */
  tell(member: Member, ...lines: string[]): void {
    (member.room ?? this.#lobby).sendTo(member, ...lines);
  }

  /**
   * Tells every connection the server is shutting down, lets queued output
   * drain for at most `flushMs`, and resolves once every connection and
   * refusal is closed.
   */
  async shutdown(flushMs: number): Promise<void> {
    const members = [...this.#connections];
    const allGone = new Promise<void>((resolve) => this.#allGone = resolve);
    for (const member of members) {
      if (member.leaving === null) member.leaving = "shutdown";
      this.tell(member, "* Server is shutting down");
    }
    await Promise.all(members.map((member) => this.#end(member, flushMs)));
    if (this.#connections.size > 0) await allGone;
    await Promise.all(this.#refusals);
  }

  /**
   * Handlers that every member's link shares, finding the member through
   * the link: idle connections are many, and closures for each add up.
   */
  readonly events: LinkEvents = (() => {
    const drain = (member: Member) => void this.#drain(member);
    const received = (member: Member, bytes: number) => {
      if (this.#pacing !== null) takeBytes(member, this.#pacing, bytes, performance.now());
    };
    const leave = (member: Member) => void this.leave(member);
    const failed = (member: Member, error: Error) => {
      if (!isConnectionError(error)) this.#log?.(`${member.label} failed: ${describe(error)}`);
    };
    return {
      data(chunk, sent, interrupted) {
        const member = memberOf(this);
        if (interrupted) {
          // It leaves once the lines before are handled; nothing after is read.
          member.interrupted = true;
          this.pause();
        }
        // Every byte the peer sent is paced, whatever it carried: telnet's
        // commands and a WebSocket's framing too, so no flood goes around it.
        const bytes = sent ?? chunk.length;
        if (bytes > chunk.length) {
          member.receivedWithoutText(bytes - chunk.length, performance.now());
        }
        member.framer.feed(chunk);
        received(member, bytes);
        drain(member);
      },
      end() {
        // While lines wait, the drain notices the end itself once they are handled.
        const member = memberOf(this);
        if (!member.draining) leave(member);
      },
      close() {
        leave(memberOf(this));
      },
      error(error) {
        failed(memberOf(this), error);
      },
    };
  })();

  /**
   * Admits a connection as {@linkcode Chat.admit} does, but reads nothing
   * from it yet: a transport that reads its sockets itself (TCP, to take
   * telnet's commands out) then calls {@linkcode Chat.listenTo} with its own
   * `data` handler in place of the core's.
   */
  accept(
    link: Link,
    ip: string,
    port: number,
    refusalLink: () => Link,
    via = "",
  ): Member | null {
    if (this.#connections.size >= this.#maxClients) {
      this.#log?.(`${peerLabel(ip, port)} refused: server full`);
      this.refuse(refusalLink(), `! Server is full (${this.#maxClients} users); try again later.`);
      return null;
    }
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (fromIp >= this.#maxPerIp && (this.#limitLoopback || !isLoopback(ip))) {
      this.#log?.(`${peerLabel(ip, port)} refused: ${fromIp} connections from ${ip} already`);
      this.refuse(refusalLink(), "! Too many connections from your address");
      return null;
    }
    const ban = this.#operators.banOn(null, ip);
    if (ban !== undefined) {
      this.#log?.(`${peerLabel(ip, port)} refused: ${ip} is banned`);
      this.refuse(refusalLink(), this.#operators.bannedLine(ban));
      return null;
    }
    this.#perIp.set(ip, fromIp + 1);
    const member = new Member(link, ip, port, this.#maxLineBytes);
    member.lineTokens = this.#burst;
    member.byteTokens = this.#burst * this.#maxLineBytes;
    member.pacedAt = performance.now();
    this.#connections.add(member);
    this.#log?.(`${member.peer} connected${via}`);
    return member;
  }

  /**
   * Admits a connection over any link, unless the server is full or its
   * address has too many already: then it is told so over `refusalLink()`
   * and closed, and the result is null. `via` names the transport in the log.
   */
  admit(
    link: Link,
    ip: string,
    port: number,
    refusalLink: () => Link,
    via = "",
  ): Member | null {
    const member = this.accept(link, ip, port, refusalLink, via);
    if (member !== null) this.listenTo(link, member);
    return member;
  }

  /**
   * Makes the member's events come from `link`, to `events` ({@linkcode Chat.events}
   * unless a transport hands the core its bytes through handlers of its own).
   */
  listenTo(link: Link, member: Member, events: LinkEvents = this.events): void {
    (link as MemberLink)[MEMBER] = member;
    link.on("error", events.error);
    link.on("data", events.data);
    link.on("end", events.end);
    link.on("close", events.close);
  }

  /** Sends one line and closes; the connection never joins. */
  refuse(link: Link, text: string): void {
    // Whatever goes wrong, the connection closes and that is all.
    link.on("error", ignore);
    const refusal = endWithin(link, GOODBYE_FLUSH_MS, text + "\n")
      .finally(() => this.#refusals.delete(refusal));
    this.#refusals.add(refusal);
  }

  /** Starts the naming clock and asks for the password or the nickname. */
  greet(member: Member): void {
    this.#naming.add(member);
    member.stage = this.#password === null ? "name" : "password";
    this.#lobby.sendBytes(member, this.#password === null ? GREETING_LINE : PASSWORD_GREETING_LINE);
  }

  /**
   * Handles the lines received so far, in order. Reading pauses while a line
   * waits (flood control, a full turn, a password check), so TCP pushes back
   * on this sender alone and nothing is dropped.
   */
  async #drain(member: Member): Promise<void> {
    if (member.draining) return;
    member.draining = true;
    const link = member.link;
    const pacing = this.#pacing;
    try {
      const framer = member.framer;
      for (let line = framer.next(); line !== null; line = framer.next()) {
        member.bytesWithoutText = 0;
        if (member.leaving !== null || member.closed) break;
        for (let room = member.room ?? this.#lobby; room.turnFull && !member.closed;) {
          // This turn carries all it may: the line goes out in a later one.
          link.pause();
          await room.nextTurn();
          room = member.room ?? this.#lobby;
        }
        if (member.closed) break;
        if (pacing !== null) {
          // Out of tokens: read nothing more until one is due.
          const wait = takeLine(member, pacing, performance.now());
          if (wait > 0) {
            link.pause();
            await pauseReading(member, wait);
            if (member.closed) break;
            takeLine(member, pacing, performance.now());
          }
        }
        if (member.leaving !== null) break;
        if (line === LINE_TOO_LONG) {
          this.tell(
            member,
            `! Line too long (max ${this.#maxLineBytes} bytes); message dropped.`,
          );
        } else if (member.stage === "password") {
          link.pause();
          await this.#checkPassword(member, decoder.decode(line));
        } else if (member.stage !== "handshake") {
          this.#receive(member, decoder.decode(line));
          if (member.busy !== null) {
            // A command at work (a password check): the next line waits for it.
            link.pause();
            await member.busy;
            member.busy = null;
          }
        }
      }
      // An interrupt (telnet's Ctrl+C), after the lines before it: as if it had typed the quit word.
      if (member.interrupted && member.leaving === null) this.#receive(member, QUIT_WORD);
      // Bytes that carried no text (telnet commands, WebSocket control frames) count as the line's.
      const unfinished = framer.unfinishedLineBytes + member.bytesWithoutText;
      if (unfinished > this.#maxUnfinishedLineBytes && member.leaving === null) {
        this.#log?.(
          `${member.label} sent over ${this.#maxUnfinishedLineBytes} bytes without a newline`,
        );
        this.tell(
          member,
          `! Line far too long (over ${this.#maxUnfinishedLineBytes} bytes); closing the connection.`,
        );
        member.leaving = "flood";
      }
      // More bytes came than the byte bucket allows: read nothing until they are paid for.
      const owed = pacing === null ? 0 : takeBytes(member, pacing, 0, performance.now());
      if (owed > 0 && member.leaving === null && !member.closed) {
        link.pause();
        await pauseReading(member, owed);
      }
    } catch (error) {
      this.#log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    } finally {
      member.draining = false;
    }
    if (member.leaving !== null || member.closed || link.readableEnded) void this.leave(member);
    else if (link.isPaused()) link.resume();
  }

  /** Runs `action` for one member; a failure ends that connection only. */
  #guard(member: Member, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#log?.(`${member.label} failed: ${describe(error)}`);
      closeConnection(member);
    }
  }

  #nameTimedOut(member: Member): void {
    if (member.stage === "password") {
      this.tell(member, "! Timed out waiting for the password");
      member.leaving = "refused";
      void this.leave(member);
    } else {
      this.#join(member, "");
    }
  }

  #receive(member: Member, line: string): void {
    const text = cleanText(line);
    if (member.stage === "name") {
      if (isQuitWord(text)) member.leaving = "quit";
      else this.#join(member, text);
      return;
    }
    if (text === "") return;
    if (isQuitWord(text)) {
      member.leaving = "quit";
      return;
    }
    const command = parseCommand(text);
    if (command === null) {
      const muted = this.#operators.mutedLine(member);
      if (muted !== null) {
        this.tell(member, muted);
        return;
      }
      (member.room as Room<Member>).broadcast(chatLine(member.name as string, messageText(text)), {
        public: true,
        from: member,
      });
    } else {
      runCommand(this.#commandHost, member, command.name, command.rest);
    }
  }

  async #checkPassword(member: Member, line: string): Promise<void> {
    const wait = this.#guesses.take(member.ip, performance.now());
    if (wait > 0) {
      this.#log?.(`${member.peer} refused: too many wrong passwords from ${member.ip}`);
      this.tell(
        member,
        `! Too many wrong passwords from your address; try again in ${Math.ceil(wait / 1000)} s`,
      );
      member.leaving = "refused";
      return;
    }
    if (await secretsMatch(line, this.#password as string)) {
      this.#guesses.right(member.ip);
      member.stage = "name";
      this.tell(member, GREETING);
      return;
    }
    this.#log?.(`${member.peer} gave a wrong password`);
    await pauseReading(member, WRONG_PASSWORD_DELAY_MS);
    this.tell(member, "! Wrong password");
    member.leaving = "refused";
  }

  /** What the commands may do, for the member who typed one. */
  readonly #commandHost: CommandHost<Member> = {
    tell: (member, ...lines) => this.tell(member, ...lines),
    who: (member, typed) => this.#who(member, typed),
    whisper: (from, to, text) => this.#whisper(from, to, this.#rooms.find(to), text),
    replyTo: (member) => member.replyTo?.name ?? member.replyName,
    reply: (from, text) => {
      const to = from.replyTo;
      if (to === null) {
        // Whoever wrote from another process: by name, wherever it is now.
        const name = from.replyName as string;
        this.#whisper(from, name, this.#rooms.find(name), text);
        return;
      }
      const here = to.room?.members.has(to) ?? false;
      this.#whisper(from, to.name as string, here ? to : undefined, text);
    },
    rename: (member, requested) => this.#rename(member, requested),
    act: (member, action) =>
      (member.room as Room<Member>).broadcast(actionLine(member.name as string, action), {
        public: true,
        from: member,
      }),
    join: (member, typed) => this.#moveTo(member, typed),
    rooms: (member) => {
      const cluster = this.#cluster;
      if (cluster === null) {
        const rooms = this.#rooms.busiestFirst();
        this.#tellRooms(member, rooms.map((room) => [room.name, room.members.size]));
        return;
      }
      member.busy = cluster.members().then((everyone) => {
        // The rooms anyone is in, anywhere, and those kept here (a topic) with nobody in them.
        const counts = new Map<string, [string, number]>();
        for (const room of this.#rooms.busiestFirst()) {
          counts.set(nameKeys(room.name)[1], [room.name, 0]);
        }
        for (const other of everyone) {
          const key = nameKeys(other.room || LOBBY)[1];
          const entry = counts.get(key) ?? [other.room || LOBBY, 0];
          counts.set(key, [entry[0], entry[1] + 1]);
        }
        this.#tellRooms(member, [...counts.values()].sort((a, b) => b[1] - a[1]));
      }, () => this.tell(member, UNAVAILABLE_TRY));
    },
    topic: (member, text) => this.#topic(member, text),
    isConsole: (member) => member === this.#operators.console,
    mayPost: (member) => {
      const muted = this.#operators.mutedLine(member);
      if (muted !== null) this.tell(member, muted);
      return muted === null;
    },
    moderate: (member, command, rest) => {
      const operators = this.#operators;
      const cluster = this.#cluster;
      // About a member who may be on another process: ask the cluster who is where first,
      // when the actor may do it at all (else the rules refuse it here, at no cost to Redis).
      const byRoomOperators = REACHES_ELSEWHERE.get(command);
      const may = member.serverOperator ||
        (byRoomOperators === true && (member.room?.operators.has(member) ?? false));
      if (cluster !== null && byRoomOperators !== undefined && may) {
        const act = command as "op" | "deop" | "kick" | "ban" | "mute" | "unmute";
        member.busy = cluster.members().then((everyone) => {
          if (member.closed || member.leaving !== null) return;
          const elsewhere: ClusterPeer[] = everyone.filter((other) =>
            other.processId !== cluster.processId
          );
          operators[act](member, rest, elsewhere);
        }, () => this.tell(member, UNAVAILABLE_TRY));
        return;
      }
      switch (command) {
        case "oper":
          member.busy = operators.oper(member, rest);
          return;
        case "bans":
        case "mutes":
          return operators.list(member, command);
        case "motd":
          return operators.setMotd(member, rest);
        default:
          return operators[command](member, rest);
      }
    },
  };

  /**
   * Runs a line typed at the server's console: an operator command, answered
   * through `consoleOutput`.
   */
  runConsole(line: string): void {
    const console = this.#operators.console;
    const text = cleanText(line);
    if (text === "") return;
    const command = parseCommand(text);
    if (command === null) {
      this.tell(console, "! The console takes commands (type /help)");
      return;
    }
    runCommand(this.#commandHost, console, command.name, command.rest);
  }

  /** `/who`: who is in the member's room, or in the room it names. */
  #who(member: Member, typed: string): void {
    const cluster = this.#cluster;
    if (cluster !== null) {
      const name = typed === "" ? (member.room ?? this.#lobby).name : roomName(typed);
      if (name === null) {
        this.tell(member, `! Invalid room name: ${typed}`);
        return;
      }
      member.busy = cluster.members().then((everyone) => {
        const there = everyone.filter((other) => sameName(other.room || LOBBY, name));
        const local = this.#rooms.get(name);
        if (there.length === 0 && local === undefined) {
          this.tell(member, `! No such room: #${name}`);
          return;
        }
        const shown = local?.name ?? there[0]?.room ?? name;
        const names = there.map((other) => {
          const here = this.#rooms.find(other.name);
          // Here, what this process knows; elsewhere, what that process said.
          const op = here === undefined
            ? other.roomOperator || other.serverOperator
            : local !== undefined && here.room === local &&
              this.#operators.isOperator(here, local);
          return (op ? "@" : "") + other.name;
        });
        const where = typed === "" && sameName(shown, LOBBY) ? "online" : `in #${shown}`;
        this.tell(member, `* ${names.length} ${where}: ${names.join(", ")}`);
      }, () => this.tell(member, UNAVAILABLE_TRY));
      return;
    }
    let room = member.room ?? this.#lobby;
    if (typed !== "") {
      const name = roomName(typed);
      const found = name === null ? undefined : this.#rooms.get(name);
      if (found === undefined) {
        this.tell(
          member,
          name === null ? `! Invalid room name: ${typed}` : `! No such room: #${name}`,
        );
        return;
      }
      room = found;
    }
    const names = [...room.members].map((other) =>
      (this.#operators.isOperator(other, room) ? "@" : "") + (other.name as string)
    );
    const where = typed === "" && room === this.#lobby ? "online" : `in #${room.name}`;
    this.tell(member, `* ${names.length} ${where}: ${names.join(", ")}`);
  }

  /**
   * `/join`: moves the member to the room it names, made for it if new. The
   * room it leaves hears where it went, unless it was kicked (and heard that).
   */
  #moveTo(member: Member, typed: string, announce = true): void {
    const name = roomName(typed);
    if (name === null) {
      this.tell(member, `! Invalid room name: ${typed}`);
      return;
    }
    const from = member.room as Room<Member>;
    const existing = this.#rooms.get(name);
    if (existing === from) {
      this.tell(member, `! You are already in #${from.name}`);
      return;
    }
    const to = existing?.name ?? name;
    const cluster = this.#cluster;
    // A new room's name is words the room hears (`left for #...`): the muted may not choose one.
    // In a cluster a room is new when nobody is in it anywhere: that is known below.
    if (cluster === null && existing === undefined && !this.#mayMakeRoom(member, to)) return;
    if (cluster !== null) {
      const room = this.#rooms.ensure(to, member.serverOperator);
      if (room === null) {
        this.tell(member, "! Too many rooms");
        return;
      }
      // A room new here starts with the cluster's history; the count is the cluster's.
      member.busy = Promise.all([
        existing === undefined ? cluster.history(room.name) : Promise.resolve([]),
        cluster.members(),
      ]).then(([history, everyone]) => {
        if (member.closed || member.leaving !== null || member.room !== from) return;
        // Someone is in it, or it has a topic: it exists somewhere.
        const anyone = everyone.some((other) => sameName(other.room || LOBBY, room.name)) ||
          !!this.#clusterTopics.get(topicKind(room.name));
        const made = existing === undefined && !anyone;
        if (made && !this.#mayMakeRoom(member, room.name)) return;
        room.prime(history);
        const topic = this.#clusterTopics.get(topicKind(room.name));
        if (existing === undefined && topic !== undefined) room.restore(topic || null, []);
        const there = everyone.filter((other) =>
          other.name !== member.name && sameName(other.room, room.name)
        ).length;
        // Whoever makes a room is its operator: here, whoever is first in it anywhere.
        if (existing === undefined && there === 0) room.operators.add(member);
        const before = from.members.size;
        if (this.#rooms.move(member, room.name, member.serverOperator) === null) {
          this.tell(member, "! Too many rooms");
          return;
        }
        if (made) this.#newRooms.take(plainAddress(member.ip), performance.now());
        this.#finishMove(member, from, room, announce, there + 1, before);
        this.#sharePresence(member);
      }, () => this.tell(member, UNAVAILABLE_TRY));
      return;
    }
    const before = from.members.size;
    if (this.#rooms.move(member, to, member.serverOperator) === null) {
      this.tell(member, "! Too many rooms");
      return;
    }
    if (existing === undefined) this.#newRooms.take(plainAddress(member.ip), performance.now());
    const room = member.room as Room<Member>;
    this.#finishMove(member, from, room, announce, room.members.size, before);
  }

  /**
   * Whether `member` may make the new room `name`: not while muted (the room
   * hears its name), nor past {@linkcode NEW_ROOMS_PER_ADDRESS} from its
   * address within the hour (server operators, and loopback unless
   * `limitLoopback`, are exempt). Tells it why not.
   */
  #mayMakeRoom(member: Member, name: string): boolean {
    if (!this.#commandHost.mayPost(member)) return false;
    if (member.serverOperator || (!this.#limitLoopback && isLoopback(member.ip))) return true;
    const address = plainAddress(member.ip);
    if (this.#newRooms.allows(address, performance.now())) return true;
    this.#log?.(
      `${member.peer} ${member.name} refused #${name}: ` +
        `${NEW_ROOMS_PER_ADDRESS} new rooms from ${address} within the hour already`,
    );
    this.tell(member, "! Too many new rooms from your address; try again later");
    return false;
  }

  /**
   * Tells both rooms of a move made, and the member where it is now: `here`
   * are in the room, it counted; `before` were in the room it left.
   */
  #finishMove(
    member: Member,
    from: Room<Member>,
    room: Room<Member>,
    announce: boolean,
    here: number,
    before: number,
  ): void {
    if (announce && before <= this.#announceLimit) {
      from.broadcast(`* ${member.name} left for #${room.name}`);
    }
    this.tell(member, `* You are now in #${room.name} (${here} here)`);
    if (room.topic !== null) this.tell(member, `* Topic: ${room.topic}`);
    room.sendHistory(member);
    if (room.members.size <= this.#announceLimit) {
      room.broadcast(`* ${member.name} joined #${room.name}`, { except: member });
    }
    this.#log?.(`${member.peer} ${member.name} moved from #${from.name} to #${room.name}`);
  }

  /** `/topic`: shows the member's room's topic, or sets it if the member is its operator. */
  #topic(member: Member, text: string): void {
    const room = member.room as Room<Member>;
    if (text === "") {
      this.tell(
        member,
        room.topic === null ? `* No topic in #${room.name}` : `* Topic: ${room.topic}`,
      );
    } else if (!this.#operators.isOperator(member, room)) {
      this.tell(member, "! Only operators can /topic");
    } else if (this.#commandHost.mayPost(member)) {
      room.topic = text === "-" ? null : text;
      this.#shareTopic(room);
      room.broadcast(
        room.topic === null
          ? `* ${member.name} cleared the topic`
          : `* ${member.name} set the topic: ${text}`,
      );
      const did = room.topic === null ? "cleared the topic" : "set the topic";
      this.#log?.(`${member.peer} ${member.name} ${did} of #${room.name}`);
    }
  }

  /** `* 3 rooms: #lobby (12), #dev (3)`, from names and counts busiest first. */
  #tellRooms(member: Member, rooms: [string, number][]): void {
    const list = rooms.map(([name, count]) => `#${name} (${count})`).join(", ");
    this.tell(member, `* ${rooms.length} ${rooms.length === 1 ? "room" : "rooms"}: ${list}`);
  }

  #whisper(from: Member, toName: string, to: Member | undefined, text: string): void {
    const cluster = this.#cluster;
    if (to === undefined && cluster !== null) {
      // Not here: perhaps on another process.
      from.busy = cluster.members().then(async (everyone) => {
        const found = everyone.find((other) => sameName(other.name, toName));
        if (found === undefined) {
          this.tell(from, `! No such user: ${toName}`);
          return;
        }
        await cluster.publishPrivate(from.name as string, found.name, text).then(
          () => this.tell(from, `(private to ${found.name}) ${from.name}: ${text}`),
          (error) => this.tell(from, unsentNotice(error)),
        );
      }).catch(() => this.tell(from, UNAVAILABLE));
      return;
    }
    if (to === undefined) {
      this.tell(from, `! No such user: ${toName}`);
      return;
    }
    this.tell(to, `(private) ${from.name}: ${text}`);
    if (to !== from) this.tell(from, `(private to ${to.name}) ${from.name}: ${text}`);
    to.replyTo = from;
    to.replyName = null;
  }

  #rename(member: Member, requested: string): void {
    const old = member.name as string;
    if (requested === "") {
      this.tell(member, "! Usage: /nick NEW");
      return;
    }
    const name = cleanNickname(requested);
    if (name === DEFAULT_NAME && requested !== DEFAULT_NAME) {
      this.tell(member, `! Invalid name: ${requested}`);
      return;
    }
    if (this.#rooms.find(name, member) !== undefined) {
      this.tell(member, `! Name taken: ${name}`);
      return;
    }
    if (name === old) {
      this.tell(member, `! You are already ${name}`);
      return;
    }
    const ban = this.#operators.banOn(name, null);
    if (ban !== undefined) {
      this.tell(member, `! The name ${name} is banned ${untilNote(ban.until)}`);
      return;
    }
    const cluster = this.#cluster;
    if (cluster !== null && !sameName(old, name)) {
      member.busy = cluster.renameName(old, name).then((renamed) => {
        if (!renamed) this.tell(member, `! Name taken: ${name}`);
        else if (member.name === old && !member.closed) this.#finishRename(member, old, name);
      }, () => this.tell(member, UNAVAILABLE_TRY));
      return;
    }
    this.#finishRename(member, old, name);
  }

  #finishRename(member: Member, old: string, name: string): void {
    this.#rooms.rename(member, name);
    (member.room as Room<Member>).broadcast(`* ${old} is now known as ${name}`);
    this.#log?.(`${member.peer} ${old} is now ${name}`);
  }

  #join(member: Member, requested: string): void {
    if (member.stage !== "name" || member.leaving !== null || member.closed) return;
    this.#naming.delete(member);
    const wanted = cleanNickname(requested);
    const operators = this.#operators;
    const ban = operators.banOn(wanted, member.ip);
    if (ban !== undefined) {
      this.#log?.(`${member.peer} refused: ${wanted} is banned`);
      this.tell(member, operators.bannedLine(ban));
      member.leaving = "refused";
      void this.leave(member);
      return;
    }
    const cluster = this.#cluster;
    if (cluster !== null) {
      // Names are the cluster's: the claim is Redis's to grant.
      member.stage = "joining";
      member.busy = cluster.claimName(wanted, presenceOf(member, this.#lobby)).then(
        (name) => {
          if (member.closed || member.leaving !== null) {
            void cluster.releaseName(name).catch(() => {});
          } else {
            this.#welcome(member, name, requested);
          }
        },
        (error) => {
          this.#log?.(`${member.peer} refused: cannot claim a name: ${describe(error)}`);
          this.tell(member, UNAVAILABLE_TRY);
          member.leaving = "refused";
          void this.leave(member);
        },
      );
      return;
    }
    // A banned name is as good as taken: asking for `bob` never gives a banned `bob2`.
    const name = uniqueName(
      wanted,
      (n) => this.#rooms.isTaken(n) || operators.banOn(n, null) !== undefined,
    );
    this.#welcome(member, name, requested);
  }

  /** Makes a connection the member called `name`, in `#lobby`, and tells it and the lobby. */
  #welcome(member: Member, name: string, requested: string): void {
    const operators = this.#operators;
    member.stage = "member";
    // A member may have a room's worth of output waiting, history included.
    member.outputLimit = 0;
    this.#rooms.admit(member, name);
    this.tell(member, `Welcome, ${name}! Type ${QUIT_WORD} to leave.`);
    if (operators.motd !== null) this.tell(member, `* Message of the day: ${operators.motd}`);
    this.#lobby.sendHistory(member);
    if (this.#lobby.members.size <= this.#announceLimit) {
      this.#lobby.broadcast(`* ${name} joined the chat`, { except: member });
    }
    this.#log?.(`${member.peer} is ${name}${howNamed(requested, name)}`);
  }

  #dropTooSlow(member: Member): void {
    member.leaving ??= "slow";
    this.#announceDeparture(member, "slow");
    closeConnection(member);
  }

  #announceDeparture(member: Member, reason: LeaveReason): void {
    const room = member.room;
    const size = room?.members.size ?? 0;
    if (room === null || !this.#rooms.remove(member)) return;
    this.#cluster?.releaseName(member.name as string).catch(() => {});
    const notice = DEPARTURE_NOTICES[reason];
    if (notice !== null && size <= this.#announceLimit) {
      room.broadcast(`* ${member.name} ${notice}`);
    }
    this.#log?.(`${member.peer} ${member.name} ${notice ?? UNANNOUNCED_DEPARTURES[reason]}`);
    if (this.#onEmpty !== undefined && this.#rooms.memberCount === 0) {
      this.#log?.("the last member left");
      this.#onEmpty();
    }
  }

  /**
   * Ends the member's link once what is queued for it is written; closes it
   * outright after `ms`. Resolves when it is closed.
   */
  async #end(member: Member, ms: number): Promise<void> {
    // A flush already queued for this turn runs first.
    await null;
    if (member.closed) return;
    await endWithin(member.link, ms);
    closeConnection(member);
  }

  async leave(member: Member): Promise<void> {
    if (member.left) return;
    member.left = true;
    stopTimer(member);
    this.#naming.delete(member);
    const reason = member.leaving ?? "lost";
    member.leaving = reason;
    if (member.name === null && reason !== "shutdown") {
      this.#log?.(`${member.peer} ${reason === "quit" ? "quit" : "disconnected"} before joining`);
    }
    this.#announceDeparture(member, reason);
    if (reason === "quit") {
      this.tell(member, member.name === null ? "* Goodbye!" : `* Goodbye, ${member.name}!`);
    }
    if (reason !== "shutdown") await this.#end(member, GOODBYE_FLUSH_MS);
    closeConnection(member);
    this.#connections.delete(member);
    const fromIp = (this.#perIp.get(member.ip) ?? 1) - 1;
    if (fromIp > 0) this.#perIp.set(member.ip, fromIp);
    else this.#perIp.delete(member.ip);
    if (this.#connections.size === 0) this.#allGone?.();
  }
}
