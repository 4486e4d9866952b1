/**
 * The chat's core: it admits connections over any {@linkcode Link}, greets
 * them, asks for the password and the name, reads their lines at the pace
 * flood control allows, runs their commands, and sees each one out once. It
 * knows nothing of sockets or ports: the TCP and WebSocket transports hand it
 * links, and a cluster, when there is one, speaks to it through
 * {@linkcode ChatCluster}.
 *
 * {@linkcode Chat} ties its parts together, each in its own file with the
 * state it owns:
 *
 * - connections.ts: admitting, counting and seeing out connections;
 * - reader.ts: reading lines at the allowed pace, and what each line is
 *   (reading.ts: a connection's reading state, the reader's alone);
 * - naming.ts: the greeting, the password, the name and the welcome;
 * - room_commands.ts: `/join`, `/part`, `/topic`, `/who`, `/rooms`;
 * - mode_commands.ts: `/mode` and `/invite` (room_modes.ts: a room's modes;
 *   shared_modes.ts: as a cluster shares them);
 * - private_messages.ts: `/msg` and `/reply`;
 * - renames.ts: `/nick`;
 * - accounts.ts: `/register`, `/login` and the rest, and messages kept (mailbox.ts);
 * - cluster_side.ts: joining a cluster and what it tells this process;
 * - operators.ts: operators, bans, mutes and the motd;
 * - hub.ts: what they share (the rooms, the connections, the log).
 *
 * The core's words for what is outside it: link.ts (a connection, which a
 * transport implements), cluster_port.ts (the cluster), recorder.ts (the
 * data file) and output_link.ts (the console's answers).
 *
 * @module
 */

import { type AccountBook, type LocalAccountBook, MemoryAccounts } from "./account_book.ts";
import { Accounts, MAX_ACCOUNTS } from "./accounts.ts";
import type { FileStore } from "./file_store.ts";
import { FILE_TTL_MS, FileSharing, MAX_FILE_BYTES } from "./files.ts";
import type { ChatCluster, ClusterEvent } from "./cluster_port.ts";
import { ClusterSide } from "./cluster_side.ts";
import { type CommandHost, runCommand } from "./commands.ts";
import { Connections } from "./connections.ts";
import { moderate } from "./moderating.ts";
import { describe } from "./helpers.ts";
import { type AccountChange, Hub, unsentNotice } from "./hub.ts";
import type { Link } from "./link.ts";
import { plainAddress } from "./moderation.ts";
import { ModeCommands } from "./mode_commands.ts";
import { Naming } from "./naming.ts";
import { OutputLink } from "./output_link.ts";
import { CONSOLE_NAME, Operators } from "./operators.ts";
import { PrivateMessages } from "./private_messages.ts";
import {
  actionLine,
  cleanText,
  noticeLine,
  parseCommand,
  WRONG_PASSWORD_DELAY_MS,
} from "../protocol.ts";
import { Reader } from "./reader.ts";
import type { ChatRecorder, SavedState } from "./recorder.ts";
import { Renames } from "./renames.ts";
import type { Room } from "./room.ts";
import { RoomCommands } from "./room_commands.ts";
import { entryRefusal, speechRefusal } from "./room_modes.ts";
import { LOBBY, Rooms } from "./rooms.ts";
import { Seats } from "./seats.ts";
import { type LinkEvents, Member, pauseReading } from "./session.ts";

export { Member };
export type { AccountBook, AccountChange, ChatCluster, ChatRecorder, LocalAccountBook };

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
  /** Where accounts live; in memory when absent. */
  accounts?: LocalAccountBook | null;
  /** Accounts at most. @default {10000} */
  maxAccounts?: number;
  /** Where shared files live and their limits; sharing is off when absent or null. */
  files?: { store: FileStore; maxFileBytes: number; ttlMs: number } | null;
  log: ((event: string) => void) | undefined;
  /** Called when the last member leaves. */
  onEmpty?: () => void;
}

/** The chat's members and connections, and everything that happens to them. */
export class Chat {
  /** What the parts share. */
  readonly #hub: Hub;
  readonly #connections: Connections;
  readonly #naming: Naming;
  readonly #reader: Reader;
  readonly #roomCommands: RoomCommands;
  readonly #modeCommands: ModeCommands;
  readonly #privateMessages: PrivateMessages;
  readonly #renames: Renames;
  readonly #clusterSide: ClusterSide;
  readonly #accounts: Accounts;
  /** Members in several rooms at once (IRC clients): `open` and `partOver` (seats.ts). */
  readonly seats: Seats;
  /** Sharing files: the commands, and the uploads and downloads the web transport hands over. */
  readonly files: FileSharing;

