/**
 * The commands about rooms: `/join` (and `/part`, and an operator's kick
 * back to `#lobby`), `/topic`, `/who` and `/rooms`. In a cluster a room is
 * everyone's on every process: who is in it, whether it is new, and its
 * topic and history are asked of the cluster first.
 *
 * @module
 */

import { Accounts } from "./accounts.ts";
import { isLoopback } from "./addresses.ts";
import { peersIn, placesOf } from "./cluster_places.ts";
import type { ChatCluster } from "./cluster_port.ts";
import type { ClusterSide } from "./cluster_side.ts";
import { type Hub, UNAVAILABLE_TRY } from "./hub.ts";
import { plainAddress } from "./moderation.ts";
import { nameKeys, sameName } from "../protocol.ts";
import type { Room } from "./room.ts";
import { maySee } from "./mode_commands.ts";
import { entryRefusal } from "./room_modes.ts";
import { tellModes } from "./mode_commands.ts";
import { NEW_ROOMS_PER_ADDRESS, RoomQuota } from "./room_quota.ts";
import { LOBBY, roomName } from "./rooms.ts";
import { placeOf } from "./seats.ts";
import type { Member } from "./session.ts";

/** What {@linkcode RoomCommands} is given. */
export interface RoomCommandsOptions {
  /** Whether loopback addresses count toward the new rooms an address may make. */
  limitLoopback: boolean;
  /** The cluster's topics, and where a topic set here is shared. */
  clusterSide: ClusterSide;
}

/** What {@linkcode RoomCommands.enterOnCluster} lets in: a member, or a seat of one (seats.ts). */
export interface ClusterEntry {
  /** Whether it still wants in, once the cluster has answered. */
  wanted(): boolean;
  /** Tells it why not: the line a member is told (`! ...`). */
  refuse(line: string): void;
  /**
   * Puts it in `room`: `first` when nobody was in it anywhere (it is its
   * operator), `count` in it across the cluster, it included. False when it
   * could not be (and was told).
   */
  enter(room: Room<Member>, first: boolean, count: number): boolean;
}

/** Moves members between rooms and answers about them: see the module's description. */
export class RoomCommands {
  readonly #hub: Hub;
  readonly #limitLoopback: boolean;
  readonly #clusterSide: ClusterSide;
  /** New rooms by address, so that no stranger takes every free place under --max-rooms. */
  readonly #newRooms = new RoomQuota();

  /** The room commands of `hub`'s members. */
  constructor(hub: Hub, options: RoomCommandsOptions) {
    this.#hub = hub;
    this.#limitLoopback = options.limitLoopback;
    this.#clusterSide = options.clusterSide;
  }

