/**
 * The core's side of a cluster: joining one (rooms' lines go through it, the
 * shared state comes from it, what operators change here goes to it), and
 * what it tells this process: room lines and private messages to deliver,
 * state another process set, what an operator elsewhere did to a member
 * here, and the members of a process that died. A room's topic and modes
 * are the cluster's: kept by kind (`topic:` or `modes:` and the room's key)
 * for rooms made here later. It speaks to the cluster
 * only through {@linkcode ChatCluster} (cluster_port.ts).
 *
 * @module
 */

import type { Accounts } from "./accounts.ts";
import type { ChatCluster, ClusterAction, ClusterEvent } from "./cluster_port.ts";
import { DEPARTURE_NOTICES } from "./connections.ts";
import { describe } from "./helpers.ts";
import { type Hub, unsentNotice } from "./hub.ts";
import type { Restriction } from "./moderation.ts";
import { CONSOLE_NAME } from "./operators.ts";
import type { PrivateMessages } from "./private_messages.ts";
import { nameKeys, sameName } from "../protocol.ts";
import type { Room } from "./room.ts";
import { RoomModes } from "./room_modes.ts";
import { placeOf, roomsOf } from "./seats.ts";
import type { Member } from "./session.ts";
import {
  applySharedModes,
  defaultModes,
  isDefault,
  parseSharedModes,
  sharedModes,
  toShared,
} from "./shared_modes.ts";

/** The kind of shared state that holds a room's topic. */
function topicKind(room: string): string {
  return `topic:${nameKeys(room)[1]}`;
}

/** The kind of shared state that holds a room's modes (shared_modes.ts). */
function modesKind(room: string): string {
  return `modes:${nameKeys(room)[1]}`;
}

/** A detached copy of `modes`' shared part. */
function copyOf(modes: RoomModes<Member>): RoomModes<Member> {
  const copy = new RoomModes<Member>();
  applySharedModes(copy, toShared(modes));
  return copy;
}

/** What {@linkcode ClusterSide} is given. */
export interface ClusterSideOptions {
  /** Ends a member's connection (its `leaving` is set already). */
  leave: (member: Member) => void;
  /** Takes a member back to `#lobby`, its room not told where it went. */
  sendHome: (member: Member) => void;
  /** Where private messages from other processes go. */
  privateMessages: PrivateMessages;
  /** The accounts, which become the cluster's. */
  accounts: Accounts;
}

/** This process's side of the cluster: see the module's description. */
export class ClusterSide {
  readonly #hub: Hub;
  readonly #leave: (member: Member) => void;
  readonly #sendHome: (member: Member) => void;
  readonly #privateMessages: PrivateMessages;
  readonly #accounts: Accounts;
  /** The cluster's topics, by the room's key, for rooms made here later. */
  readonly #topics = new Map<string, string>();
  /** The cluster's modes, by the room's kind, for rooms made here later and rooms elsewhere. */
  readonly #modes = new Map<string, RoomModes<Member>>();
  /** Shares a room's new topic with the cluster; nothing without one. */
  #shareTopic: (room: Room<Member>) => void = () => {};
  /**
   * How many modes this process shared that have not come back, by kind:
   * until the last has, what comes is older than what this process has
   * (the stream's order), and is passed over.
   */
  readonly #unechoed = new Map<string, number>();
  /** Shares a room's new modes with the cluster; nothing without one. */
  #shareModes: (room: Room<Member>) => void = () => {};

  /** The cluster side of `hub`; it does nothing until {@linkcode ClusterSide.join}. */
  constructor(hub: Hub, options: ClusterSideOptions) {
    this.#hub = hub;
    this.#leave = options.leave;
    this.#sendHome = options.sendHome;
    this.#privateMessages = options.privateMessages;
    this.#accounts = options.accounts;
  }