  /** A core with `options`; it opens nothing itself. */
  constructor(options: ChatOptions) {
    const log = options.log;
    const rooms = new Rooms<Member>(
      options.maxRooms,
      options.maxQueueBytes,
      options.history,
      (member) => this.#connections.dropTooSlow(member),
      options.recorder ?? null,
    );
    rooms.onEvicted = (room) => {
      const held = room.topic !== null || room.hasHistory ? " (it held a topic or history)" : "";
      log?.(`#${room.name} was removed at --max-rooms to make a new room${held}`);
    };
    const hub = this.#hub = new Hub({
      rooms,
      operators: this.#operators(options, rooms),
      announceLimit: options.announceLimit,
      log,
    });
    const leave = (member: Member) => void this.#connections.leave(member);
    const accounts = new Accounts(hub, {
      book: options.accounts ?? new MemoryAccounts(),
      maxAccounts: options.maxAccounts ?? MAX_ACCOUNTS,
      limitLoopback: options.limitLoopback,
      leave,
    });
    this.#accounts = accounts;
    this.#naming = new Naming(hub, {
      password: options.password,
      nameTimeoutMs: options.nameTimeoutMs,
      leave,
      accounts,
    });
    const files = new FileSharing(hub, {
      store: options.files?.store ?? null,
      maxFileBytes: options.files?.maxFileBytes ?? MAX_FILE_BYTES,
      ttlMs: options.files?.ttlMs ?? FILE_TTL_MS,
    });
    this.files = files;
    this.#connections = new Connections(hub, {
      ...options,
      naming: this.#naming,
      onLeave: (member) => files.forget(member),
      closeSeats: (member, notice) => this.seats.closeAll(member, notice),
    });
    this.#privateMessages = new PrivateMessages(hub, accounts);
    this.#renames = new Renames(hub, accounts);
    this.#clusterSide = new ClusterSide(hub, {
      leave,
      sendHome: (member) => this.#sendHome(member),
      privateMessages: this.#privateMessages,
      accounts,
    });
    this.#roomCommands = new RoomCommands(hub, {
      limitLoopback: options.limitLoopback,
      clusterSide: this.#clusterSide,
    });
    this.#modeCommands = new ModeCommands(hub, {
      op: (member, command, name) => this.#commandHost.moderate(member, command, name),
      share: (room) => this.#clusterSide.shareModes(room),
    });
    this.#reader = new Reader(hub, {
      ...options,
      connections: this.#connections,
      naming: this.#naming,
      commands: this.#commandHost,
    });
    this.seats = new Seats(hub, {
      maxLineBytes: options.maxLineBytes,
      listen: (link, seat) => this.#reader.listen(link, seat, this.#reader.events),
      newRoomRefusal: (member, name) => this.#roomCommands.newRoomRefusal(member, name),
      entryRefusal: (room, member, key) => entryRefusal(room, member, key),
      enterOnCluster: (cluster, owner, name, key, entry) =>
        this.#roomCommands.enterOnCluster(cluster, owner, name, key, entry),
    });
    if (options.saved) this.#restore(options.saved);
    const recorder = options.recorder;
    if (recorder) {
      hub.operators.bans.onChange = (list) => recorder.setRestrictions("bans", list);
      hub.operators.mutes.onChange = (list) => recorder.setRestrictions("mutes", list);
      hub.operators.onMotd = (text) => recorder.setMotd(text);
    }
  }

  /** Back to `#lobby` (kicked): a seat leaves its room instead, its owner still elsewhere. */
  #sendHome(member: Member): void {
    if (member.seatOf !== null) this.seats.close(member, null);
    else this.#roomCommands.moveTo(member, LOBBY, false);
  }

  /** The operators, with the console as a server operator, and what they may do here. */
  #operators(options: ChatOptions, rooms: Rooms<Member>): Operators {
    const console = new Member(
      new OutputLink(options.consoleOutput ?? (() => {})),
      "console",
      0,
      options.maxLineBytes,
    );
    console.name = CONSOLE_NAME;
    console.stage = "member";
    console.outputLimit = 0;
    console.serverOperator = true;
    return new Operators(
      {
        rooms,
        tell: (member, ...lines) => this.#hub.tell(member, ...lines),
        sendHome: (member) => this.#sendHome(member),
        disconnect: (target, reason) => {
          const member = target.seatOf ?? target;
          member.leaving ??= reason;
          void this.#connections.leave(member);
        },
        membersFrom: (address) =>
          [...this.#hub.connections].filter((member) =>
            member.name !== null && plainAddress(member.ip) === address
          ),
        actElsewhere: (target, action, actor) => {
          const cluster = this.#hub.cluster;
          cluster?.publishAct(action, target.name, target.room, target.processId).catch((error) => {
            this.#hub.log?.(
              `cluster: /${action} of ${target.name} was not sent: ${describe(error)}`,
            );
            this.#hub.tell(actor, unsentNotice(error));
          });
        },
        announce: (room, notice, actor) => {
          this.#hub.cluster?.publishLine(room, notice).catch((error) => {
            this.#hub.log?.(`cluster: a notice for #${room} was not sent: ${describe(error)}`);
            this.#hub.tell(actor, unsentNotice(error));
          });
        },
        changed: (member) => this.#hub.sharePresence(member),
        delay: (member, ms) => pauseReading(member, ms),
        log: options.log,
      },
      console,
      { password: options.operatorPassword, wrongPasswordDelayMs: WRONG_PASSWORD_DELAY_MS },
    );
  }

  /** Puts back what a restarted server saved: rooms with topics and history, bans, mutes, the motd. */
  #restore(saved: SavedState): void {
    const hub = this.#hub;
    let dropped = 0;
    for (const room of saved.rooms) {
      if (!hub.rooms.restore(room.name, room.topic, room.history)) dropped++;
    }
    if (dropped > 0) {
      hub.log?.(`${dropped} saved rooms are over --max-rooms and were not restored`);
    }
    const now = Date.now();
    for (const kind of ["bans", "mutes"] as const) {
      for (const entry of saved[kind]) {
        if (entry.until === null || entry.until > now) hub.operators[kind].add(entry);
      }
    }
    hub.operators.motd = saved.motd;
  }

  /**
   * Makes this core one process of a cluster: rooms' lines go through it
   * (and come back as {@linkcode Chat.clusterEvent}), names are claimed in
   * it, and `#lobby` starts with the cluster's history. Call it before any
   * connection is admitted.
   */
  joinCluster(cluster: ChatCluster): Promise<void> {
    return this.#clusterSide.join(cluster);
  }

  /** Delivers what the cluster says to the members here: room lines, private messages, state. */
  clusterEvent(event: ClusterEvent): void {
    this.#clusterSide.event(event);
  }

  /** Tells every room here that the cluster lost Redis (`down`) or has it back. */
  clusterStatus(down: boolean): void {
    this.#clusterSide.status(down);
  }

  /** How many connections are open, named or not. */
  get connectionCount(): number {
    return this.#hub.connections.size;
  }

  /** How many connections have a name (are members), for the IRC door's LUSERS. */
  get memberCount(): number {
    return this.#hub.rooms.memberCount;
  }

  /** Every member here, with its room and whether it is one of the room's operators (IRC's WHO). */
  members(): { name: string; room: string; operator: boolean }[] {
    return this.#hub.rooms.busiestFirst().flatMap((room) =>
      [...room.members].map((member) => ({
        name: member.name as string,
        room: room.name,
        operator: room.operators.has(member),
      }))
    );
  }

  /**
   * The name of the member here that `name` names by the lookalike rule, or
   * null: the IRC door answers ISON and USERHOST with it.
   */
  memberNamed(name: string): string | null {
    return this.#hub.rooms.find(name)?.name ?? null;
  }

  /**
   * Logs a connection without a name yet in to the account `name` with
   * `password` (IRC's SASL): true when it is; its name will be the
   * account's. Guesses are limited as `/login`'s are.
   */
  logInBeforeName(member: Member, name: string, password: string): Promise<boolean> {
    return this.#accounts.logInBeforeName(member, name, password);
  }

  /** A room's recent public lines with when each was said (0: not known), for IRC's history batches. */
  history(room: string): { text: string; at: number }[] {
    return this.#hub.rooms.get(room)?.historyWithTimes() ?? [];
  }

  /** The account the member here called `name` is logged in to, or null (IRC's extended-join). */
  accountOf(name: string): string | null {
    const here = this.#hub.rooms.find(name);
    if (here !== undefined || this.#hub.cluster === null) return here?.account ?? null;
    // A member of another process: a registered name is held only by whoever is logged in to it.
    return this.#accounts.reservedFor(name);
  }

  /** Calls `watch` with each login and logout here (IRC's account-notify) until told to stop. */
  watchAccounts(watch: (change: AccountChange) => void): () => void {
    this.#hub.accountWatchers.add(watch);
    return () => this.#hub.accountWatchers.delete(watch);
  }

  /**
   * Whether asking for `name` would get another one (a member has it, or an
   * account holds it): the IRC door refuses such a NICK (433) before asking,
   * as IRC clients expect, where the line protocol adds a number.
   */
  nameTaken(name: string): boolean {
    return this.#hub.rooms.isTaken(name) || this.#accounts.reservedFor(name) !== null;
  }

  /** Sends lines to one connection, member or not. */
  tell(member: Member, ...lines: string[]): void {
    this.#hub.tell(member, ...lines);
  }

  /**
   * Tells every connection the server is shutting down, lets queued output
   * drain for at most `flushMs`, and resolves once every connection and
   * refusal is closed.
   */
  shutdown(flushMs: number): Promise<void> {
    this.files.close();
    return this.#connections.shutdown(flushMs);
  }

  /**
   * Handlers that every member's link shares, finding the member through
   * the link: idle connections are many, and closures for each add up.
   */
  get events(): LinkEvents {
    return this.#reader.events;
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
    if (member !== null) this.#reader.listen(link, member, this.#reader.events);
    return member;
  }

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
    return this.#connections.admit(link, ip, port, refusalLink, via);
  }

  /**
   * Makes the member's events come from `link`, to `events` ({@linkcode Chat.events}
   * unless a transport hands the core its bytes through handlers of its own).
   */
  listenTo(link: Link, member: Member, events: LinkEvents = this.#reader.events): void {
    this.#reader.listen(link, member, events);
  }

  /** Sends one line and closes; the connection never joins. */
  refuse(link: Link, text: string): void {
    this.#connections.refuse(link, text);
  }

  /** Starts the naming clock and asks for the password or the nickname. */
  greet(member: Member): void {
    this.#naming.greet(member);
  }

  /** Sees a connection out, once (why: its `leaving`, else lost); resolves once it is closed. */
  leave(member: Member): Promise<void> {
    return this.#connections.leave(member);
  }

  /**
   * Runs a line typed at the server's console: an operator command, answered
   * through `consoleOutput`.
   */
  runConsole(line: string): void {
    const console = this.#hub.operators.console;
    const text = cleanText(line);
    if (text === "") return;
    const command = parseCommand(text);
    if (command === null) {
      this.tell(console, "! The console takes commands (type /help)");
      return;
    }
    runCommand(this.#commandHost, console, command.name, command.rest);
  }

  /** A `/me` or `/notice` line of `member`'s to its room, unless the room's modes refuse it. */
  #say(member: Member, line: string): void {
    const room = member.room as Room<Member>;
    const refusal = speechRefusal(room, member);
    if (refusal !== null) this.#hub.tell(member, refusal);
    else room.broadcast(line, { public: true, from: member });
  }

  /** What the commands may do, for the member who typed one: each part does its own. */
  readonly #commandHost: CommandHost<Member> = {
    tell: (member, ...lines) => this.#hub.tell(member, ...lines),
    who: (member, typed) => this.#roomCommands.who(member, typed),
    whisper: (from, to, text) => this.#privateMessages.send(from, to, text),
    replyTo: (member) => this.#privateMessages.replyTo(member),
    reply: (from, text) => this.#privateMessages.reply(from, text),
    rename: (member, requested) => this.#renames.rename(member, requested),
    act: (member, action) => this.#say(member, actionLine(member.name as string, action)),
    join: (member, typed, key) => this.#roomCommands.moveTo(member, typed, true, key),
    notice: (member, text) => this.#say(member, noticeLine(member.name as string, text)),
    part: (member, reason) => this.#roomCommands.moveTo(member, LOBBY, true, undefined, reason),
    rooms: (member) => this.#roomCommands.rooms(member),
    topic: (member, text) => this.#roomCommands.topic(member, text),
    mode: (member, rest) => this.#modeCommands.mode(member, rest),
    invite: (member, rest) => this.#modeCommands.invite(member, rest),
    isConsole: (member) => member === this.#hub.operators.console,
    mayPost: (member) => this.#hub.mayPost(member),
    accounts: (member, command, rest) => this.#accounts.run(member, command, rest),
    files: (member, command, rest) => {
      if (command === "upload") this.files.upload(member, rest);
      else if (command === "files") this.files.list(member);
      else this.files.unshare(member, rest);
    },
    moderate: (member, command, rest) => moderate(this.#hub, member, command, rest),
  };
}