  /**
   * `/join`: moves the member to the room it names, made for it if new. The
   * room it leaves hears where it went, unless it was kicked (and heard that).
   * A room's modes may refuse it (`key`: what it gave for `+k`; see {@linkcode entryRefusal}).
   */
  moveTo(member: Member, typed: string, announce = true, key?: string, reason = ""): void {
    const hub = this.#hub;
    const name = roomName(typed);
    if (name === null) {
      hub.tell(member, `! Invalid room name: ${typed}`);
      return;
    }
    const from = member.room as Room<Member>;
    const existing = hub.rooms.get(name);
    if (existing === from) {
      hub.tell(member, `! You are already in #${from.name}`);
      return;
    }
    const refusal = existing === undefined ? null : entryRefusal(existing, member, key);
    if (refusal !== null) {
      hub.tell(member, refusal);
      return;
    }
    const to = existing?.name ?? name;
    const cluster = hub.cluster;
    // A new room's name is words the room hears (`left for #...`): the muted may not choose one.
    // In a cluster a room is new when nobody is in it anywhere: that is known below.
    if (cluster === null && existing === undefined && !this.#mayMakeRoom(member, to)) return;
    if (cluster !== null) {
      member.busy = this.enterOnCluster(cluster, member, to, key, {
        wanted: () => !member.closed && member.leaving === null && member.room === from,
        refuse: (line) => hub.tell(member, line),
        enter: (room, first, count) => {
          // Whoever makes a room is its operator: here, whoever is first in it anywhere.
          if (first) room.operators.add(member);
          const before = from.members.size;
          if (hub.rooms.move(member, room.name, member.serverOperator) === null) {
            hub.tell(member, "! Too many rooms");
            return false;
          }
          this.#finishMove(member, from, room, announce, count, before, reason);
          hub.sharePresence(member);
          return true;
        },
      });
      return;
    }
    const before = from.members.size;
    if (hub.rooms.move(member, to, member.serverOperator) === null) {
      hub.tell(member, "! Too many rooms");
      return;
    }
    if (existing === undefined) this.#newRooms.take(plainAddress(member.ip), performance.now());
    const room = member.room as Room<Member>;
    this.#finishMove(member, from, room, announce, room.members.size, before, reason);
  }

  /**
   * Lets `member` into the room called `to` on a cluster, where a room is
   * everyone's: made here if need be, with the cluster's modes; new or
   * empty here, it starts with the cluster's history (and topic). Nobody in
   * it anywhere and no topic: it is new (`member` must be allowed to make
   * one, and the room takes a new room's modes); its modes (`key` for
   * `+k`) may refuse it, `+l` counting the whole cluster. `entry` says
   * whether it still wants in once the cluster has answered, is told a
   * refusal, and is put in. Resolves once done, never rejects.
   */
  enterOnCluster(
    cluster: ChatCluster,
    member: Member,
    to: string,
    key: string | undefined,
    entry: ClusterEntry,
  ): Promise<void> {
    const hub = this.#hub;
    const existing = hub.rooms.get(to);
    const room = hub.rooms.ensure(to, member.serverOperator);
    if (room === null) {
      entry.refuse("! Too many rooms");
      return Promise.resolve();
    }
    // A room new here has the cluster's modes, until the cluster's answer shows it new everywhere.
    if (existing === undefined) this.#clusterSide.adoptModes(room, false);
    // A room new or empty here (kept for an invitation, say) starts with the cluster's
    // history; the count is the cluster's.
    const emptyHere = room.members.size === 0;
    return Promise.all([
      emptyHere ? cluster.history(room.name) : Promise.resolve([]),
      cluster.members(),
    ]).then(([history, everyone]) => {
      if (!entry.wanted()) return;
      const topic = this.#clusterSide.topicOf(room.name);
      const there = peersIn(everyone, room.name).filter((other) =>
        !sameName(other.name, member.name as string)
      ).length;
      // Nobody is in it anywhere and it has no topic: it is new, whatever this process kept.
      const made = room !== hub.lobby && room.members.size === 0 && there === 0 && !topic;
      if (made) {
        const refusal = this.newRoomRefusal(member, room.name, false);
        if (refusal !== null) return entry.refuse(refusal);
        // A new room's modes are a new room's: those it had went with its last member.
        this.#clusterSide.adoptModes(room, true);
      }
      // The modes may have changed while the cluster answered; `+l` counts the whole cluster.
      const refusal = entryRefusal(room, member, key, Math.max(there, room.members.size));
      if (refusal !== null) return entry.refuse(refusal);
      room.prime(history);
      if (emptyHere && topic !== undefined) room.restore(topic || null, []);
      const first = made || (existing === undefined && there === 0);
      if (!entry.enter(room, first, there + 1)) return;
      if (made) this.#newRooms.take(plainAddress(member.ip), performance.now());
    }, () => entry.refuse(UNAVAILABLE_TRY));
  }

  /** `/topic`: shows the member's room's topic, or sets it if the member is its operator. */
  topic(member: Member, text: string): void {
    const hub = this.#hub;
    const room = member.room as Room<Member>;
    if (text === "") {
      hub.tell(
        member,
        room.topic === null ? `* No topic in #${room.name}` : `* Topic: ${room.topic}`,
      );
    } else if (room.modes.topicLocked && !hub.operators.isOperator(member, room)) {
      hub.tell(member, "! Only operators can /topic");
    } else if (hub.mayPost(member)) {
      room.topic = text === "-" ? null : text;
      this.#clusterSide.shareTopic(room);
      room.broadcast(
        room.topic === null
          ? `* ${member.name} cleared the topic`
          : `* ${member.name} set the topic: ${text}`,
      );
      const did = room.topic === null ? "cleared the topic" : "set the topic";
      hub.log?.(`${member.peer} ${member.name} ${did} of #${room.name}`);
    }
  }

  /** `/who`: who is in the member's room, or in the room it names. */
  who(member: Member, typed: string): void {
    const hub = this.#hub;
    const cluster = hub.cluster;
    if (cluster !== null) {
      const name = typed === "" ? (member.room ?? hub.lobby).name : roomName(typed);
      if (name === null) {
        hub.tell(member, `! Invalid room name: ${typed}`);
        return;
      }
      member.busy = cluster.members().then((everyone) => {
        // Each in the room itself or through a seat, with its rights there.
        const there = peersIn(everyone, name);
        const local = hub.rooms.get(name);
        // A secret room with nobody here: the cluster's modes say so.
        const hidden = local !== undefined
          ? !maySee(local, member)
          : !!this.#clusterSide.modesOf(name)?.secret && !member.serverOperator;
        if ((there.length === 0 && local === undefined) || hidden) {
          hub.tell(member, `! No such room: #${name}`);
          return;
        }
        const shown = local?.name ?? there[0]?.room ?? name;
        const names = there.map((other) => {
          const here = hub.rooms.find(other.name);
          // Here, what this process knows (of its seat there, if that is how it is in it);
          // elsewhere, what that process said.
          const placed = here === undefined || local === undefined
            ? undefined
            : placeOf(here, local);
          const op = here === undefined
            ? other.roomOperator || other.serverOperator
            : placed !== undefined && hub.operators.isOperator(placed, local as Room<Member>);
          const voiced = here === undefined
            ? other.voiced === true
            : placed !== undefined && (local as Room<Member>).modes.voiced.has(placed);
          const shown = here === undefined
            ? other.name + (other.loggedIn ? "+" : "")
            : Accounts.shown(here);
          return (op ? "@" : "") + (voiced ? "+" : "") + shown;
        });
        const where = typed === "" && sameName(shown, LOBBY) ? "online" : `in #${shown}`;
        hub.tell(member, `* ${names.length} ${where}: ${names.join(", ")}`);
      }, () => hub.tell(member, UNAVAILABLE_TRY));
      return;
    }
    let room = member.room ?? hub.lobby;
    if (typed !== "") {
      const name = roomName(typed);
      const found = name === null ? undefined : hub.rooms.get(name);
      if (found === undefined || !maySee(found, member)) {
        hub.tell(
          member,
          name === null ? `! Invalid room name: ${typed}` : `! No such room: #${name}`,
        );
        return;
      }
      room = found;
    }
    const names = [...room.members].map((other) =>
      (hub.operators.isOperator(other, room) ? "@" : "") +
      (room.modes.voiced.has(other) ? "+" : "") + Accounts.shown(other)
    );
    const where = typed === "" && room === hub.lobby ? "online" : `in #${room.name}`;
    hub.tell(member, `* ${names.length} ${where}: ${names.join(", ")}`);
  }

  /** `/rooms`: the rooms and how many are in each, busiest first (in a cluster, anywhere). */
  rooms(member: Member): void {
    const hub = this.#hub;
    const cluster = hub.cluster;
    if (cluster === null) {
      const rooms = hub.rooms.busiestFirst();
      this.#tellRooms(member, rooms.map((room) => [room.name, room.members.size]));
      return;
    }
    member.busy = cluster.members().then((everyone) => {
      // The rooms anyone is in, anywhere, and those kept here (a topic) with nobody in them.
      const counts = new Map<string, [string, number]>();
      for (const room of hub.rooms.busiestFirst()) {
        counts.set(nameKeys(room.name)[1], [room.name, 0]);
      }
      // Each member in each room it is in, itself or through a seat.
      for (const other of placesOf(everyone)) {
        const key = nameKeys(other.room || LOBBY)[1];
        const entry = counts.get(key) ?? [other.room || LOBBY, 0];
        counts.set(key, [entry[0], entry[1] + 1]);
      }
      this.#tellRooms(member, [...counts.values()].sort((a, b) => b[1] - a[1]));
    }, () => hub.tell(member, UNAVAILABLE_TRY));
  }

  /**
   * Whether `member` may make the new room `name`: not while muted (the room
   * hears its name), nor past {@linkcode NEW_ROOMS_PER_ADDRESS} from its
   * address within the hour (server operators, and loopback unless
   * `limitLoopback`, are exempt). Tells it why not.
   */
  #mayMakeRoom(member: Member, name: string): boolean {
    const refusal = this.newRoomRefusal(member, name, false);
    if (refusal !== null) this.#hub.tell(member, refusal);
    return refusal === null;
  }