  /**
   * Makes this process one of a cluster: rooms' lines go through it (and
   * come back as {@linkcode ClusterSide.event}), names are claimed in it, and
   * `#lobby` starts with the cluster's history. Call it before any
   * connection is admitted.
   */
  async join(cluster: ChatCluster): Promise<void> {
    const hub = this.#hub;
    const operators = hub.operators;
    hub.cluster = cluster;
    hub.rooms.relay = (room, text, options) => {
      cluster.publishLine(room.name, text, {
        public: options.public,
        except: options.except?.name ?? null,
      }).catch((error) => {
        if (options.from !== undefined) hub.tell(options.from, unsentNotice(error));
        else hub.log?.(`cluster: a line for #${room.name} was not sent: ${describe(error)}`);
      });
    };
    await this.#accounts.joinCluster(cluster);
    hub.lobby.prime(await cluster.history(hub.lobby.name));
    for (const [kind, value] of Object.entries(await cluster.loadState())) {
      this.#applyState(kind, value);
    }
    // What operators change here is every process's.
    const publish = (kind: string, value: string) =>
      cluster.publishState(kind, value).catch((error) =>
        hub.log?.(`cluster: ${kind} could not be shared: ${describe(error)}`)
      );
    // After this turn's notices (`* bob was banned`), so that bob's process, which
    // drops bob when the bans reach it, has shown bob the notice first.
    operators.bans.onChange = (list) =>
      queueMicrotask(() => void publish("bans", JSON.stringify(list)));
    operators.mutes.onChange = (list) => void publish("mutes", JSON.stringify(list));
    operators.onMotd = (text) => void publish("motd", text ?? "");
    this.#shareTopic = (room) => void publish(topicKind(room.name), room.topic ?? "");
    this.#shareModes = (room) => {
      const kind = modesKind(room.name);
      // Kept at once, so that a room made here again before the echo has them.
      this.#modes.set(kind, copyOf(room.modes));
      this.#unechoed.set(kind, (this.#unechoed.get(kind) ?? 0) + 1);
      const value = isDefault(room.modes) ? "" : sharedModes(room.modes);
      cluster.publishState(kind, value).catch((error) => {
        // Not written, or not answered: no echo to wait for (one that comes late is taken on).
        this.#echoed(kind);
        hub.log?.(`cluster: ${kind} could not be shared: ${describe(error)}`);
      });
    };
  }

  /** The cluster's topic of the room called `room` ("" for none), if it told one. */
  topicOf(room: string): string | undefined {
    return this.#topics.get(topicKind(room));
  }

  /** Shares a room's new topic with the cluster, when this process is part of one. */
  shareTopic(room: Room<Member>): void {
    this.#shareTopic(room);
  }

  /** The cluster's modes of the room called `room`, if it told any: for a room not here. */
  modesOf(room: string): RoomModes<Member> | undefined {
    return this.#modes.get(modesKind(room));
  }

  /** Shares a room's new modes with the cluster, when this process is part of one. */
  shareModes(room: Room<Member>): void {
    this.#shareModes(room);
  }

  /**
   * Gives `room`, just made here, the modes the cluster holds for it; with
   * `fresh` (nobody is in it anywhere and it has no topic: it is new) a new
   * room's instead, and the cluster forgets any it held, as one process
   * forgets a room's modes with the room.
   */
  adoptModes(room: Room<Member>, fresh: boolean): void {
    const known = this.modesOf(room.name);
    if (!fresh) {
      if (known !== undefined) applySharedModes(room.modes, toShared(known));
      return;
    }
    applySharedModes(room.modes, defaultModes());
    if (known !== undefined && !isDefault(known)) this.shareModes(room);
  }

  /** Delivers what the cluster says to the members here: room lines, private messages, state. */
  event(event: ClusterEvent): void {
    const hub = this.#hub;
    if (event.type === "state") {
      this.#applyState(event.kind, event.value);
      return;
    }
    if (event.type === "act") {
      if (event.process === hub.cluster?.processId) {
        if (event.action === "invite") this.#invited(event.name, event.room, event.by ?? "");
        else this.#actHere(event.action, event.name, event.room);
      }
      return;
    }
    if (event.type === "gone") {
      this.#announceGone(event.members);
      return;
    }
    if (event.type === "account") {
      this.#accounts.changedInCluster(event.name, event.account);
      return;
    }
    if (event.type === "line") {
      const room = hub.rooms.get(event.room);
      if (room === undefined) return;
      // A member in the room through a seat is its seat there (seats.ts).
      const named = event.except === null ? undefined : hub.rooms.find(event.except);
      const except = named === undefined ? undefined : placeOf(named, room) ?? named;
      room.deliver(event.text, { public: event.public, except, id: event.id });
      return;
    }
    this.#privateMessages.fromElsewhere(event.from, event.to, event.text);
  }

  /** Tells every room here that the cluster lost Redis (`down`) or has it back. */
  status(down: boolean): void {
    const notice = down
      ? "* The chat lost its connection to Redis; messages cannot be sent until it is back"
      : "* The chat is back";
    this.#hub.log?.(down ? "cluster: Redis is unreachable" : "cluster: Redis is back");
    for (const room of this.#hub.rooms.busiestFirst()) room.deliver(notice);
  }

  /** Takes on shared state another process (or this one) set. */
  #applyState(kind: string, value: string): void {
    const hub = this.#hub;
    if (kind === "bans" || kind === "mutes") {
      let list: Restriction[];
      try {
        list = JSON.parse(value);
        if (!Array.isArray(list)) throw new TypeError("not a list");
      } catch (error) {
        hub.log?.(`cluster: the shared ${kind} are unreadable: ${describe(error)}`);
        return;
      }
      hub.operators[kind].replace(list);
      if (kind === "bans") this.#dropBanned();
    } else if (kind === "motd") {
      hub.operators.motd = value === "" ? null : value;
    } else if (kind.startsWith("topic:")) {
      this.#topics.set(kind, value);
      const room = hub.rooms.busiestFirst().find((room) => topicKind(room.name) === kind);
      room?.restore(value === "" ? null : value, []);
    } else if (kind.startsWith("modes:")) {
      this.#applyModes(kind, value);
    }
  }

  /** Takes on a room's modes another process (or this one) set; unreadable ones are logged and left. */
  #applyModes(kind: string, value: string): void {
    const hub = this.#hub;
    // An echo of modes shared here, or modes set before the latest of them: this process's are newer.
    if (this.#echoed(kind)) return;
    let modes: RoomModes<Member>;
    try {
      modes = new RoomModes<Member>();
      applySharedModes(modes, parseSharedModes(value));
    } catch (error) {
      hub.log?.(`cluster: the shared ${kind} are unreadable: ${describe(error)}`);
      return;
    }
    this.#modes.set(kind, modes);
    const room = hub.rooms.busiestFirst().find((room) => modesKind(room.name) === kind);
    if (room !== undefined) applySharedModes(room.modes, toShared(modes));
  }

  /** Counts one of this process's shared modes of `kind` as come back; false when none was awaited. */
  #echoed(kind: string): boolean {
    const left = this.#unechoed.get(kind);
    if (left === undefined) return false;
    if (left > 1) this.#unechoed.set(kind, left - 1);
    else this.#unechoed.delete(kind);
    return true;
  }

  /** Disconnects the members here that a ban made elsewhere is on. */
  #dropBanned(): void {
    const hub = this.#hub;
    for (const member of hub.connections) {
      if (member.name === null || member.leaving !== null) continue;
      const ban = hub.operators.banOn(member.name, member.ip);
      if (ban === undefined) continue;
      // Only the console bans a server operator: another process's view of it was stale.
      if (member.serverOperator && ban.by !== CONSOLE_NAME) continue;
      hub.tell(member, hub.operators.bannedLine(ban));
      member.leaving = "banned";
      this.#leave(member);
    }
  }

  /**
   * Tells the rooms here that the members of a process that died without a
   * word are gone, as their own process would have for a lost connection.
   * Delivered, not broadcast: every process got this event from Redis.
   */
  #announceGone(members: readonly { name: string; room: string }[]): void {
    const hub = this.#hub;
    // A member is listed once for each room it was in (its seats': seats.ts); each hears it once.
    const leaving = new Map<Room<Member>, Set<string>>();
    for (const { name, room: roomName } of members) {
      const room = hub.rooms.get(roomName);
      if (room === undefined) continue;
      const names = leaving.get(room);
      if (names === undefined) leaving.set(room, new Set([name]));
      else names.add(name);
    }
    for (const [room, names] of leaving) {
      // A room that big with them in it heard no departures from their process either.
      if (room.members.size + names.size > hub.announceLimit) continue;
      for (const name of names) {
        // Someone here holds that name: whatever Redis thought, it has not gone.
        if (hub.rooms.find(name) === undefined) {
          room.deliver(`* ${name} ${DEPARTURE_NOTICES.lost}`);
        }
      }
    }
    const count = new Set(members.map((member) => member.name)).size;
    hub.log?.(`cluster: a process stopped answering: ${count} of its members left`);
  }

  /**
   * Gives the member here called `name` an invitation to the room called
   * `roomName`, made here (empty, with the cluster's modes) to hold it if
   * need be, and tells it who invited it; the inviter's process told the inviter.
   */
  #invited(name: string, roomName: string, by: string): void {
    const hub = this.#hub;
    const member = hub.rooms.find(name);
    if (member === undefined || member.leaving !== null || by === "") return;
    if (roomsOf(member).some((room) => sameName(room.name, roomName))) return;
    const made = hub.rooms.get(roomName) === undefined;
    const room = hub.rooms.ensure(roomName);
    if (room === null) {
      hub.log?.(`${member.peer} ${name}: invited to #${roomName} by ${by}, but no room is left`);
      return;
    }
    if (made) this.adoptModes(room, false);
    room.modes.invite(member);
    hub.tell(member, `* ${by} invited you to #${room.name}`);
    hub.log?.(`${member.peer} ${name}: invited to #${room.name} by ${by} of another process`);
  }

  /**
   * Carries out what an operator of another process did to a member here,
   * if it is still in that room (itself, or through its seat there, which a
   * kick closes): the room heard of it from that process.
   */
  #actHere(action: ClusterAction, name: string, roomName: string): void {
    const hub = this.#hub;
    const owner = hub.rooms.find(name);
    if (action === "elsewhere") {
      // The owner logged in on another process, which holds the name now: wherever this one is.
      if (owner === undefined || owner.leaving !== null) return;
      hub.log?.(`${owner.peer} ${name}: logged in on another process`);
      hub.tell(owner, "* You logged in from elsewhere; closing this connection");
      owner.leaving = "elsewhere";
      this.#leave(owner);
      return;
    }
    if (owner === undefined || owner.leaving !== null) return;
    const room = roomsOf(owner).find((room) => sameName(room.name, roomName));
    const member = room === undefined ? undefined : placeOf(owner, room);
    if (room === undefined || member === undefined) return;
    // It proved /oper meanwhile: the operator elsewhere acted on what it knew before.
    if (member.serverOperator && action !== "op" && action !== "voice") {
      hub.log?.(
        `${member.peer} ${name}: /${action} from another process not done (server operator)`,
      );
      return;
    }
    hub.log?.(`${member.peer} ${name}: /${action} by an operator of another process`);
    switch (action) {
      case "op":
        room.operators.add(member);
        return hub.sharePresence(member);
      case "deop":
        room.operators.delete(member);
        return hub.sharePresence(member);
      case "voice":
        room.modes.voiced.add(member);
        return hub.sharePresence(member);
      case "devoice":
        room.modes.voiced.delete(member);
        return hub.sharePresence(member);
      case "kick":
        return this.#sendHome(member);
      case "disconnect":
        // Off the server, from a room it is in through a seat too: the seat's owner goes.
        owner.leaving = "kicked";
        this.#leave(owner);
    }
  }
}