  /**
   * Why `member` may not make the new room `name` (the line it is told), or
   * null; with `take`, a null answer counts the new room toward its address's.
   */
  newRoomRefusal(member: Member, name: string, take = true): string | null {
    const hub = this.#hub;
    const muted = hub.operators.mutedLine(member);
    if (muted !== null) return muted;
    if (member.serverOperator || (!this.#limitLoopback && isLoopback(member.ip))) return null;
    const address = plainAddress(member.ip);
    if (this.#newRooms.allows(address, performance.now())) {
      if (take) this.#newRooms.take(address, performance.now());
      return null;
    }
    hub.log?.(
      `${member.peer} ${member.name} refused #${name}: ` +
        `${NEW_ROOMS_PER_ADDRESS} new rooms from ${address} within the hour already`,
    );
    return "! Too many new rooms from your address; try again later";
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
    reason: string,
  ): void {
    const hub = this.#hub;
    if (announce && before <= hub.announceLimit) {
      // A reason (`/part REASON`) is the member's words: said instead of where it went.
      from.broadcast(
        reason === ""
          ? `* ${member.name} left for #${room.name}`
          : `* ${member.name} left #${from.name} (${reason})`,
      );
    }
    hub.tell(member, `* You are now in #${room.name} (${here} here)`);
    if (room.topic !== null) hub.tell(member, `* Topic: ${room.topic}`);
    tellModes(hub, member, room);
    room.sendHistory(member);
    if (room.members.size <= hub.announceLimit) {
      room.broadcast(`* ${member.name} joined #${room.name}`, { except: member });
    }
    hub.log?.(`${member.peer} ${member.name} moved from #${from.name} to #${room.name}`);
  }

  /**
   * `* 3 rooms: #lobby (12), #dev (3, +ik)`, from names and counts busiest
   * first: a room's modes beyond `+nt` after its count, and a secret room
   * (`+s`) only to its members and server operators (on a cluster, a room
   * with nobody here has the modes the cluster told).
   */
  #tellRooms(member: Member, rooms: [string, number][]): void {
    const shown: string[] = [];
    for (const [name, count] of rooms) {
      const room = this.#hub.rooms.get(name);
      const known = room?.modes ?? this.#clusterSide.modesOf(name);
      const hidden = room !== undefined
        ? !maySee(room, member)
        : !!known?.secret && !member.serverOperator;
      if (hidden) continue;
      const modes = known?.listed ?? "";
      shown.push(`#${name} (${count}${modes === "" ? "" : `, ${modes}`})`);
    }
    const list = shown.join(", ");
    this.#hub.tell(member, `* ${shown.length} ${shown.length === 1 ? "room" : "rooms"}: ${list}`);
  }
}
